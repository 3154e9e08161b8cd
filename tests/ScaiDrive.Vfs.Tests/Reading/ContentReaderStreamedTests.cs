using ScaiDrive.Client;
using ScaiDrive.TestSupport;
using ScaiDrive.Vfs.Reading;
using Xunit;

namespace ScaiDrive.Vfs.Tests.Reading;

/// <summary>
/// Streamed runs (ContentReaderOptions.StreamedReadsFromBytes) through the real client's direct stream against the
/// local server: a long sequential read switches to one stream and every byte is right; reads that arrive out of
/// order, gaps, a broken stream, a seek, a release and a declining server all end well.
/// </summary>
public sealed class ContentReaderStreamedTests : IAsyncLifetime
{
    private const int Block = 256 * 1024;
    private const int StreamFrom = 4 * Block;
    private const int Request = 128 * 1024;

    private readonly TempDirectory _cache = new();
    private LocalServer _server = null!;
    private ScaiDriveClient _client = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _server = await LocalServer.StartAsync(ct: Ct);
        _client = new ScaiDriveClient(new ScaiDriveClientOptions
        {
            BaseUrl = _server.BaseUrl,
            Credentials = new ScaiDriveCredentials { AccessToken = _server.OwnerToken },
            BaseBackoff = TimeSpan.FromMilliseconds(5),
            MaxBackoff = TimeSpan.FromMilliseconds(50),
        });
    }

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _server.DisposeAsync();
        _cache.Dispose();
    }

    private (ContentReader Reader, CountingContentSource Source) CreateReader()
    {
        var source = new CountingContentSource(new ClientContentSource(_client));
        var options = new ContentReaderOptions
        {
            CacheDirectory = _cache.Path,
            BlockSizeBytes = Block,
            MemoryBudgetBytes = 32 * Block,
            SmallFileThresholdBytes = 2 * Block,
            InitialReadAheadBytes = Block,
            MaxReadAheadBytes = 8 * Block,
            MaxRequestBytes = 4 * Block,
            StreamedReadsFromBytes = StreamFrom,
            // Small, so a jump back to the start is a seek.
            SeekToleranceBytes = 2 * Block,
        };
        return (new ContentReader(source, options, null, TimeProvider.System), source);
    }

    private async Task<(ContentKey Key, byte[] Data)> UploadAsync(int size, int seed)
    {
        var data = new byte[size];
        new Random(seed).NextBytes(data);
        FileItem item = await _client.UploadResumableAsync(
            new CreateUploadSessionRequest(new ShareId(_server.DefaultShareId), null, $"streamed-{seed}.bin", size),
            new PatternUploadSource(size, data),
            cancellationToken: Ct);
        return (new ContentKey(item.Id, item.Version, item.Size, item.ChecksumSha256), data);
    }

    /// <summary>What the FUSE adapter does: the streamed path first (here with Read instead of splice), else the ordinary one.</summary>
    private sealed class Reads(ContentReader reader, ContentKey key)
    {
        public ReadState State { get; } = reader.CreateReadState();

        public int Streamed;

        /// <summary>The next streamed reply takes this many bytes and fails (-1: none).</summary>
        public int FailNextStreamedAfterBytes = -1;

        /// <summary>Reads the file in order from its start, checking every byte, until <paramref name="count"/> reads came from the stream; returns the next offset.</summary>
        public async Task<long> ReadFromStartUntilStreamedAsync(byte[] data, int count)
        {
            long offset = 0;
            while (Streamed < count)
            {
                AssertBytes(data, offset, await ReadAsync(offset, Request));
                offset += Request;
            }

            return offset;
        }

        public async Task<byte[]> ReadAsync(long offset, int size)
        {
            var buffer = new byte[(int)Math.Min(size, key.Size - offset)];
            if (reader.TryReadStreamed(key, offset, size, State, Copy, buffer))
            {
                Interlocked.Increment(ref Streamed);
                return buffer;
            }

            int n = await reader.ReadAsync(key, offset, buffer, State, Ct);
            Assert.Equal(buffer.Length, n);
            return buffer;
        }

        private bool Copy(StreamedContent source, int count, byte[] destination)
        {
            Assert.Equal(destination.Length, count);
            int limit = Interlocked.Exchange(ref FailNextStreamedAfterBytes, -1);
            int want = limit >= 0 ? Math.Min(limit, count) : count;
            int done = 0;
            while (done < want)
            {
                done += source.Read(destination.AsSpan(done, want - done));
            }

            return done == count;
        }
    }

    private static void AssertBytes(byte[] data, long offset, byte[] read) =>
        Assert.True(data.AsSpan((int)offset, read.Length).SequenceEqual(read), $"bytes at {offset}+{read.Length}");

    [Fact]
    public async Task A_long_sequential_read_continues_as_one_stream_with_every_byte_right()
    {
        (ContentKey key, byte[] data) = await UploadAsync((40 * Block) + 1234, 1);
        (ContentReader reader, CountingContentSource source) = CreateReader();
        await using (reader)
        {
            var reads = new Reads(reader, key);
            int requestsBefore = 0;
            for (long offset = 0; offset < key.Size; offset += Request)
            {
                AssertBytes(data, offset, await reads.ReadAsync(offset, Request));
                if (reads.Streamed == 0)
                {
                    requestsBefore = source.Requests;
                }
            }

            Assert.Equal(1, source.DirectOpens);
            TrackedDirectContent stream = Assert.Single(source.DirectStreams);
            Assert.True(stream.Start >= StreamFrom, $"stream from {stream.Start}");
            // Everything from the stream's start came from it: no block requests after the switch.
            Assert.Equal((int)((key.Size - stream.Start + Request - 1) / Request), reads.Streamed);
            Assert.Equal(requestsBefore, source.Requests);

            reader.Release(reads.State);
            Assert.True(stream.Disposed);
        }
    }

    [Fact]
    public async Task Reads_arriving_out_of_order_and_gaps_are_served_in_file_order()
    {
        (ContentKey key, byte[] data) = await UploadAsync(48 * Block, 2);
        (ContentReader reader, CountingContentSource source) = CreateReader();
        await using (reader)
        {
            var reads = new Reads(reader, key);
            long offset = await reads.ReadFromStartUntilStreamedAsync(data, 1);

            // The kernel's parallel reads picked up out of order: the later one waits for the earlier one.
            for (int i = 0; i < 10; i++, offset += 2 * Request)
            {
                long first = offset;
                Task<byte[]> later = Task.Run(() => reads.ReadAsync(first + Request, Request), Ct);
                await Task.Delay(2, Ct);
                Task<byte[]> earlier = Task.Run(() => reads.ReadAsync(first, Request), Ct);
                AssertBytes(data, first, await earlier);
                AssertBytes(data, first + Request, await later);
            }

            // A gap nobody reads (the kernel had those pages): the stream skips it, and stays the run's source.
            offset += 3 * Request;
            int streamed = reads.Streamed;
            int after = 0;
            for (; offset < key.Size; offset += Request, after++)
            {
                AssertBytes(data, offset, await reads.ReadAsync(offset, Request));
            }

            Assert.Equal(streamed + after, reads.Streamed);
            Assert.Equal(1, source.DirectOpens);
        }
    }

    [Fact]
    public async Task A_stream_that_breaks_hands_the_run_back_to_block_reads()
    {
        (ContentKey key, byte[] data) = await UploadAsync(40 * Block, 3);
        (ContentReader reader, CountingContentSource source) = CreateReader();
        await using (reader)
        {
            var reads = new Reads(reader, key);
            long offset = await reads.ReadFromStartUntilStreamedAsync(data, 3);

            // The reply takes part of its bytes and fails: that read and all later ones go the ordinary way.
            reads.FailNextStreamedAfterBytes = 1000;
            int streamed = reads.Streamed;
            int requests = source.Requests;
            for (; offset < key.Size; offset += Request)
            {
                AssertBytes(data, offset, await reads.ReadAsync(offset, Request));
            }

            Assert.Equal(streamed, reads.Streamed);
            Assert.True(source.Requests > requests);
            Assert.True(Assert.Single(source.DirectStreams).Disposed);
            Assert.Equal(1, source.DirectOpens);
        }
    }

    [Fact]
    public async Task A_seek_ends_the_run_and_a_new_run_streams_again()
    {
        (ContentKey key, byte[] data) = await UploadAsync(64 * Block, 4);
        (ContentReader reader, CountingContentSource source) = CreateReader();
        await using (reader)
        {
            var reads = new Reads(reader, key);
            long offset = await reads.ReadFromStartUntilStreamedAsync(data, 2);

            // Back to the start: not the stream's (behind it), and the seek ends the run.
            AssertBytes(data, 0, await reads.ReadAsync(0, Request));
            TrackedDirectContent first = source.DirectStreams.First();
            Assert.True(first.Disposed);

            for (offset = Request; offset < key.Size; offset += Request)
            {
                AssertBytes(data, offset, await reads.ReadAsync(offset, Request));
            }

            Assert.Equal(2, source.DirectOpens);
        }
    }

    [Fact]
    public async Task A_declined_stream_leaves_the_run_to_block_read_ahead()
    {
        (ContentKey key, byte[] data) = await UploadAsync(40 * Block, 5);
        (ContentReader reader, CountingContentSource source) = CreateReader();
        source.DeclineDirect = true;
        await using (reader)
        {
            var reads = new Reads(reader, key);
            for (long offset = 0; offset < key.Size; offset += Request)
            {
                AssertBytes(data, offset, await reads.ReadAsync(offset, Request));
            }

            Assert.Equal(0, reads.Streamed);
            Assert.Equal(1, source.DirectOpens);
            // Block read-ahead carried on: a few multi-block requests, not one per block.
            Assert.True(source.StreamOpens >= 4, $"{source.StreamOpens} read-ahead requests");
            Assert.True(source.Requests < 40, $"{source.Requests} requests for 40 blocks");
        }
    }

    [Fact]
    public async Task Disposing_the_reader_closes_open_streams()
    {
        (ContentKey key, byte[] data) = await UploadAsync(40 * Block, 6);
        (ContentReader reader, CountingContentSource source) = CreateReader();
        var reads = new Reads(reader, key);
        long offset = await reads.ReadFromStartUntilStreamedAsync(data, 1);

        await reader.DisposeAsync();

        Assert.True(Assert.Single(source.DirectStreams).Disposed);
    }
}
