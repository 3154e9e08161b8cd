using System.Diagnostics;
using ScaiDrive.Client;
using ScaiDrive.TestSupport;
using ScaiDrive.Vfs.Reading;
using Xunit;

namespace ScaiDrive.Vfs.Tests.Reading;

/// <summary>
/// By-hand micro benchmark of the speed target (issue 7): a cold sequential read of a large file through the reader in
/// 128 KiB reads against one streaming ranged GET of the same file (the "curl" baseline), then a re-read from cache.
/// Explicit, so the suite never runs it:
/// <c>dotnet tests/ScaiDrive.Vfs.Tests/bin/Release/net10.0/ScaiDrive.Vfs.Tests.dll -method "*ContentReaderBenchmark*" -explicit only -showLiveOutput</c>
/// (SCAIDRIVE_BENCH_MIB sets the file size, 512 by default).
/// </summary>
public sealed class ContentReaderBenchmark
{
    private const int ReadSize = 128 * 1024;

    // SCAIDRIVE_BENCH_DISK_LIMIT=0 takes the disk tier's writes out of the measurement.
    private static ContentReaderOptions Options(string cache) => new()
    {
        CacheDirectory = cache,
        DiskLimitBytes = DiskLimit(),
        MaxReadAheadBytes = long.Parse(Environment.GetEnvironmentVariable("SCAIDRIVE_BENCH_WINDOW_MIB") ?? "64") * 1024 * 1024,
    };

    private static long DiskLimit() => long.Parse(Environment.GetEnvironmentVariable("SCAIDRIVE_BENCH_DISK_LIMIT") ?? "10737418240");

    [Fact(Explicit = true)]
    public async Task ColdSequentialReadAgainstOneStream()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        long size = long.Parse(Environment.GetEnvironmentVariable("SCAIDRIVE_BENCH_MIB") ?? "512") * 1024 * 1024;
        await using LocalServer server = await LocalServer.StartAsync(ct: ct);
        using var client = server.CreateOwnerClient();
        FileItem item = await client.UploadResumableAsync(
            new CreateUploadSessionRequest(new ShareId(server.DefaultShareId), null, "bench.bin", size),
            new PatternUploadSource(size),
            cancellationToken: ct);
        var key = new ContentKey(item.Id, item.Version, item.Size, item.ChecksumSha256);
        var buffer = new byte[1024 * 1024];

        // CPU per MiB (whole process: server, client and reader) is the fairer figure on a shared machine.
        var cpu = new List<string>();
        TimeSpan cpuStart = TimeSpan.Zero;
        void StartCpu() => cpuStart = Process.GetCurrentProcess().TotalProcessorTime;
        void StopCpu(string what) => cpu.Add($"{what} {(Process.GetCurrentProcess().TotalProcessorTime - cpuStart).TotalMilliseconds / (size >> 20):F2}");

        async Task<double> StreamAsync()
        {
            StartCpu();
            var watch = Stopwatch.StartNew();
            await using Stream stream = await client.OpenReadAsync(key.FileId, 0, null, null, key.ChecksumSha256, ct);
            long total = 0;
            int n;
            while ((n = await stream.ReadAsync(buffer, ct)) > 0)
            {
                total += n;
            }

            Assert.Equal(size, total);
            StopCpu("stream");
            return size / watch.Elapsed.TotalSeconds / (1024 * 1024);
        }

        async Task<double> ThroughReaderAsync(ContentReader reader, int parallel)
        {
            StartCpu();
            var watch = Stopwatch.StartNew();
            ReadState state = reader.CreateReadState();
            long next = -ReadSize;
            var readers = Enumerable.Range(0, parallel).Select(_ => Task.Run(async () =>
            {
                var chunk = new byte[ReadSize];
                long offset;
                while ((offset = Interlocked.Add(ref next, ReadSize)) < size)
                {
                    int n = await reader.ReadAsync(key, offset, chunk, state, ct);
                    Assert.Equal(PatternUploadSource.PatternByte(offset), chunk[0]);
                    Assert.Equal(PatternUploadSource.PatternByte(offset + n - 1), chunk[n - 1]);
                }
            }, ct)).ToArray();
            await Task.WhenAll(readers);
            reader.Release(state);
            StopCpu($"reader({parallel})");
            return size / watch.Elapsed.TotalSeconds / (1024 * 1024);
        }

        // The reader's transport alone: ranged GETs of one request size, several at once, no cache.
        async Task<double> RangedAsync(int requestBytes, int parallel)
        {
            StartCpu();
            var watch = Stopwatch.StartNew();
            long next = -requestBytes;
            await Task.WhenAll(Enumerable.Range(0, parallel).Select(_ => Task.Run(async () =>
            {
                var chunk = new byte[requestBytes];
                long offset;
                while ((offset = Interlocked.Add(ref next, requestBytes)) < size)
                {
                    await client.ReadRangeAsync(key.FileId, offset, chunk.AsMemory(0, (int)Math.Min(requestBytes, size - offset)), null, key.ChecksumSha256, ct);
                }
            }, ct)));
            StopCpu($"ranged({requestBytes >> 20} MiB x{parallel})");
            return size / watch.Elapsed.TotalSeconds / (1024 * 1024);
        }

        ITestOutputHelper output = TestContext.Current.TestOutputHelper!;
        double ranged1 = await RangedAsync(1024 * 1024, 1);
        double ranged8 = await RangedAsync(8 * 1024 * 1024, 4);
        output.WriteLine($"ranged GETs, no cache:  1 MiB x1 {ranged1:F0} MiB/s, 8 MiB x4 {ranged8:F0} MiB/s");
        await StreamAsync();
        double stream1 = await StreamAsync();

        using var cache = new TempDirectory();
        double cold;
        double cold4;
        double warm;
        await using (var reader = new ContentReader(client, Options(cache.Path), null, TimeProvider.System))
        {
            cold = await ThroughReaderAsync(reader, 1);
            warm = await ThroughReaderAsync(reader, 1);
        }

        using var cache4 = new TempDirectory();
        await using (var reader = new ContentReader(client, Options(cache4.Path), null, TimeProvider.System))
        {
            cold4 = await ThroughReaderAsync(reader, 4);
        }

        double stream2 = await StreamAsync();
        double baseline = Math.Max(stream1, stream2);
        output.WriteLine($"file {size >> 20} MiB, reads of {ReadSize >> 10} KiB");
        output.WriteLine($"one stream:            {stream1:F0} MiB/s, again {stream2:F0} MiB/s");
        output.WriteLine($"reader cold, 1 reader: {cold:F0} MiB/s  ratio {cold / baseline:F2}");
        output.WriteLine($"reader cold, 4 in par: {cold4:F0} MiB/s  ratio {cold4 / baseline:F2}");
        output.WriteLine($"reader re-read cached: {warm:F0} MiB/s  ({warm / cold:F1}x cold)");
        output.WriteLine($"CPU ms per MiB: {string.Join(", ", cpu)}");
    }
}
