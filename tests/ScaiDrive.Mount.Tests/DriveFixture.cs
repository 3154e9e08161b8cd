using ScaiDrive.Client;
using ScaiDrive.TestSupport;
using Xunit;

namespace ScaiDrive.Mount.Tests;

/// <summary>One local server and one real mount of its default share for a test class.</summary>
public class DriveFixture : IAsyncLifetime
{
    public LocalServer Server { get; private set; } = null!;

    public MountedDrive Drive { get; private set; } = null!;

    public ScaiDriveClient Client { get; private set; } = null!;

    public ShareId Share => new(Server.DefaultShareId);

    /// <summary>The mount root is the default share ("My Files").</summary>
    public string Root => Drive.MountPoint;

    public virtual async ValueTask InitializeAsync()
    {
        Server = await LocalServer.StartAsync();
        Client = Server.CreateOwnerClient();
        Drive = await MountedDrive.StartAsync(Server, MountOptions(Server.DefaultShareId));
    }

    /// <summary>How the share is mounted; a derived fixture adds its own arguments.</summary>
    protected virtual MountedDriveOptions MountOptions(string share) => new() { Share = share };

    public virtual async ValueTask DisposeAsync()
    {
        try
        {
            if (Drive is not null)
            {
                await Drive.DisposeAsync();
            }
        }
        finally
        {
            Client?.Dispose();
            if (Server is not null)
            {
                await Server.DisposeAsync();
            }
        }
    }

    /// <summary>Finds a file on the server by its path under the share root (through the API, not the mount).</summary>
    public async Task<FileItem?> FindFileAsync(string relativePath)
    {
        string[] parts = relativePath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        FolderId? folder = null;
        for (int i = 0; i < parts.Length - 1; i++)
        {
            FolderListing listing = await Client.ListChildrenAsync(Share, folder);
            FolderItem? next = listing.Folders.FirstOrDefault(f => f.Name == parts[i]);
            if (next is null)
            {
                return null;
            }

            folder = next.Id;
        }

        FolderListing last = await Client.ListChildrenAsync(Share, folder);
        return last.Files.FirstOrDefault(f => f.Name == parts[^1]);
    }

    /// <summary>Waits until the server has the file at <paramref name="relativePath"/> with the given SHA-256 (uploads are write-back).</summary>
    public async Task<FileItem> WaitForServerFileAsync(string relativePath, string sha256Hex, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        FileItem? file = null;
        while (DateTime.UtcNow < deadline)
        {
            file = await FindFileAsync(relativePath);
            if (file is not null && string.Equals(file.ChecksumSha256, sha256Hex, StringComparison.OrdinalIgnoreCase))
            {
                return file;
            }

            await Task.Delay(100);
        }

        throw new Xunit.Sdk.XunitException($"server never had {relativePath} with sha256 {sha256Hex}; last seen: {file}");
    }
}
