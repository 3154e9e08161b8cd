using ScaiDrive.Client;
using ScaiDrive.Vfs.Reading;
using Xunit;

namespace ScaiDrive.Vfs.Tests.Reading;

/// <summary>The reader against an in-memory source: correctness, single-flight, budget, disk tier, faults.</summary>
public sealed class ContentReaderTests : IDisposable
{
    private const int Block = 64 * 1024;

    private readonly TempDirectory _cache = new();
    private readonly FakeContentSource _source = new();

    public void Dispose() => _cache.Dispose();

    private ContentReader CreateReader(Func<ContentReaderOptions, ContentReaderOptions>? configure = null)
    {
        var options = new ContentReaderOptions
        {
            CacheDirectory = _cache.Path,
            BlockSizeBytes = Block,
            MemoryBudgetBytes = 32 * Block,
            SmallFileThresholdBytes = 2 * Block,
            InitialReadAheadBytes = Block,
            MaxReadAheadBytes = 16 * Block,
            MaxRequestBytes = 4 * Block,
            SeekToleranceBytes = 2 * Block,

            // Deterministic disk contents: the writer may hold the whole budget instead of skipping blocks.
            DiskWriteBacklogBytes = 32 * Block,
        };
        return new ContentReader(_source, configure?.Invoke(options) ?? options, null, TimeProvider.System);
    }

    private static byte[] RandomBytes(int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    private static async Task<byte[]> ReadAllAsync(ContentReader reader, ContentKey key, int chunk)
    {
        var result = new byte[key.Size];
        ReadState state = reader.CreateReadState();
        long offset = 0;
        while (true)
        {
            int n = await reader.ReadAsync(key, offset, result.AsMemory((int)offset, (int)Math.Min(chunk, key.Size - offset)), state, TestContext.Current.CancellationToken);
            if (n == 0)
            {
                break;
            }

            offset += n;
        }

        reader.Release(state);
        Assert.Equal(key.Size, offset);
        return result;
    }

    [Fact]
    public async Task RandomReadsReturnTheFilesBytes()
    {
        byte[] data = RandomBytes((5 * Block) + 1234, 1);
        ContentKey key = _source.Put("fil_random", data);
        await using ContentReader reader = CreateReader();
        var random = new Random(7);
        ReadState state = reader.CreateReadState();
        for (int i = 0; i < 300; i++)
        {
            int offset = random.Next(data.Length + 10);
            var buffer = new byte[random.Next(1, 3 * Block)];
            int n = await reader.ReadAsync(key, offset, buffer, state, TestContext.Current.CancellationToken);
            int expected = Math.Clamp(data.Length - offset, 0, buffer.Length);
            Assert.Equal(expected, n);
            Assert.True(data.AsSpan(Math.Min(offset, data.Length), n).SequenceEqual(buffer.AsSpan(0, n)), $"bytes at {offset}+{n}");
        }
    }

    [Fact]
    public async Task SequentialReadsOfManySizesMatch()
    {
        byte[] data = RandomBytes(40 * Block, 2);
        ContentKey key = _source.Put("fil_seq", data);
        foreach (int chunk in new[] { 4096, 100_000, Block, 3 * Block })
        {
            await using ContentReader reader = CreateReader();
            Assert.Equal(data, await ReadAllAsync(reader, key, chunk));
            reader.Invalidate(key.FileId);
        }
    }

    [Fact]
    public async Task EndOfFileEdges()
    {
        byte[] data = RandomBytes((2 * Block) + 1 + (3 * Block), 3);
        ContentKey key = _source.Put("fil_eof", data);
        ContentKey empty = _source.Put("fil_empty", []);
        await using ContentReader reader = CreateReader();
        ReadState state = reader.CreateReadState();
        CancellationToken ct = TestContext.Current.CancellationToken;
        var buffer = new byte[Block];

        Assert.Equal(0, await reader.ReadAsync(key, data.Length, buffer, state, ct));
        Assert.Equal(0, await reader.ReadAsync(key, data.Length + 5000L, buffer, state, ct));
        Assert.Equal(1, await reader.ReadAsync(key, data.Length - 1, buffer, state, ct));
        Assert.Equal(data[^1], buffer[0]);
        Assert.Equal(10, await reader.ReadAsync(key, data.Length - 10, buffer, state, ct));
        Assert.True(data.AsSpan(data.Length - 10).SequenceEqual(buffer.AsSpan(0, 10)));
        Assert.Equal(0, await reader.ReadAsync(key, 0, Memory<byte>.Empty, state, ct));

        int before = _source.RangeReads + _source.StreamOpens;
        Assert.Equal(0, await reader.ReadAsync(empty, 0, buffer, state, ct));
        Assert.Equal(before, _source.RangeReads + _source.StreamOpens);
    }

    [Fact]
    public async Task SmallFileIsFetchedWholeInOneRequest()
    {
        byte[] data = RandomBytes((2 * Block) - 7, 4);
        ContentKey key = _source.Put("fil_small", data);
        await using ContentReader reader = CreateReader();
        ReadState state = reader.CreateReadState();
        var buffer = new byte[100];
        Assert.Equal(100, await reader.ReadAsync(key, Block + 50, buffer, state, TestContext.Current.CancellationToken));
        Assert.True(data.AsSpan(Block + 50, 100).SequenceEqual(buffer));
        Assert.Equal(data, await ReadAllAsync(reader, key, 4096));
        Assert.Equal(1, _source.RangeReads + _source.StreamOpens);
    }

    [Fact]
    public async Task ConcurrentReadersOfOneBlockShareOneFetch()
    {
        byte[] data = RandomBytes(10 * Block, 5);
        ContentKey key = _source.Put("fil_shared", data);
        await using ContentReader reader = CreateReader();
        _source.Hold();
        var reads = new List<Task<(int, byte[])>>();
        for (int i = 0; i < 12; i++)
        {
            int offset = (3 * Block) + (i * 1000);
            reads.Add(Task.Run(async () =>
            {
                var buffer = new byte[4096];
                int n = await reader.ReadAsync(key, offset, buffer, reader.CreateReadState(), TestContext.Current.CancellationToken);
                return (n, buffer);
            }, TestContext.Current.CancellationToken));
        }

        await Task.Delay(100, TestContext.Current.CancellationToken);
        _source.Open();
        for (int i = 0; i < reads.Count; i++)
        {
            (int n, byte[] buffer) = await reads[i];
            Assert.Equal(4096, n);
            Assert.True(data.AsSpan((3 * Block) + (i * 1000), 4096).SequenceEqual(buffer));
        }

        Assert.Equal(1, _source.RangeReads + _source.StreamOpens);
    }

    [Fact]
    public async Task CancellingOneReaderDoesNotCancelTheFetchAnotherWaitsOn()
    {
        byte[] data = RandomBytes(10 * Block, 6);
        ContentKey key = _source.Put("fil_cancel", data);
        await using ContentReader reader = CreateReader();
        _source.Hold();
        using var cancelFirst = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var first = reader.ReadAsync(key, 5 * Block, new byte[100], reader.CreateReadState(), cancelFirst.Token).AsTask();
        var secondBuffer = new byte[100];
        var second = reader.ReadAsync(key, (5 * Block) + 10, secondBuffer, reader.CreateReadState(), TestContext.Current.CancellationToken).AsTask();
        await Task.Delay(50, TestContext.Current.CancellationToken);
        await cancelFirst.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
        Assert.False(second.IsCompleted);
        _source.Open();
        Assert.Equal(100, await second);
        Assert.True(data.AsSpan((5 * Block) + 10, 100).SequenceEqual(secondBuffer));
        Assert.Equal(1, _source.RangeReads);
        Assert.Equal(0, _source.CancelledRequests);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public async Task SequentialReadAheadUsesParallelMultiBlockRequests(int streams)
    {
        byte[] data = RandomBytes(64 * Block, 7);
        ContentKey key = _source.Put("fil_ahead", data);
        _source.Latency = TimeSpan.FromMilliseconds(5);
        await using ContentReader reader = CreateReader(o => o with { MaxReadAheadRequests = streams });
        Assert.Equal(data, await ReadAllAsync(reader, key, 16 * 1024));
        int requests = _source.RangeReads + _source.StreamOpens;
        Assert.True(requests < 40, $"{_source.RangeReads} ranged + {_source.StreamOpens} streamed requests for 64 blocks: read-ahead should fetch several blocks per request");
        Assert.True(_source.StreamOpens > 0);
        Assert.True(_source.MaxConcurrent > 1, "read-ahead keeps more than one request in flight");
        Assert.True(_source.MaxConcurrent <= streams + 1, $"at most {streams} read-ahead requests per handle plus one demand read, saw {_source.MaxConcurrent}");
    }

    [Fact]
    public async Task ReleaseCancelsReadAhead()
    {
        byte[] data = RandomBytes(64 * Block, 8);
        ContentKey key = _source.Put("fil_release", data);
        await using ContentReader reader = CreateReader();
        ReadState state = reader.CreateReadState();
        CancellationToken ct = TestContext.Current.CancellationToken;
        var buffer = new byte[Block];
        for (long offset = 0; offset < 8 * Block; offset += Block)
        {
            await reader.ReadAsync(key, offset, buffer, state, ct);
        }

        // The read-ahead those reads asked for (the window is at its 16 blocks by now) runs to its end first, so the
        // next request is one this test causes: otherwise a request opened just before the hold, or none at all when
        // the window had already been fetched, would leave nothing parked to cancel.
        int opensAtHold;
        do
        {
            await WaitUntilAsync(() => _source.InFlight == 0, ct);
            opensAtHold = _source.StreamOpens;
            await Task.Delay(50, ct);
        }
        while (_source.InFlight != 0 || _source.StreamOpens != opensAtHold);

        _source.Hold();
        // Four more blocks, already fetched, move the window's end by one whole request (4 blocks): read-ahead opens
        // it, and it parks at the source's gate, so the release has something in flight to cancel.
        for (long offset = 8 * Block; offset < 12 * Block; offset += Block)
        {
            await reader.ReadAsync(key, offset, buffer, state, ct);
        }

        await WaitUntilAsync(() => _source.StreamOpens > opensAtHold, ct);
        reader.Release(state);
        await WaitUntilAsync(() => _source.CancelledRequests > 0, ct);
        // Read-ahead queued before the release (on a busy machine it may not have started yet) must not open anything.
        int opensAfterRelease = _source.StreamOpens;
        _source.Open();
        await Task.Delay(50, ct);
        Assert.Equal(opensAfterRelease, _source.StreamOpens);
    }

    [Fact]
    public async Task MemoryBudgetIsNeverExceeded()
    {
        byte[] big = RandomBytes(96 * Block, 9);
        ContentKey bigKey = _source.Put("fil_big", big);
        byte[] other = RandomBytes(40 * Block, 10);
        ContentKey otherKey = _source.Put("fil_other", other);
        const long budget = 8 * Block;
        await using ContentReader reader = CreateReader(o => o with { MemoryBudgetBytes = budget, MaxReadAheadBytes = 32 * Block });

        var sequential = Task.Run(() => ReadAllAsync(reader, bigKey, 32 * 1024), TestContext.Current.CancellationToken);
        var sequential2 = Task.Run(() => ReadAllAsync(reader, otherKey, 100_000), TestContext.Current.CancellationToken);
        var random = Task.Run(async () =>
        {
            var rng = new Random(3);
            ReadState state = reader.CreateReadState();
            for (int i = 0; i < 200; i++)
            {
                int offset = rng.Next(big.Length);
                var buffer = new byte[rng.Next(1, 2 * Block)];
                int n = await reader.ReadAsync(bigKey, offset, buffer, state, TestContext.Current.CancellationToken);
                Assert.True(big.AsSpan(offset, n).SequenceEqual(buffer.AsSpan(0, n)));
                Assert.True(reader.MemoryBytesUsed <= budget);
            }
        }, TestContext.Current.CancellationToken);

        Assert.Equal(big, await sequential);
        Assert.Equal(other, await sequential2);
        await random;
        Assert.True(reader.PeakMemoryBytesUsed <= budget, $"peak {reader.PeakMemoryBytesUsed} > budget {budget}");
        Assert.True(reader.PeakMemoryBytesUsed >= budget / 2, "the test should actually fill the budget");
    }

    [Fact]
    public async Task DiskTierSurvivesANewReaderOnTheSameDirectory()
    {
        byte[] data = RandomBytes((20 * Block) + 99, 11);
        ContentKey key = _source.Put("fil_persist", data);
        await using (ContentReader first = CreateReader())
        {
            Assert.Equal(data, await ReadAllAsync(first, key, 50_000));
        }

        int requests = _source.RangeReads + _source.StreamOpens;
        await using ContentReader second = CreateReader();
        Assert.Equal(data.Length, second.DiskBytesUsed);
        Assert.Equal(data, await ReadAllAsync(second, key, 50_000));
        var random = new Random(5);
        ReadState state = second.CreateReadState();
        for (int i = 0; i < 50; i++)
        {
            int offset = random.Next(data.Length);
            var buffer = new byte[random.Next(1, 2 * Block)];
            int n = await second.ReadAsync(key, offset, buffer, state, TestContext.Current.CancellationToken);
            Assert.True(data.AsSpan(offset, n).SequenceEqual(buffer.AsSpan(0, n)));
        }

        Assert.Equal(requests, _source.RangeReads + _source.StreamOpens);
    }

    [Fact]
    public async Task NewVersionNeverServesBytesOfTheOldOne()
    {
        byte[] v1 = RandomBytes(12 * Block, 12);
        byte[] v2 = RandomBytes(12 * Block, 13);
        ContentKey key1 = _source.Put("fil_versions", v1, version: 1);
        await using (ContentReader reader = CreateReader())
        {
            Assert.Equal(v1, await ReadAllAsync(reader, key1, Block));
            ContentKey key2 = _source.Put("fil_versions", v2, version: 2);
            Assert.Equal(v2, await ReadAllAsync(reader, key2, Block));

            // A handle still on version 1 gets ContentChanged from the server, never cached v1 bytes mixed with v2.
            await Assert.ThrowsAsync<ScaiDriveApiException>(() => reader.ReadAsync(key1, 0, new byte[10], reader.CreateReadState(), TestContext.Current.CancellationToken).AsTask());
        }

        // A remount must not find v1 either; same size, same version number, different checksum must not match.
        ContentKey v2Key = _source.Put("fil_versions", v2, version: 2);
        await using (ContentReader reader = CreateReader())
        {
            Assert.Equal(v2, await ReadAllAsync(reader, v2Key, Block));
            byte[] v3 = RandomBytes(12 * Block, 14);
            ContentKey v3Key = _source.Put("fil_versions", v3, version: 2);
            Assert.Equal(v3, await ReadAllAsync(reader, v3Key, Block));
        }

        Assert.Single(Directory.GetFiles(_cache.Path, "*.data"));
    }

    [Fact]
    public async Task DiskTierEvictsLeastRecentlyUsedFilesToStayUnderItsLimit()
    {
        const long limit = 20 * Block;
        var keys = new List<(ContentKey Key, byte[] Data)>();
        for (int i = 0; i < 6; i++)
        {
            byte[] data = RandomBytes(8 * Block, 20 + i);
            keys.Add((_source.Put($"fil_evict{i}", data), data));
        }

        await using (ContentReader reader = CreateReader(o => o with { DiskLimitBytes = limit }))
        {
            foreach ((ContentKey key, byte[] data) in keys)
            {
                Assert.Equal(data, await ReadAllAsync(reader, key, Block));
                Assert.True(reader.DiskBytesUsed <= limit);
            }
        }

        Assert.True(_cache.FileBytes <= limit, $"{_cache.FileBytes} bytes on disk > {limit}");
        await using (ContentReader reader = CreateReader(o => o with { DiskLimitBytes = limit }))
        {
            Assert.InRange(reader.DiskBytesUsed, 8 * Block, limit);

            // The last file read is the most recent and must still be there; the first ones went first.
            int requests = _source.RangeReads + _source.StreamOpens;
            Assert.Equal(keys[^1].Data, await ReadAllAsync(reader, keys[^1].Key, Block));
            Assert.Equal(requests, _source.RangeReads + _source.StreamOpens);
            Assert.Equal(keys[0].Data, await ReadAllAsync(reader, keys[0].Key, Block));
            Assert.True(_source.RangeReads + _source.StreamOpens > requests);
        }
    }

    [Fact]
    public async Task BrokenStreamsStillGiveCorrectBytes()
    {
        byte[] data = RandomBytes(64 * Block, 15);
        ContentKey key = _source.Put("fil_faults", data);
        _source.BreakStreamsAfterBytes = Block + (Block / 2);
        await using ContentReader reader = CreateReader();
        Assert.Equal(data, await ReadAllAsync(reader, key, 32 * 1024));
        Assert.True(_source.StreamOpens > 0);
    }

    [Fact]
    public async Task DemandFailureAndContentChangedPassThrough()
    {
        byte[] data = RandomBytes(10 * Block, 16);
        ContentKey key = _source.Put("fil_errors", data);
        await using ContentReader reader = CreateReader();
        CancellationToken ct = TestContext.Current.CancellationToken;
        _source.FailRangeReads = 1;
        var error = await Assert.ThrowsAsync<ScaiDriveApiException>(() => reader.ReadAsync(key, 5 * Block, new byte[10], reader.CreateReadState(), ct).AsTask());
        Assert.Equal(ScaiDriveErrorKind.Unavailable, error.Kind);

        // The failed block is not cached: the next read fetches again and succeeds.
        var buffer = new byte[10];
        Assert.Equal(10, await reader.ReadAsync(key, 5 * Block, buffer, reader.CreateReadState(), ct));
        Assert.True(data.AsSpan(5 * Block, 10).SequenceEqual(buffer));

        _source.Put("fil_errors", RandomBytes(10 * Block, 17), version: 2);
        error = await Assert.ThrowsAsync<ScaiDriveApiException>(() => reader.ReadAsync(key, 7 * Block, new byte[10], reader.CreateReadState(), ct).AsTask());
        Assert.Equal(ScaiDriveErrorKind.ContentChanged, error.Kind);
    }

    [Fact]
    public async Task InvalidateDropsBothTiers()
    {
        byte[] data = RandomBytes(10 * Block, 18);
        ContentKey key = _source.Put("fil_invalidate", data);
        await using ContentReader reader = CreateReader();
        Assert.Equal(data, await ReadAllAsync(reader, key, Block));
        await WaitUntilAsync(() => reader.DiskBytesUsed == data.Length, TestContext.Current.CancellationToken);
        reader.Invalidate(key.FileId);
        Assert.Equal(0, reader.DiskBytesUsed);
        Assert.Empty(Directory.GetFiles(_cache.Path));

        // A block still pinned by the disk writer goes back to the pool when the writer lets go.
        await WaitUntilAsync(() => reader.MemoryBytesUsed == 0, TestContext.Current.CancellationToken);
        int requests = _source.RangeReads + _source.StreamOpens;
        Assert.Equal(data, await ReadAllAsync(reader, key, Block));
        Assert.True(_source.RangeReads + _source.StreamOpens > requests);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task LongSequentialStreamPastTheLimitStaysOutOfTheDiskTier(bool limited)
    {
        byte[] data = RandomBytes(40 * Block, 23);
        ContentKey key = _source.Put("fil_stream", data);
        await using (ContentReader first = CreateReader(o => o with { SequentialDiskLimitBytes = limited ? 8 * Block : null }))
        {
            Assert.Equal(data, await ReadAllAsync(first, key, Block));
        }

        // Disposing drained the write-behind queue: what the next reader finds is what was written.
        await using ContentReader second = CreateReader();
        if (limited)
        {
            Assert.InRange(second.DiskBytesUsed, Block, data.Length / 2);
        }
        else
        {
            Assert.Equal(data.Length, second.DiskBytesUsed);
        }

        // Whatever the disk tier lacks is fetched again, and the bytes are right either way.
        int requests = _source.RangeReads + _source.StreamOpens;
        Assert.Equal(data, await ReadAllAsync(second, key, Block));
        Assert.Equal(limited, _source.RangeReads + _source.StreamOpens > requests);
    }

    [Fact]
    public async Task RandomReadPastTheSequentialLimitIsStillCachedOnDisk()
    {
        byte[] data = RandomBytes(40 * Block, 29);
        ContentKey key = _source.Put("fil_random", data);
        await using (ContentReader first = CreateReader(o => o with { SequentialDiskLimitBytes = 0 }))
        {
            var buffer = new byte[100];
            ReadState state = first.CreateReadState();
            await first.ReadAsync(key, (30 * Block) + 7, buffer, state, TestContext.Current.CancellationToken);
            Assert.True(data.AsSpan((30 * Block) + 7, 100).SequenceEqual(buffer));
            first.Release(state);
        }

        await using ContentReader second = CreateReader();
        Assert.Equal(Block, second.DiskBytesUsed);
    }

    [Fact]
    public async Task ReReadFromCacheDoesNotTouchTheSource()
    {
        byte[] data = RandomBytes(30 * Block, 19);
        ContentKey key = _source.Put("fil_reread", data);
        await using ContentReader reader = CreateReader();
        Assert.Equal(data, await ReadAllAsync(reader, key, 128 * 1024));
        int requests = _source.RangeReads + _source.StreamOpens;
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(data, await ReadAllAsync(reader, key, 128 * 1024));
        }

        Assert.Equal(requests, _source.RangeReads + _source.StreamOpens);
    }

    internal static async Task WaitUntilAsync(Func<bool> condition, CancellationToken cancellationToken)
    {
        for (int i = 0; i < 500 && !condition(); i++)
        {
            await Task.Delay(10, cancellationToken);
        }

        Assert.True(condition(), "condition not reached in 5 s");
    }
}
