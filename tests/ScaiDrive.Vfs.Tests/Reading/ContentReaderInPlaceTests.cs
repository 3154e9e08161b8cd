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

    private ContentReader CreateReader() => new(
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
}
