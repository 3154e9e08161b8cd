using System.Text.Json;
using ScaiDrive.TestSupport;
using Xunit;

namespace ScaiDrive.Mount.Tests;

/// <summary>
/// Streamed reads through a real mount (`--streamed-reads-from 4M`, so a small file gets there): a long sequential read
/// is answered by splicing one open stream into the kernel, with every byte right, and reads that seek back and forth
/// across streamed runs return the right bytes too.
/// </summary>
public sealed class StreamedReadMountTests
{
    private const int Size = (40 * 1024 * 1024) + 4321;

    [Fact]
    public async Task LongReadsAreSplicedFromOneStreamAndSeeksStayCorrect()
    {
        await using LocalServer server = await LocalServer.StartAsync();
        using UploadedFile file = await UploadedFile.UploadAsync(server, "movie.bin", Size);
        string expected = file.ExpectedPath;
        await using MountedDrive drive = await MountedDrive.StartAsync(server, new MountedDriveOptions
        {
            Share = server.DefaultShareId,
            CacheDirectory = file.CacheDirectory,
            ExtraArguments = ["--streamed-reads-from", "4M"],
        });
        string movie = Path.Combine(drive.MountPoint, "movie.bin");
        (await ProcessRunner.RunAsync("cmp", [expected, movie])).EnsureSuccess("cmp of the file read through the mount");

        string log = await File.ReadAllTextAsync(Path.Combine(file.CacheDirectory, "logs", "scaidrivefs.log"));
        Assert.Contains("Streamed reads are spliced into the kernel", log);
        long streamed = await StreamedBytesAsync(drive);
        Assert.True(streamed > 20L * 1024 * 1024, $"{streamed} bytes streamed of {Size}");

        // Seeks across runs, with the page cache dropped so every read reaches the daemon.
        await File.WriteAllTextAsync("/proc/sys/vm/drop_caches", "3");
        string script = $$"""
            import sys
            f = open('{{movie}}', 'rb'); e = open('{{expected}}', 'rb')
            def check(offset, length):
                f.seek(offset); e.seek(offset)
                got = f.read(length); want = e.read(length)
                if got != want:
                    sys.exit(f'bytes differ at {offset}+{length}')
            check(0, 8 << 20)
            check(1 << 20, 20 << 20)
            check(30 << 20, {{Size}})
            check(12345, 3 << 20)
            for i in range(40):
                check((i * 7919 * 4096) % {{Size}}, 200000)
            """;
        (await ProcessRunner.RunAsync("python3", ["-c", script])).EnsureSuccess("reads that seek across streamed runs");
        Assert.True(await StreamedBytesAsync(drive) > streamed, "the re-reads streamed again");
    }

    /// <summary>
    /// Without the option a read streams from 64 MiB on (the default); with 'off' it never streams. Both read every byte
    /// right.
    /// </summary>
    [Theory]
    [InlineData(null)]
    [InlineData("off")]
    public async Task TheDefaultStreamsPast64MiBAndOffNeverStreams(string? option)
    {
        const int DefaultFrom = 64 * 1024 * 1024;
        // Room past the threshold for block read-ahead's last requests (up to 2 × 32 MiB in flight) and a stream after.
        const int BigSize = DefaultFrom + (96 * 1024 * 1024) + 777;
        await using LocalServer server = await LocalServer.StartAsync();
        using UploadedFile file = await UploadedFile.UploadAsync(server, "big.bin", BigSize);
        await using MountedDrive drive = await MountedDrive.StartAsync(server, new MountedDriveOptions
        {
            Share = server.DefaultShareId,
            CacheDirectory = file.CacheDirectory,
            ExtraArguments = option is null ? [] : ["--streamed-reads-from", option],
        });
        (await ProcessRunner.RunAsync("cmp", [file.ExpectedPath, Path.Combine(drive.MountPoint, "big.bin")])).EnsureSuccess("cmp of the file read through the mount");

        long streamed = await StreamedBytesAsync(drive);
        if (option is null)
        {
            Assert.InRange(streamed, 1, BigSize - DefaultFrom);
        }
        else
        {
            Assert.Equal(0, streamed);
        }
    }

    private static async Task<long> StreamedBytesAsync(MountedDrive drive)
    {
        ProcessResult status = await MountedDrive.CliAsync("status", drive.MountPoint, "--json");
        status.EnsureSuccess("status --json");
        using JsonDocument json = JsonDocument.Parse(status.StandardOutput);
        return json.RootElement.GetProperty("streamed_read_bytes").GetInt64();
    }
}
