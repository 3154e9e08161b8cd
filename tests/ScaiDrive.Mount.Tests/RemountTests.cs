using System.Security.Cryptography;
using ScaiDrive.Client;
using ScaiDrive.TestSupport;
using Xunit;

namespace ScaiDrive.Mount.Tests;

/// <summary>What crosses a remount: API uploads show up, written files stay, inode numbers stay, a killed daemon loses nothing.</summary>
public sealed class RemountTests
{
    [Fact]
    public async Task UploadThroughApiShowsAfterRemountAndInodesAreStable()
    {
        await using LocalServer server = await LocalServer.StartAsync();
        using var client = server.CreateOwnerClient();
        var share = new ShareId(server.DefaultShareId);
        string cache = Directory.CreateTempSubdirectory("sdfs-cache-").FullName;
        try
        {
            string inodeBefore;
            await using (MountedDrive drive = await MountedDrive.StartAsync(server, new MountedDriveOptions { Share = server.DefaultShareId, CacheDirectory = cache }))
            {
                (await ProcessRunner.BashAsync("mkdir kept && echo keep > kept/file.txt", drive.MountPoint)).EnsureSuccess("write");
                inodeBefore = (await ProcessRunner.RunAsync("stat", ["-c", "%i", Path.Combine(drive.MountPoint, "kept/file.txt")])).EnsureSuccess("stat").StandardOutput.Trim();
                await drive.UnmountAsync();
            }

            byte[] content = RandomNumberGenerator.GetBytes(300_000);
            await client.UploadSmallFileAsync(share, null, "from-api.bin", content);

            await using (MountedDrive drive = await MountedDrive.StartAsync(server, new MountedDriveOptions { Share = server.DefaultShareId, CacheDirectory = cache }))
            {
                Assert.Equal(content, await File.ReadAllBytesAsync(Path.Combine(drive.MountPoint, "from-api.bin")));
                Assert.Equal("keep\n", await File.ReadAllTextAsync(Path.Combine(drive.MountPoint, "kept/file.txt")));
                string inodeAfter = (await ProcessRunner.RunAsync("stat", ["-c", "%i", Path.Combine(drive.MountPoint, "kept/file.txt")])).EnsureSuccess("stat").StandardOutput.Trim();
                Assert.Equal(inodeBefore, inodeAfter);
            }
        }
        finally
        {
            Directory.Delete(cache, recursive: true);
        }
    }

    [Fact]
    public async Task KillDashNineDuringA64MiBUploadLosesNothing()
    {
        await using LocalServer server = await LocalServer.StartAsync();
        string cache = Directory.CreateTempSubdirectory("sdfs-cache-").FullName;
        string source = Path.Combine(Path.GetTempPath(), "sdfs-64m-" + Guid.NewGuid().ToString("N"));
        try
        {
            byte[] content = RandomNumberGenerator.GetBytes(64 * 1024 * 1024);
            await File.WriteAllBytesAsync(source, content);
            string sha = Convert.ToHexStringLower(SHA256.HashData(content));

            // A long write-back delay and slow server: the upload is certainly pending or in flight at the kill.
            await server.SetFaultsAsync(latencyMs: 50);
            MountedDrive drive = await MountedDrive.StartAsync(server, new MountedDriveOptions { Share = server.DefaultShareId, CacheDirectory = cache, WriteBackDelay = "500ms" });
            try
            {
                (await ProcessRunner.RunAsync("cp", [source, Path.Combine(drive.MountPoint, "big.bin")])).EnsureSuccess("cp");
                await Task.Delay(700);
                await drive.KillAsync();
            }
            finally
            {
                await drive.DisposeAsync();
            }

            await server.SetFaultsAsync();
            await using (MountedDrive again = await MountedDrive.StartAsync(server, new MountedDriveOptions { Share = server.DefaultShareId, CacheDirectory = cache }))
            {
                (await ProcessRunner.RunAsync("cmp", [source, Path.Combine(again.MountPoint, "big.bin")])).EnsureSuccess("cmp after remount");
                using var client = server.CreateOwnerClient();
                var deadline = DateTime.UtcNow.AddSeconds(90);
                FileItem? file = null;
                while (DateTime.UtcNow < deadline)
                {
                    file = (await client.ListChildrenAsync(new ShareId(server.DefaultShareId), null)).Files.FirstOrDefault(f => f.Name == "big.bin");
                    if (file?.ChecksumSha256 == sha)
                    {
                        break;
                    }

                    await Task.Delay(200);
                }

                Assert.Equal(sha, file?.ChecksumSha256);
                Assert.Equal(content.Length, file!.Size);
            }
        }
        finally
        {
            File.Delete(source);
            Directory.Delete(cache, recursive: true);
        }
    }
}
