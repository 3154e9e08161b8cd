using System.Security.Cryptography;
using ScaiDrive.Client;
using ScaiDrive.TestSupport;
using Xunit;

namespace ScaiDrive.Mount.Tests;

/// <summary>
/// A new file written slowly in order through a real mount: its chunks reach the server while dd still writes
/// (EarlyChunkSender), and the same session becomes the file after close.
/// </summary>
public sealed class SendWhileWritingMountTests
{
    private const int MiB = 1024 * 1024;
    private const int Size = 64 * MiB;

    [Fact]
    public async Task ChunksArriveWhileDdIsStillWriting()
    {
        await using LocalServer server = await LocalServer.StartAsync();
        using var client = server.CreateOwnerClient();
        string work = Directory.CreateTempSubdirectory("sdfs-slow-").FullName;
        try
        {
            string source = Path.Combine(work, "src.bin");
            byte[] content = RandomNumberGenerator.GetBytes(Size);
            await File.WriteAllBytesAsync(source, content);
            string sha = Convert.ToHexStringLower(SHA256.HashData(content));
            await using MountedDrive drive = await MountedDrive.StartAsync(server, new MountedDriveOptions { Share = server.DefaultShareId });
            string target = Path.Combine(drive.MountPoint, "slow.bin");

            // One open file, fed a megabyte at a time with pauses (about 6 s in all).
            Task<ProcessResult> dd = ProcessRunner.BashAsync(
                $"for i in $(seq 0 63); do dd if='{source}' bs=1M skip=$i count=1 status=none; sleep 0.1; done | dd of='{target}' bs=1M iflag=fullblock status=none",
                work,
                TimeSpan.FromMinutes(2));

            UploadSession? early = null;
            string uploads = Path.Combine(server.DataDirectory, "uploads");
            while (!dd.IsCompleted && early is null)
            {
                foreach (string dir in Directory.Exists(uploads) ? Directory.EnumerateDirectories(uploads) : [])
                {
                    UploadSession session = await client.GetUploadSessionAsync(new UploadSessionId(Path.GetFileName(dir)));
                    if (session.Status == "active" && session.ReceivedChunks.Count >= 2)
                    {
                        early = session;
                    }
                }

                await Task.Delay(50);
            }

            Assert.False(dd.IsCompleted && early is null, "no chunk reached the server while dd was writing");
            Assert.NotNull(early);
            (await dd).EnsureSuccess("slow dd");

            DateTime deadline = DateTime.UtcNow.AddSeconds(60);
            FileItem? file = null;
            while (DateTime.UtcNow < deadline && file?.ChecksumSha256 != sha)
            {
                file = (await client.ListChildrenAsync(new ShareId(server.DefaultShareId), null)).Files.FirstOrDefault(f => f.Name == "slow.bin");
                await Task.Delay(100);
            }

            Assert.Equal(sha, file?.ChecksumSha256);
            Assert.Equal(Size, file!.Size);
            Assert.Equal("completed", (await client.GetUploadSessionAsync(early.Id)).Status);
            (await ProcessRunner.RunAsync("cmp", [source, target])).EnsureSuccess("cmp through the mount");
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}
