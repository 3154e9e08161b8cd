using System.Buffers;
using ScaiDrive.Vfs.Reading;
using Xunit;

namespace ScaiDrive.Vfs.Tests.Reading;

/// <summary>TryReadInPlaceAsync: the zero-copy path the FUSE read uses (reply straight from the pinned block).</summary>
public sealed class ContentReaderInPlaceTests : IDisposable
{
    private const int Block = 64 * 1024;

    private static readonly ReadOnlySpanAction<byte, List<byte[]>> s_collect = static (data, replies) => replies.Add(data.ToArray());

    private readonly TempDirectory _cache = new();
    private readonly FakeContentSource _source = new();

    public void Dispose() => _cache.Dispose();

    private ContentReader CreateReader(int randomFetchBytes = 128 * 1024) => new(
        _source,
        new ContentReaderOptions
        {
            CacheDirectory = _cache.Path,
            BlockSizeBytes = Block,
            MemoryBudgetBytes = 32 * Block,
            SmallFileThresholdBytes = 2 * Block,
            InitialReadAheadBytes = Block,
            MaxReadAheadBytes = 16 * Block,
            MaxRequestBytes = 4 * Block,
            SeekToleranceBytes = 2 * Block,
            DiskWriteBacklogBytes = 32 * Block,
            RandomFetchBytes = randomFetchBytes,
        },
        null,
        TimeProvider.System);

    private static byte[] RandomBytes(int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    [Fact]
    public async Task SequentialAlignedReadsAreAllServedInPlaceWithTheFilesBytes()
    {
        byte[] data = RandomBytes((20 * Block) + 777, 21);
        ContentKey key = _source.Put("fil_inplace", data);
        await using ContentReader reader = CreateReader();
        ReadState state = reader.CreateReadState();
        var replies = new List<byte[]>();
        CancellationToken ct = TestContext.Current.CancellationToken;
        for (long offset = 0; offset < data.Length; offset += Block)
        {
            Assert.True(await reader.TryReadInPlaceAsync(key, offset, Block, state, s_collect, replies, ct), $"offset {offset}");
        }

        Assert.Equal(21, replies.Count);
        Assert.Equal(777, replies[^1].Length);
        Assert.Equal(data, replies.SelectMany(r => r).ToArray());
        reader.Release(state);
    }

    [Fact]
    public async Task DeclinesWithoutSideEffectsWhenItCannotServeInPlace()
    {
        byte[] data = RandomBytes(8 * Block, 22);
        ContentKey key = _source.Put("fil_decline", data);
        await using ContentReader reader = CreateReader();
        ReadState state = reader.CreateReadState();
        var replies = new List<byte[]>();
        CancellationToken ct = TestContext.Current.CancellationToken;

        Assert.False(await reader.TryReadInPlaceAsync(key, Block - 10, 20, state, s_collect, replies, ct));
        Assert.False(await reader.TryReadInPlaceAsync(key, data.Length, Block, state, s_collect, replies, ct));
        Assert.False(await reader.TryReadInPlaceAsync(key, 0, 0, state, s_collect, replies, ct));
        Assert.Empty(replies);
        Assert.Equal(0, _source.RangeReads + _source.StreamOpens);
    }

    [Fact]
    public async Task DiskHitsAreServedInPlaceToo()
    {
        byte[] data = RandomBytes(6 * Block, 23);
        ContentKey key = _source.Put("fil_disk", data);
        await using (ContentReader first = CreateReader())
        {
            ReadState s = first.CreateReadState();
            var buffer = new byte[data.Length];
            for (int offset = 0; offset < data.Length; offset += Block)
            {
                Assert.Equal(Block, await first.ReadAsync(key, offset, buffer.AsMemory(offset, Block), s, TestContext.Current.CancellationToken));
            }
        }

        int requests = _source.RangeReads + _source.StreamOpens;
        await using ContentReader second = CreateReader();
        ReadState state = second.CreateReadState();
        var replies = new List<byte[]>();
        Assert.True(await second.TryReadInPlaceAsync(key, (3 * Block) + 100, 5000, state, s_collect, replies, TestContext.Current.CancellationToken));
        Assert.Equal(data.AsSpan((3 * Block) + 100, 5000).ToArray(), Assert.Single(replies));
        Assert.Equal(requests, _source.RangeReads + _source.StreamOpens);
    }

    [Fact]
    public async Task SmallRandomReadsFetchOnlyTheAlignedUnitAroundThem()
    {
        const int Unit = 16 * 1024;
        byte[] data = RandomBytes(16 * Block, 24);
        ContentKey key = _source.Put("fil_random_small", data);
        await using ContentReader reader = CreateReader(Unit);
        ReadState state = reader.CreateReadState();
        CancellationToken ct = TestContext.Current.CancellationToken;
        var buffer = new byte[4096];

        // A first read away from 0 is a seek: random access, no block fetched, only the 16 KiB around the read.
        long at = (5 * Block) + 100;
        Assert.Equal(4096, await reader.ReadAsync(key, at, buffer, state, ct));
        Assert.True(data.AsSpan((int)at, 4096).SequenceEqual(buffer));
        Assert.Equal(1, _source.RangeReads + _source.StreamOpens);
        Assert.Equal(Unit, reader.DiskBytesUsed);
        Assert.Equal(0, reader.MemoryBytesUsed);

        // Another handle's small read in the same unit is a disk hit; in place too. (The same handle reading
        // nearby would start a sequential run: the policy's job, not tested here.)
        var replies = new List<byte[]>();
        Assert.True(await reader.TryReadInPlaceAsync(key, (5 * Block) + 8000, 4096, reader.CreateReadState(), s_collect, replies, ct));
        Assert.Equal(data.AsSpan((5 * Block) + 8000, 4096).ToArray(), Assert.Single(replies));
        Assert.Equal(1, _source.RangeReads + _source.StreamOpens);

        // A far seek in place, across a unit boundary: one request for both units.
        replies.Clear();
        Assert.True(await reader.TryReadInPlaceAsync(key, (12 * Block) + Unit - 10, 20, state, s_collect, replies, ct));
        Assert.Equal(data.AsSpan((12 * Block) + Unit - 10, 20).ToArray(), Assert.Single(replies));
        Assert.Equal(2, _source.RangeReads + _source.StreamOpens);
        Assert.Equal(3 * Unit, reader.DiskBytesUsed);
    }

    [Fact]
    public async Task ConcurrentRandomReadsOfOneUnitShareOneFetchThatNoCallerCancels()
    {
        const int Unit = 32 * 1024;
        byte[] data = RandomBytes(16 * Block, 25);
        ContentKey key = _source.Put("fil_random_shared", data);
        await using ContentReader reader = CreateReader(Unit);
        CancellationToken ct = TestContext.Current.CancellationToken;
        _source.Hold();
        using var cancelFirst = CancellationTokenSource.CreateLinkedTokenSource(ct);
        Task<int> first = reader.ReadAsync(key, 7 * Block, new byte[100], reader.CreateReadState(), cancelFirst.Token).AsTask();
        var reads = Enumerable.Range(0, 8).Select(i => Task.Run(async () =>
        {
            var buffer = new byte[2000];
            int n = await reader.ReadAsync(key, (7 * Block) + (i * 3000), buffer, reader.CreateReadState(), ct);
            return (n, buffer);
        }, ct)).ToList();
        await Task.Delay(100, ct);
        await cancelFirst.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
        _source.Open();
        for (int i = 0; i < reads.Count; i++)
        {
            (int n, byte[] buffer) = await reads[i];
            Assert.Equal(2000, n);
            Assert.True(data.AsSpan((7 * Block) + (i * 3000), 2000).SequenceEqual(buffer));
        }

        Assert.Equal(1, _source.RangeReads + _source.StreamOpens);
        Assert.Equal(0, _source.CancelledRequests);
        Assert.Equal(0, reader.MemoryBytesUsed);
    }
}
