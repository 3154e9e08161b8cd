using System.Security.Cryptography;
using System.Text.Json;
using ScaiDrive.Client;
using ScaiDrive.TestSupport;
using Xunit;

namespace ScaiDrive.Mount.Tests;

/// <summary>
/// A large file's chunks go out during the write-back delay (only the commit waits for it), through a real mount:
/// seen in <c>status --json</c> while the server has no file yet; a kill -9 at that moment loses nothing.
/// </summary>
public sealed class EarlySendMountTests
{
    private const int Size = 24 * 1024 * 1024; // six 4 MiB chunks

    private static async Task<(int Pending, long InFlight)> StatusAsync(MountedDrive drive)
    {
        ProcessResult result = await MountedDrive.CliAsync("status", drive.MountPoint, "--json");
        result.EnsureSuccess("status --json");
        using JsonDocument json = JsonDocument.Parse(result.StandardOutput);
        return (json.RootElement.GetProperty("pending_uploads").GetInt32(), json.RootElement.GetProperty("uploaded_bytes_in_flight").GetInt64());
    }

    private static async Task<FileItem?> FindAsync(ScaiDriveClient client, LocalServer server, string name) =>
        (await client.ListChildrenAsync(new ShareId(server.DefaultShareId), null)).Files.FirstOrDefault(f => f.Name == name);

    private static async Task<FileItem> WaitForServerAsync(ScaiDriveClient client, LocalServer server, string name, string sha)
    {
        var deadline = DateTime.UtcNow.AddSeconds(90);
        FileItem? file = null;
        while (DateTime.UtcNow < deadline)
        {
            file = await FindAsync(client, server, name);
            if (file?.ChecksumSha256 == sha)
            {
                return file;
            }

            await Task.Delay(200);
        }

        Assert.Fail($"the server does not have {name} with SHA-256 {sha} (it has {file?.ChecksumSha256 ?? "nothing"})");
        return null!;
    }

    [Fact]
    public async Task ChunksGoOutDuringTheDelayAndAKillThenLosesNothing()
    {
        await using LocalServer server = await LocalServer.StartAsync();
        using var client = server.CreateOwnerClient();
        string cache = Directory.CreateTempSubdirectory("sdfs-cache-").FullName;
        string source = Path.Combine(Path.GetTempPath(), "sdfs-early-" + Guid.NewGuid().ToString("N"));
        try
        {
            byte[] content = RandomNumberGenerator.GetBytes(Size);
            await File.WriteAllBytesAsync(source, content);
            string sha = Convert.ToHexStringLower(SHA256.HashData(content));

            // A delay far longer than the transfer: what is sent before it ends was sent early.
            MountedDrive drive = await MountedDrive.StartAsync(server, new MountedDriveOptions { Share = server.DefaultShareId, CacheDirectory = cache, WriteBackDelay = "60s" });
            try
            {
                (await ProcessRunner.RunAsync("dd", [$"if={source}", $"of={Path.Combine(drive.MountPoint, "early.bin")}", "bs=1M", "status=none"])).EnsureSuccess("dd");
                DateTime closed = DateTime.UtcNow;
                (int Pending, long InFlight) status = default;
                while (DateTime.UtcNow - closed < TimeSpan.FromSeconds(45))
                {
                    status = await StatusAsync(drive);
                    if (status.InFlight >= Size - (4 * 1024 * 1024))
                    {
                        break;
                    }

                    await Task.Delay(100);
                }

                Assert.True(status.InFlight >= Size - (4 * 1024 * 1024), $"only {status.InFlight} bytes sent during the delay");
                Assert.Equal(1, status.Pending);
                Assert.Null(await FindAsync(client, server, "early.bin")); // not committed: the delay is not over
                await drive.KillAsync();
            }
            finally
            {
                await drive.DisposeAsync();
            }

            await using MountedDrive again = await MountedDrive.StartAsync(server, new MountedDriveOptions { Share = server.DefaultShareId, CacheDirectory = cache });
            FileItem file = await WaitForServerAsync(client, server, "early.bin", sha);
            Assert.Equal(Size, file.Size);
            Assert.Single(await client.ListVersionsAsync(file.Id));
            (await ProcessRunner.RunAsync("cmp", [source, Path.Combine(again.MountPoint, "early.bin")])).EnsureSuccess("cmp after remount");
        }
        finally
        {
            File.Delete(source);
            Directory.Delete(cache, recursive: true);
        }
    }

    [Fact]
    public async Task RewritingASentChunkWithinTheDelayMakesOneVersionOfTheNewContent()
    {
        await using LocalServer server = await LocalServer.StartAsync();
        using var client = server.CreateOwnerClient();
        string source = Path.Combine(Path.GetTempPath(), "sdfs-early-" + Guid.NewGuid().ToString("N"));
        try
        {
            byte[] content = RandomNumberGenerator.GetBytes(Size);
            await File.WriteAllBytesAsync(source, content);
            await using MountedDrive drive = await MountedDrive.StartAsync(server, new MountedDriveOptions { Share = server.DefaultShareId, WriteBackDelay = "10s" });
            string target = Path.Combine(drive.MountPoint, "rewritten.bin");
            (await ProcessRunner.RunAsync("dd", [$"if={source}", $"of={target}", "bs=1M", "status=none"])).EnsureSuccess("dd");
            DateTime closed = DateTime.UtcNow;
            while ((await StatusAsync(drive)).InFlight < 4 * 1024 * 1024 && DateTime.UtcNow - closed < TimeSpan.FromSeconds(20))
            {
                await Task.Delay(50);
            }

            // Rewrite the first chunk (already sent) and cut the file, then fsync: one version with the new bytes.
            byte[] patch = RandomNumberGenerator.GetBytes(1000);
            using (var stream = new FileStream(target, FileMode.Open, FileAccess.ReadWrite))
            {
                stream.Position = 10;
                stream.Write(patch);
                stream.SetLength(Size - 5_000_000);
                stream.Flush(flushToDisk: true);
            }

            byte[] expected = content[..(Size - 5_000_000)];
            patch.CopyTo(expected, 10);
            FileItem file = await WaitForServerAsync(client, server, "rewritten.bin", Convert.ToHexStringLower(SHA256.HashData(expected)));
            Assert.Single(await client.ListVersionsAsync(file.Id));
        }
        finally
        {
            File.Delete(source);
        }
    }
}
