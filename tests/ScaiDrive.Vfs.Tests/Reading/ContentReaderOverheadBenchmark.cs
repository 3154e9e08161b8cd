using System.Diagnostics;
using ScaiDrive.Vfs.Reading;
using Xunit;

namespace ScaiDrive.Vfs.Tests.Reading;

/// <summary>
/// By-hand measurement of the reader's own cost: a sequential read through an in-memory source with no latency,
/// so the only limit is the reader (locks, copies, disk write-behind). Explicit, so the suite never runs it:
/// <c>-method "*ContentReaderOverheadBenchmark*" -explicit only -showLiveOutput</c>.
/// </summary>
public sealed class ContentReaderOverheadBenchmark
{
    [Fact(Explicit = true)]
    public async Task SequentialReadThroughAnInMemorySource()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var data = new byte[256 * 1024 * 1024];
        new Random(1).NextBytes(data);
        var source = new FakeContentSource();
        ContentKey warmUp = source.Put("fil_warmup", data.AsSpan(0, 64 * 1024 * 1024).ToArray());
        ContentKey key = source.Put("fil_overhead", data);
        ContentKey second = source.Put("fil_overhead2", data);
        using var cache = new TempDirectory();
        await using var reader = new ContentReader(source, new ContentReaderOptions { CacheDirectory = cache.Path, DiskLimitBytes = long.Parse(Environment.GetEnvironmentVariable("SCAIDRIVE_BENCH_DISK_LIMIT") ?? "10737418240") }, null, TimeProvider.System);
        var chunk = new byte[128 * 1024];

        var cpu = new List<double>();
        async Task<double> ReadAsync(ContentKey key)
        {
            TimeSpan cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
            var watch = Stopwatch.StartNew();
            ReadState state = reader.CreateReadState();
            for (long offset = 0; offset < key.Size; offset += chunk.Length)
            {
                await reader.ReadAsync(key, offset, chunk, state, ct);
            }

            reader.Release(state);
            cpu.Add((Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalMilliseconds / (key.Size >> 20));
            return key.Size / watch.Elapsed.TotalSeconds / (1024 * 1024);
        }

        // The first pass pays for JIT tiers and for touching the pool's fresh buffers; measure after it.
        await ReadAsync(warmUp);
        double cold = await ReadAsync(key);
        double warm = await ReadAsync(key);
        double coldAgain = await ReadAsync(second);
        TestContext.Current.TestOutputHelper!.WriteLine($"cold {cold:F0} MiB/s ({source.RangeReads} ranged, {source.StreamOpens} streamed requests), cached {warm:F0} MiB/s, another cold file once the pool is warm {coldAgain:F0} MiB/s; CPU ms per MiB: cold {cpu[1]:F2}, cached {cpu[2]:F2}, cold again {cpu[3]:F2}");
    }
}
