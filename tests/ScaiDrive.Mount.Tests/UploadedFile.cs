using System.Security.Cryptography;
using ScaiDrive.Client;
using ScaiDrive.TestSupport;

namespace ScaiDrive.Mount.Tests;

/// <summary>
/// A file of random bytes uploaded through the API to the server's default share, with a fresh cache directory for the
/// mount that reads it and the expected bytes in a file beside it (for `cmp`). Dispose after the mount: it removes both.
/// </summary>
internal sealed class UploadedFile : IDisposable
{
    private UploadedFile(string cacheDirectory, string expectedPath)
    {
        CacheDirectory = cacheDirectory;
        ExpectedPath = expectedPath;
    }

    public string CacheDirectory { get; }

    public string ExpectedPath { get; }

    public static async Task<UploadedFile> UploadAsync(LocalServer server, string name, int size)
    {
        using ScaiDriveClient client = server.CreateOwnerClient();
        byte[] content = RandomNumberGenerator.GetBytes(size);
        await client.UploadResumableAsync(
            new CreateUploadSessionRequest(new ShareId(server.DefaultShareId), null, name, content.Length),
            new MemoryUploadSource(content));
        string cache = Directory.CreateTempSubdirectory("sdfs-cache-").FullName;
        string expected = Path.Combine(cache, "..", Path.GetFileName(cache) + ".expected");
        await File.WriteAllBytesAsync(expected, content);
        return new UploadedFile(cache, expected);
    }

    public void Dispose()
    {
        File.Delete(ExpectedPath);
        Directory.Delete(CacheDirectory, recursive: true);
    }
}
