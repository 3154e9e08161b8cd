using System.Buffers;
using System.Runtime.ExceptionServices;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ScaiDrive.Client;

namespace ScaiDrive.Vfs.Reading;

// # The read path
//
// A read of remote content is served from aligned blocks (1 MiB by default), looked up in three places in turn:
//
// 1. The memory tier: a pool of block buffers under ONE budget (MemoryBudgetBytes), shared by cached blocks,
//    blocks being fetched and read-ahead. The pool *is* the budget: it hands out at most budget / block-size
//    buffers, so the budget cannot be exceeded, and it reuses them, so a read never allocates a large array.
//    Ready blocks sit in an LRU list; a block that a reader is copying from or waiting for, or that is queued
//    for the disk, is pinned and never evicted. The pool grows only when no block that has been read can be
//    recycled: a fresh buffer costs resident memory and making its pages resident (PagePrefault does that in one
//    madvise call; page by page at first touch it was 3.5–10 ms per MiB on our VMs, more than the transfer), while a
//    block already read is on its way to the disk tier, which serves re-reads from the page cache. So one stream
//    holds about its read-ahead window, not the whole budget.
// 2. The disk tier (DiskTier): one sparse file per file version plus a record of the byte ranges present,
//    loaded at start so the cache survives remounts. The key is (file ID, version, size, SHA-256): bytes of one
//    version are never served for another, and a newer version replaces the old files. Blocks reach the disk
//    from the fetched buffer through a write-behind queue, so disk writes never delay the reply to the reader
//    (the pin keeps the buffer alive until it is written). If the disk falls behind by a quarter of the budget,
//    further blocks skip the disk tier rather than hold memory the reader needs. Read-ahead of a sequential run past
//    SequentialDiskLimitBytes (64 MiB) skips it too: on a cold 1 GiB read the copy into the page cache and its
//    writeback cost about a fifth of the daemon's CPU on cores the server and the reader need, and re-reads of a
//    long stream come from the kernel's page cache. A disk hit is read straight into the caller's buffer.
// 3. The server: a miss starts a fetch. There is at most one fetch per block at a time (single-flight): readers
//    of a block that is already being fetched pin it and wait. A fetch never runs on a reader's cancellation
//    token, so one reader giving up cannot fail the fetch others wait on; the fetch completes and is cached.
//
// Demand fetches are one ranged GET per block through the client, which retries transient failures where the
// transfer broke off; their errors (ContentChanged, NotFound, Unavailable after retries) reach the caller as
// ScaiDriveApiException. Files up to SmallFileThresholdBytes (2 MiB) are fetched whole in one request on the first
// miss: small files are usually read whole, and one round trip beats two.
//
// ## Read-ahead
//
// Each open handle has a ReadState with a sequential-access detector (ReadAheadPolicy). A run starts with a read
// at offset 0 or with a read that follows the previous one. Reads a little behind the furthest one or a little
// past it (SeekToleranceBytes, 2 MiB) still count, because the kernel sends several reads of one stream in
// parallel and they arrive out of order. Any other read is a seek: the window drops to zero and the run's
// read-ahead in flight is cancelled.
//
// During a run the cache is filled up to (furthest read + window). The window starts at 1 MiB, one block, which
// costs little when a program reads only a header, and doubles every time the reader has consumed a quarter of
// it, so a stream reaches the 64 MiB maximum after about 16 MiB: 64 MiB is a few tens of milliseconds at the
// speeds of a local or LAN server, enough to cover a round trip plus the server's time to first byte while
// keeping one stream to half the default budget. The window is split into MaxReadAheadRequests (2 by default,
// `--read-ahead-streams`) requests that run in parallel, each between one block and MaxRequestBytes (32 MiB), so
// a full window is two 32 MiB streams; a block is served as soon as its own bytes arrive, not when its whole
// request ends. Two is the measured best against a server on the same machine, where the transfer is bound by CPU:
// side by side on the 2-core bench VM (cold 1 GiB, five rounds each, same server), medians of 889 MB/s with
// 8 × 8 MiB, 920 with 4 × 16 and 1,056 with 2 × 32, the server's CPU per GiB 0.89–1.01 s, 0.79–0.87 and 0.70–0.78,
// the daemon's falling likewise: every extra concurrent stream costs both ends CPU. Two streams still hide a round
// trip (one is mid-transfer while the next starts) and each request is long enough that its overhead (TLS records,
// server lookup, auth) is small against the transfer. A server that caps each connection's bandwidth wants more:
// that is what the option is for. Read-ahead requests use the client's streaming call, which is
// not resumed when it breaks off: a block such a stream did not deliver is simply fetched again on demand.
//
// Read-ahead yields to demand. It may hold at most three quarters of the budget in blocks nobody has read yet,
// it never evicts such blocks to make room for itself, and it gives up (until the next read) when no buffer is
// free; a demand fetch may evict any unpinned block, read-ahead included, and waits for a buffer only when
// every block is pinned. Release(state) cancels the handle's read-ahead.
//
// ## Streamed runs (StreamedReadsFromBytes; off unless the adapter sets it)
//
// Block read-ahead costs the daemon a thread-pool hop and an epoll wake-up every few hundred kilobytes, and the bytes
// pass through user space twice (socket → block, block → kernel). Once a run's read-ahead reaches
// StreamedReadsFromBytes (the FUSE mount sets it from `--streamed-reads-from`, 64M by default; 64 MiB is where the
// disk tier stops keeping a run anyway), the run continues from there as one open stream to the end of the file
// (IContentSource.TryOpenDirect; the API client's DirectContentStream, plain HTTP only), and block read-ahead stops
// for that run: the TCP window is its read-ahead.
// TryReadStreamed then answers reads at or past the stream's start on the caller's thread, in file order, one at a
// time: each read hands the stream to the caller's reply, which takes exactly its bytes (the FUSE adapter splices them
// from the socket into the kernel without copying them through user space). A read that arrives ahead of its
// predecessor waits for it briefly (PredecessorWait); if none comes (the kernel already had those pages), the stream
// skips up to MaxStreamSkipBytes. Anything else ends the run and the ordinary path takes over from where the reader
// is: a read behind the stream, a seek, a declined or broken stream, a reply that could not take its bytes. Streamed
// bytes are not kept in either tier; re-reads come from the kernel's page cache or are fetched again.
//
// ## Reads without a copy
//
// TryReadInPlaceAsync serves a read that lies inside one block by calling the caller's reply with the block's own
// bytes while the block is pinned (the FUSE adapter copies them straight into the kernel); a disk hit goes through a
// pooled buffer. Anything else (a read spanning blocks, a superseded version) declines before any side effect.
//
// ## Small random reads (RandomFetchBytes, off by default)
//
// When enabled, a small read while the handle is not in a sequential run, whose blocks are not in memory, is served
// from the disk tier after one ranged request for the aligned unit around it (single-flight per unit, run on the
// reader's lifetime). If the disk tier cannot keep the unit the read falls back to the block path. Off by default:
// on a 512 MiB file, fio's 4 KiB random reads measured 453 IOPS with 128 KiB units, about 2,800 with whole blocks.
//
// Lock order: ContentReader._gate, then DiskTier's lock. DiskTier never calls back into the reader. Fetches and
// cancellation callbacks always run outside _gate (fetches are started on the thread pool).

/// <summary>Immutable content: one version of one file. Bytes cached under one key are never served for another.</summary>
internal readonly record struct ContentKey(FileId FileId, long Version, long Size, string? ChecksumSha256);

internal sealed record ContentReaderOptions
{
    /// <summary>Directory of the disk tier (sparse file per version plus the ranges present). Kept across remounts.</summary>
    public required string CacheDirectory { get; init; }

    public long DiskLimitBytes { get; init; } = 10L * 1024 * 1024 * 1024;

    /// <summary>One budget for cached and read-ahead blocks in memory.</summary>
    public long MemoryBudgetBytes { get; init; } = 128L * 1024 * 1024;

    /// <summary>Unit of caching and of demand fetches; aligned to multiples of itself.</summary>
    public int BlockSizeBytes { get; init; } = 1024 * 1024;

    /// <summary>Files up to this size are fetched whole on the first miss.</summary>
    public long SmallFileThresholdBytes { get; init; } = 2L * 1024 * 1024;

    public long InitialReadAheadBytes { get; init; } = 1024 * 1024;

    public long MaxReadAheadBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>Largest single read-ahead request.</summary>
    public long MaxRequestBytes { get; init; } = 32L * 1024 * 1024;

    /// <summary>
    /// When above 0, a small read during random access that misses both tiers fetches only this aligned range around
    /// itself (into the disk tier), not a whole block; reads longer than this use blocks as usual. Off (0) by default:
    /// measured on a 512 MiB file with fio 4 KiB random reads for 15 s, 128 KiB units gave 453 IOPS where whole
    /// 1 MiB blocks give about 2,800, because whole blocks cache the file 8 times sooner and every later read hits.
    /// It pays only when a reader touches a small part of a file much larger than the cache sees in its lifetime.
    /// </summary>
    public int RandomFetchBytes { get; init; }

    /// <summary>Read-ahead requests in flight per handle: the window is split into this many requests.</summary>
    public int MaxReadAheadRequests { get; init; } = 2;

    /// <summary>How far a read may land behind or past the furthest read of a run and still count as sequential.</summary>
    public long SeekToleranceBytes { get; init; } = 2L * 1024 * 1024;

    /// <summary>
    /// Memory that may wait for the disk tier (default a quarter of the budget). Blocks fetched while the backlog is
    /// full are not written to disk, so a slow disk never holds back reads.
    /// </summary>
    public long? DiskWriteBacklogBytes { get; init; }

    /// <summary>
    /// Read-ahead of a sequential run at or past this offset is not written to the disk tier (null: always written).
    /// A long stream is served from memory and re-read from the kernel's page cache; writing it to disk as well cost
    /// about a fifth of the daemon's CPU on a cold 1 GiB read (a copy into the page cache plus the writeback), on the
    /// cores the server and the reader need. Demand reads, small files and the first part of a stream are kept.
    /// </summary>
    public long? SequentialDiskLimitBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>
    /// A sequential run whose read-ahead reaches this offset continues as a streamed run: one open stream to the end of
    /// the file, read by <see cref="ContentReader.TryReadStreamed"/> on the reader's own thread (null: never). Only for
    /// an adapter that calls TryReadStreamed; see the header.
    /// </summary>
    public long? StreamedReadsFromBytes { get; init; }

    /// <summary>How long the disk tier may keep ranges written but unrecorded (they are lost, not wrong, after a crash).</summary>
    public TimeSpan DiskRecordInterval { get; init; } = TimeSpan.FromSeconds(2);
}

/// <summary>
/// Serves reads of remote content through a two-tier block cache (memory, then disk) filled by HTTP range requests,
/// with read-ahead for sequential access and one shared fetch per block. Thread-safe.
/// </summary>
internal sealed partial class ContentReader : IAsyncDisposable
{
    // Read-ahead's window doubles each time the reader has consumed this fraction of it (see the header).
    private const int DoubleAfterFraction = 4;

    // A streamed read that arrives before its predecessor waits this long for it (the kernel sends a stream's reads
    // in order, but several daemon threads pick them up), then skips the gap if it is at most MaxStreamSkipBytes.
    private static readonly TimeSpan PredecessorWait = TimeSpan.FromMilliseconds(20);
    private const long MaxStreamSkipBytes = 4L * 1024 * 1024;

    private readonly Lock _gate = new();
    private readonly IContentSource _source;
    private readonly ContentReaderOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly ReadAheadSettings _readAheadSettings;
    private readonly int _blockSize;
    private readonly int _readAheadCap;
    private readonly int _diskWriteCap;

    private readonly MemoryTier _memory;                                  // guarded by _gate
    private readonly Dictionary<(ContentKey Key, long Start), Task<bool>> _randomFetches = []; // guarded by _gate
    private readonly List<TaskCompletionSource> _bufferWaiters = [];      // guarded by _gate
    private bool _disposed;                                               // guarded by _gate
    private int _pendingDiskWrites;                                       // guarded by _gate

    private readonly DiskTier _disk;
    private readonly Channel<Block> _diskWrites = Channel.CreateUnbounded<Block>();
    private readonly Task _diskWriter;
    private readonly CancellationTokenSource _disposeCts = new();
    private long _requests;
    private long _streamedBytes;

    public ContentReader(ScaiDriveClient client, ContentReaderOptions options, ILoggerFactory? loggerFactory, TimeProvider timeProvider)
        : this(new ClientContentSource(client), options, loggerFactory, timeProvider)
    {
    }

    internal ContentReader(IContentSource source, ContentReaderOptions options, ILoggerFactory? loggerFactory, TimeProvider timeProvider)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.BlockSizeBytes, 4096);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxReadAheadRequests, 1);
        _source = source;
        _options = options;
        _timeProvider = timeProvider;
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<ContentReader>();
        _blockSize = options.BlockSizeBytes;
        int capacity = (int)Math.Clamp(options.MemoryBudgetBytes / _blockSize, 2, int.MaxValue);
        _readAheadCap = capacity - Math.Max(1, capacity / 4);
        _diskWriteCap = (int)Math.Clamp((options.DiskWriteBacklogBytes ?? options.MemoryBudgetBytes / 4) / _blockSize, 1, capacity);
        _memory = new MemoryTier(new BlockPool(_blockSize, capacity));
        _readAheadSettings = new ReadAheadSettings(
            AlignUp(Math.Max(options.InitialReadAheadBytes, _blockSize)),
            AlignUp(Math.Max(options.MaxReadAheadBytes, options.InitialReadAheadBytes)),
            options.SeekToleranceBytes,
            DoubleAfterFraction);
        _disk = new DiskTier(options.CacheDirectory, options.DiskLimitBytes, _logger);
        _diskWriter = Task.Run(RunDiskWriterAsync);
    }

    public ReadState CreateReadState() => new(_readAheadSettings);

    /// <summary>Reads from <paramref name="offset"/>; returns bytes read, 0 at or past the end. Throws ScaiDriveApiException (ContentChanged when the server's version moved on).</summary>
    public async ValueTask<int> ReadAsync(ContentKey key, long offset, Memory<byte> destination, ReadState state, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (offset >= key.Size || destination.IsEmpty)
        {
            return 0;
        }

        int length = (int)Math.Min(destination.Length, key.Size - offset);
        destination = destination[..length];

        MemoryContent? content;
        CancellationTokenSource? cancelReadAhead;
        StreamedRun? endedRun = null;
        bool random = false;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            content = _memory.GetOrCreate(key);
            if (content is null)
            {
                cancelReadAhead = null;
            }
            else
            {
                cancelReadAhead = ObserveUnsynchronized(state, key, offset, length, out endedRun);
                if (IsRandomSmallMissUnsynchronized(state, content, offset, length))
                {
                    random = true;
                }
                else
                {
                    StartMissingUnsynchronized(content, offset, offset + length);
                    PumpReadAheadUnsynchronized(state, content);
                }
            }
        }

        cancelReadAhead?.Cancel();
        endedRun?.Dispose();
        if (random)
        {
            if (await TryReadRandomAsync<object?>(key, offset, length, destination, reply: null, replyArgument: null, cancellationToken))
            {
                return length;
            }

            // Null (a newer version is cached): the bypass below.
            content = StartMissingFallback(key, offset, length);
        }

        if (content is null)
        {
            // A newer version is cached: this handle reads a stale version; serve it without caching.
            Interlocked.Increment(ref _requests);
            int n = await _source.ReadRangeAsync(key, offset, destination, cancellationToken);
            return n == length ? n : throw ShortRead(key);
        }

        int done = 0;
        while (done < length)
        {
            long position = offset + done;
            long index = position / _blockSize;
            int inBlock = (int)(position - (index * _blockSize));
            int count = Math.Min(length - done, _blockSize - inBlock);
            content = await ReadFromBlockAsync<object?>(content, index, inBlock, destination.Slice(done, count), count, reply: null, replyArgument: null, cancellationToken);
            done += count;
        }

        return length;
    }

    /// <summary>
    /// Serves a read that lies inside one block by handing <paramref name="reply"/> the cached bytes themselves, while
    /// the block is pinned, instead of copying them into a caller's buffer (the FUSE reply then copies them straight
    /// into the kernel). Returns false, having done nothing, when the read spans blocks, starts at or past the end,
    /// or reads a version older than the one cached: the caller then uses <see cref="ReadAsync"/>. When it returns
    /// true, <paramref name="reply"/> was called exactly once, as the last thing, with 1..<paramref name="length"/>
    /// bytes (fewer only at the end of the content); when it throws, reply was not called.
    /// </summary>
    public async ValueTask<bool> TryReadInPlaceAsync<TArg>(
        ContentKey key, long offset, int length, ReadState state, ReadOnlySpanAction<byte, TArg> reply, TArg replyArgument, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (offset >= key.Size || length <= 0)
        {
            return false;
        }

        length = (int)Math.Min(length, key.Size - offset);
        long index = offset / _blockSize;
        if ((offset + length - 1) / _blockSize != index)
        {
            return false;
        }

        MemoryContent? content;
        CancellationTokenSource? cancelReadAhead;
        StreamedRun? endedRun = null;
        bool random;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            content = _memory.GetOrCreate(key);
            if (content is null)
            {
                return false;
            }

            cancelReadAhead = ObserveUnsynchronized(state, key, offset, length, out endedRun);
            random = IsRandomSmallMissUnsynchronized(state, content, offset, length);
            if (!random)
            {
                StartMissingUnsynchronized(content, offset, offset + length);
                PumpReadAheadUnsynchronized(state, content);
            }
        }

        cancelReadAhead?.Cancel();
        endedRun?.Dispose();
        if (random)
        {
            if (await TryReadRandomAsync(key, offset, length, Memory<byte>.Empty, reply, replyArgument, cancellationToken))
            {
                return true;
            }

            content = StartMissingFallback(key, offset, length);
            if (content is null)
            {
                return false;
            }
        }

        await ReadFromBlockAsync(content, index, (int)(offset - (index * _blockSize)), Memory<byte>.Empty, length, reply, replyArgument, cancellationToken);
        return true;
    }

    /// <summary>Stops read-ahead of a closed handle.</summary>
    public void Release(ReadState state)
    {
        CancellationTokenSource? cancel;
        StreamedRun? run;
        lock (_gate)
        {
            state.Released = true;
            cancel = state.Cancellation;
            state.Cancellation = null;
            run = state.Streamed;
            state.Streamed = null;
        }

        cancel?.Cancel();
        run?.Dispose();
    }

    /// <summary>Drops every cached version of a file (deleted, or a new version arrived and old ones are useless).</summary>
    public void Invalidate(FileId fileId)
    {
        lock (_gate)
        {
            _memory.Invalidate(fileId);
            NotifyBufferWaitersUnsynchronized();
        }

        _disk.Invalidate(fileId);
    }

    public long MemoryBytesUsed
    {
        get
        {
            lock (_gate)
            {
                return (long)_memory.Pool.InUse * _blockSize;
            }
        }
    }

    public long DiskBytesUsed => _disk.BytesUsed;

    /// <summary>Bytes answered by <see cref="TryReadStreamed"/> so far.</summary>
    public long StreamedBytes => Interlocked.Read(ref _streamedBytes);

    /// <summary>Highest <see cref="MemoryBytesUsed"/> ever seen.</summary>
    internal long PeakMemoryBytesUsed
    {
        get
        {
            lock (_gate)
            {
                return (long)_memory.Pool.PeakInUse * _blockSize;
            }
        }
    }

    /// <summary>Requests sent to the source (demand, read-ahead and bypass), for tests and statistics.</summary>
    internal long RequestCount => Interlocked.Read(ref _requests);

    public async ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            NotifyBufferWaitersUnsynchronized();
        }

        await _disposeCts.CancelAsync();
        _diskWrites.Writer.TryComplete();
        await _diskWriter;
        _disk.Dispose();
        _disposeCts.Dispose();
    }

    // ---- streamed runs --------------------------------------------------------------------------------

    /// <summary>
    /// Answers a read of a streamed run by handing its stream to <paramref name="reply"/> (see the header). Blocks the
    /// calling thread: it waits for the stream to open, for the reads before this one, and for the bytes. Returns
    /// false, having answered nothing, when the read is not the stream's to serve (no run, a read behind the stream, a
    /// seek, a stream that broke or was declined): the caller then reads the ordinary way.
    /// </summary>
    public bool TryReadStreamed<TArg>(ContentKey key, long offset, int length, ReadState state, StreamedReply<TArg> reply, TArg replyArgument)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (offset >= key.Size || length <= 0)
        {
            return false;
        }

        length = (int)Math.Min(length, key.Size - offset);
        StreamedRun? run;
        StreamedRun? endedRun;
        CancellationTokenSource? cancelReadAhead;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            run = state.Streamed;
            if (run is null || run.Broken || run.Key != key || offset < run.Start || state.Released)
            {
                return false;
            }

            cancelReadAhead = ObserveUnsynchronized(state, key, offset, length, out endedRun);
        }

        cancelReadAhead?.Cancel();
        if (endedRun is not null)
        {
            EndRun(endedRun, "a seek");
            return false;
        }

        IDirectContent? content;
        try
        {
            content = run.Opening!.GetAwaiter().GetResult();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Cancelled (a release raced us), the client disposed, anything: the ordinary path reports real errors.
            content = null;
        }

        if (content is null)
        {
            EndRun(run, "the server declined the stream");
            return false;
        }

        lock (run.Sync)
        {
            long seen = -1;
            while (!run.Broken && run.Position < offset)
            {
                if (run.Position != seen)
                {
                    // Progress since we last looked: the read before this one may be on its way.
                    seen = run.Position;
                    Monitor.Wait(run.Sync, PredecessorWait);
                    continue;
                }

                if (offset - run.Position > MaxStreamSkipBytes || !TrySkip(content, offset - run.Position))
                {
                    EndRun(run, $"a gap of {offset - run.Position} bytes");
                    return false;
                }

                run.Position = offset;
            }

            if (run.Broken || run.Position != offset)
            {
                // Behind the stream (a re-read of what it already delivered) or ended meanwhile.
                return false;
            }

            bool replied = false;
            try
            {
                replied = reply(new StreamedContent(content), length, replyArgument);
            }
            finally
            {
                if (replied && content.Position == offset + length)
                {
                    run.Position = offset + length;
                    Interlocked.Add(ref _streamedBytes, length);
                }
                else
                {
                    EndRun(run, replied ? "the reply took the wrong number of bytes" : "the stream broke");
                }

                Monitor.PulseAll(run.Sync);
            }

            return replied;
        }
    }

    private void StartStreamedRunUnsynchronized(ReadState state, ContentKey key, long start)
    {
        var cancellation = CancellationTokenSource.CreateLinkedTokenSource(_disposeCts.Token);
        var run = new StreamedRun(key, start, cancellation);
        // The reader's disposal ends every run it started.
        cancellation.Token.Register(static r => ((StreamedRun)r!).Dispose(), run);
        Interlocked.Increment(ref _requests);
        run.Opening = Task.Run(() => _source.TryOpenDirect(key, start, cancellation.Token), cancellation.Token);
        state.Streamed = run;
        ReadingLog.StreamedRunStarted(_logger, key.FileId, key.Version, start);
    }

    private void EndRun(StreamedRun run, string reason)
    {
        if (!run.Broken)
        {
            ReadingLog.StreamedRunEnded(_logger, run.Key.FileId, run.Key.Version, run.Position, reason);
        }

        run.Dispose();
    }

    /// <summary>Reads and drops <paramref name="count"/> bytes of the stream; false when it broke.</summary>
    private static bool TrySkip(IDirectContent content, long count)
    {
        byte[] scratch = ArrayPool<byte>.Shared.Rent(256 * 1024);
        try
        {
            while (count > 0)
            {
                count -= content.Read(scratch.AsSpan(0, (int)Math.Min(count, scratch.Length)));
            }

            return true;
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            // Broken, or closed under us by a release or a seek on another thread.
            return false;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    // ---- serving one block ---------------------------------------------------------------------------

    /// <summary>
    /// Serves <paramref name="count"/> bytes of one block: copied into <paramref name="destination"/>, or, with
    /// <paramref name="reply"/>, handed to it in place (pinned) and nothing copied.
    /// </summary>
    private async ValueTask<MemoryContent> ReadFromBlockAsync<TArg>(
        MemoryContent content, long index, int inBlock, Memory<byte> destination, int count, ReadOnlySpanAction<byte, TArg>? reply, TArg replyArgument, CancellationToken cancellationToken)
    {
        // A read-ahead stream may break off or be cancelled by its handle; its blocks are then fetched on demand.
        // The bound only guards against a pathological loop of such failures.
        int streamFailures = 0;
        while (true)
        {
            Block? block;
            Task? waitForBuffer = null;
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                if (content.Detached)
                {
                    // Invalidated or replaced while we read: continue on the current entry of the same key.
                    content = _memory.GetOrCreate(content.Key) ?? throw new ScaiDriveApiException(
                        ScaiDriveErrorKind.ContentChanged, "A newer version of the file replaced the one being read.");
                }

                if (content.Blocks.TryGetValue(index, out block))
                {
                    block.Pins++;
                    _memory.Touch(block);
                }
            }

            if (block is null)
            {
                long position = (index * _blockSize) + inBlock;
                if (reply is null)
                {
                    if (await _disk.TryReadAsync(content.Key, position, destination, cancellationToken))
                    {
                        return content;
                    }
                }
                else
                {
                    byte[] rented = ArrayPool<byte>.Shared.Rent(count);
                    try
                    {
                        if (await _disk.TryReadAsync(content.Key, position, rented.AsMemory(0, count), cancellationToken))
                        {
                            reply(rented.AsSpan(0, count), replyArgument);
                            return content;
                        }
                    }
                    finally
                    {
                        ArrayPool<byte>.Shared.Return(rented);
                    }
                }

                lock (_gate)
                {
                    if (!content.Detached && !content.Blocks.ContainsKey(index))
                    {
                        if (_memory.TryAllocate(spareReadAhead: false) is { } buffer)
                        {
                            StartFetchUnsynchronized(content, [_memory.AddBlock(content, index, buffer, BlockOrigin.Demand, readAhead: false)], BlockOrigin.Demand, state: null);
                        }
                        else
                        {
                            var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                            _bufferWaiters.Add(waiter);
                            waitForBuffer = waiter.Task;
                        }
                    }
                }

                if (waitForBuffer is not null)
                {
                    await waitForBuffer.WaitAsync(cancellationToken);
                }

                continue;
            }

            try
            {
                if (block.State == BlockState.Fetching)
                {
                    await block.Completion.Task.WaitAsync(cancellationToken);
                }

                // Completion happens after State and Error are set, so both are stable here.
                if (block.State == BlockState.Ready)
                {
                    if (reply is null)
                    {
                        block.Buffer!.AsSpan(inBlock, count).CopyTo(destination.Span);
                    }
                    else
                    {
                        reply(block.Buffer!.AsSpan(inBlock, count), replyArgument);
                    }

                    return content;
                }

                Exception error = block.Error!;
                bool fetchAgain = block.Origin == BlockOrigin.Stream
                    && error is not ScaiDriveApiException { IsTransient: false }
                    && ++streamFailures <= 3;
                if (!fetchAgain)
                {
                    ExceptionDispatchInfo.Throw(error);
                }
            }
            finally
            {
                lock (_gate)
                {
                    _memory.Unpin(block);
                    NotifyBufferWaitersUnsynchronized();
                }
            }
        }
    }

    /// <summary>The disk tier could not take a random read's range: fetch its blocks as usual. Null: a newer version is cached.</summary>
    private MemoryContent? StartMissingFallback(ContentKey key, long offset, int length)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            MemoryContent? content = _memory.GetOrCreate(key);
            if (content is not null)
            {
                StartMissingUnsynchronized(content, offset, offset + length);
            }

            return content;
        }
    }

    // ---- small reads during random access -------------------------------------------------------------

    /// <summary>
    /// True for a read that should not cost a whole block: the handle is not in a sequential run, the read is small,
    /// the file is not fetched whole, and no block of the read is in memory (or on its way there).
    /// </summary>
    private bool IsRandomSmallMissUnsynchronized(ReadState state, MemoryContent content, long offset, int length)
    {
        int unit = _options.RandomFetchBytes;
        if (unit <= 0 || length > unit || state.Released || state.Policy.Window != 0 || content.Key.Size <= _options.SmallFileThresholdBytes)
        {
            return false;
        }

        long first = offset / _blockSize;
        long last = (offset + length - 1) / _blockSize;
        for (long index = first; index <= last; index++)
        {
            if (content.Blocks.ContainsKey(index))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Serves a small random read from the disk tier, after (when it misses) one ranged request for the aligned
    /// <see cref="ContentReaderOptions.RandomFetchBytes"/> around it, which lands in the disk tier; the next small
    /// read nearby is then a disk hit (page cache, microseconds). One fetch per range at a time: concurrent readers of
    /// the range wait for the same fetch, which runs on the reader's lifetime, not a caller's token. Returns false
    /// when the disk tier could not keep the range (full, I/O error): the caller then uses the block path.
    /// </summary>
    private async ValueTask<bool> TryReadRandomAsync<TArg>(
        ContentKey key, long offset, int length, Memory<byte> destination, ReadOnlySpanAction<byte, TArg>? reply, TArg replyArgument, CancellationToken cancellationToken)
    {
        byte[]? rented = reply is null ? null : ArrayPool<byte>.Shared.Rent(length);
        try
        {
            Memory<byte> target = rented is null ? destination : rented.AsMemory(0, length);
            if (!await _disk.TryReadAsync(key, offset, target, cancellationToken))
            {
                int unit = _options.RandomFetchBytes;
                long start = offset / unit * unit;
                long end = Math.Min(key.Size, (offset + length + unit - 1) / unit * unit);
                Task<bool> fetch;
                lock (_gate)
                {
                    ObjectDisposedException.ThrowIf(_disposed, this);
                    if (!_randomFetches.TryGetValue((key, start), out Task<bool>? running))
                    {
                        Interlocked.Increment(ref _requests);
                        running = Task.Run(() => FetchRangeToDiskAsync(key, start, (int)(end - start), _disposeCts.Token));
                        _randomFetches.Add((key, start), running);
                    }

                    fetch = running;
                }

                if (!await fetch.WaitAsync(cancellationToken) || !await _disk.TryReadAsync(key, offset, target, cancellationToken))
                {
                    return false;
                }
            }

            if (reply is not null)
            {
                reply(rented.AsSpan(0, length), replyArgument);
            }

            return true;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>One ranged request into the disk tier; true when the disk tier kept it.</summary>
    private async Task<bool> FetchRangeToDiskAsync(ContentKey key, long start, int length, CancellationToken cancellationToken)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            int n = await _source.ReadRangeAsync(key, start, buffer.AsMemory(0, length), cancellationToken);
            if (n != length)
            {
                throw ShortRead(key);
            }

            lock (_gate)
            {
                // A newer version cached meanwhile: these bytes are of no use to anyone.
                if (_disposed || _memory.GetOrCreate(key) is null)
                {
                    return false;
                }
            }

            return _disk.Write(key, start, buffer.AsSpan(0, length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            lock (_gate)
            {
                _randomFetches.Remove((key, start));
            }
        }
    }

    // ---- starting fetches ----------------------------------------------------------------------------

    /// <summary>Starts demand fetches for the blocks of [start, end) found nowhere, so they overlap with each other and with read-ahead.</summary>
    private void StartMissingUnsynchronized(MemoryContent content, long start, long end)
    {
        long size = content.Key.Size;
        if (size <= _options.SmallFileThresholdBytes)
        {
            // Small files come whole in one request: the first miss fetches every block that is missing.
            start = 0;
            end = size;
        }

        List<Block>? run = null;
        for (long index = start / _blockSize; index * _blockSize < end; index++)
        {
            long blockStart = index * _blockSize;
            bool present = content.Blocks.ContainsKey(index)
                || _disk.Contains(content.Key, blockStart, Math.Min(blockStart + _blockSize, size));
            byte[]? buffer = present ? null : _memory.TryAllocate(spareReadAhead: false);
            if (buffer is null)
            {
                // Present, or no buffer now: the read loop waits for one.
                FlushDemandRunUnsynchronized(content, ref run);
                continue;
            }

            (run ??= []).Add(_memory.AddBlock(content, index, buffer, BlockOrigin.Demand, readAhead: false));
            if (size > _options.SmallFileThresholdBytes)
            {
                FlushDemandRunUnsynchronized(content, ref run);
            }
        }

        FlushDemandRunUnsynchronized(content, ref run);
    }

    private void FlushDemandRunUnsynchronized(MemoryContent content, ref List<Block>? run)
    {
        if (run is { Count: > 0 })
        {
            // One block: a retried ranged read. Several (a small file): one stream, re-fetched on demand if it breaks.
            BlockOrigin origin = run.Count == 1 ? BlockOrigin.Demand : BlockOrigin.Stream;
            StartFetchUnsynchronized(content, [.. run], origin, state: null);
            run.Clear();
        }
    }

    /// <summary>Feeds the policy; returns a read-ahead to cancel (outside the lock) when the read ended a sequential run.</summary>
    /// <remarks>A streamed run the read ended comes back in <paramref name="endedRun"/>, to be disposed outside the lock.</remarks>
    private CancellationTokenSource? ObserveUnsynchronized(ReadState state, ContentKey key, long offset, int length, out StreamedRun? endedRun)
    {
        endedRun = null;
        if (state.Released)
        {
            return null;
        }

        CancellationTokenSource? cancel = null;
        if (state.Key != key)
        {
            cancel = state.Cancellation;
            state.Cancellation = null;
            state.Policy = new ReadAheadPolicy(state.Settings);
            state.Key = key;
            state.PrefetchEnd = 0;
            endedRun = state.Streamed;
            state.Streamed = null;
        }

        if (state.Policy.Observe(offset, length) == ReadAheadObservation.Reset)
        {
            cancel ??= state.Cancellation;
            state.Cancellation = null;
            state.PrefetchEnd = 0;
            endedRun ??= state.Streamed;
            state.Streamed = null;
        }

        state.LastReadOffset = offset;
        return cancel;
    }

    private void PumpReadAheadUnsynchronized(ReadState state, MemoryContent content)
    {
        if (state.Released || _disposed || content.Detached || state.Key != content.Key || state.Policy.Window == 0)
        {
            return;
        }

        if (state.Streamed is { } streamed && streamed.Key == content.Key)
        {
            if (!streamed.Broken)
            {
                // The run's stream is its read-ahead now.
                return;
            }
        }
        else if (_options.StreamedReadsFromBytes is { } streamFrom && _source.CanOpenDirect && state.PrefetchEnd >= streamFrom
            && content.Key.Size - state.PrefetchEnd >= 4L * _blockSize)
        {
            StartStreamedRunUnsynchronized(state, content.Key, state.PrefetchEnd);
            return;
        }

        long size = content.Key.Size;
        long desiredEnd = Math.Min(AlignUp(state.Policy.DesiredEnd), AlignUp(size));
        long requestBytes = Math.Clamp(AlignDown(state.Policy.Window / _options.MaxReadAheadRequests), _blockSize, Math.Max(_blockSize, AlignDown(_options.MaxRequestBytes)));
        long position = Math.Max(state.PrefetchEnd, AlignDown(state.LastReadOffset));
        while (position < desiredEnd && state.InFlight < _options.MaxReadAheadRequests)
        {
            // Only whole requests (or the file's tail): topping up the window a block at a time as the reader
            // creeps forward would turn read-ahead into one small request per block.
            if (desiredEnd - position < requestBytes && desiredEnd < AlignUp(size))
            {
                break;
            }

            long requestEnd = Math.Min(position + requestBytes, desiredEnd);
            List<Block>? run = null;
            bool starved = false;
            for (; position < requestEnd; position += _blockSize)
            {
                long index = position / _blockSize;
                bool present = content.Blocks.ContainsKey(index)
                    || _disk.Contains(content.Key, position, Math.Min(position + _blockSize, size));
                if (present)
                {
                    StartReadAheadRunUnsynchronized(state, content, ref run);
                    continue;
                }

                byte[]? buffer = _memory.UnconsumedReadAhead < _readAheadCap ? _memory.TryAllocate(spareReadAhead: true) : null;
                if (buffer is null)
                {
                    starved = true;
                    break;
                }

                Block added = _memory.AddBlock(content, index, buffer, BlockOrigin.Stream, readAhead: true);
                added.SkipDisk = position >= _options.SequentialDiskLimitBytes;
                (run ??= []).Add(added);
            }

            if (starved && run is { Count: > 0 } && run[0].Offset >= AlignDown(state.LastReadOffset) + requestBytes)
            {
                // Short of buffers and not urgent: a partial request now would only split the stream into small
                // requests; give the buffers back and issue the whole request when the reader frees some.
                foreach (Block block in run)
                {
                    _memory.Abandon(block);
                }

                position = run[0].Offset;
                run = null;
            }

            StartReadAheadRunUnsynchronized(state, content, ref run);
            state.PrefetchEnd = position;
            if (starved)
            {
                break;
            }
        }
    }

    private void StartReadAheadRunUnsynchronized(ReadState state, MemoryContent content, ref List<Block>? run)
    {
        if (run is { Count: > 0 })
        {
            state.Cancellation ??= CancellationTokenSource.CreateLinkedTokenSource(_disposeCts.Token);
            state.InFlight++;
            StartFetchUnsynchronized(content, [.. run], BlockOrigin.Stream, state);
            run.Clear();
        }
    }

    private void StartFetchUnsynchronized(MemoryContent content, Block[] blocks, BlockOrigin origin, ReadState? state)
    {
        // Demand fetches run on the reader's lifetime, not a caller's token: other readers may wait on them.
        CancellationToken token = state?.Cancellation?.Token ?? _disposeCts.Token;
        Interlocked.Increment(ref _requests);
        _ = Task.Run(() => RunFetchAsync(content, blocks, origin, state, token));
    }

    // ---- fetching ------------------------------------------------------------------------------------

    private async Task RunFetchAsync(MemoryContent content, Block[] blocks, BlockOrigin origin, ReadState? state, CancellationToken cancellationToken)
    {
        ContentKey key = content.Key;
        int completed = 0;
        try
        {
            // Queued before a release or disposal and run after it: no request for what nobody will read.
            cancellationToken.ThrowIfCancellationRequested();
            if (origin == BlockOrigin.Demand)
            {
                Block block = blocks[0];
                int n = await _source.ReadRangeAsync(key, block.Offset, block.Buffer!.AsMemory(0, block.Length), cancellationToken);
                if (n != block.Length)
                {
                    throw ShortRead(key);
                }

                Complete(block);
                completed = 1;
            }
            else
            {
                long start = blocks[0].Offset;
                long length = blocks[^1].Offset + blocks[^1].Length - start;
                Stream stream = await _source.OpenRangeAsync(key, start, length, cancellationToken);
                await using (stream)
                {
                    foreach (Block block in blocks)
                    {
                        int n = await stream.ReadAtLeastAsync(block.Buffer!.AsMemory(0, block.Length), block.Length, throwOnEndOfStream: false, cancellationToken);
                        if (n != block.Length)
                        {
                            throw ShortRead(key);
                        }

                        Complete(block);
                        completed++;
                    }
                }
            }
        }
        catch (Exception ex)
        {
            if (state is not null && !cancellationToken.IsCancellationRequested)
            {
                ReadingLog.ReadAheadFailed(_logger, key.FileId, key.Version, blocks[completed].Offset, blocks[^1].Offset + blocks[^1].Length, ex);
            }

            lock (_gate)
            {
                for (int i = completed; i < blocks.Length; i++)
                {
                    _memory.MarkFailed(blocks[i], ex);
                }

                NotifyBufferWaitersUnsynchronized();
            }

            for (int i = completed; i < blocks.Length; i++)
            {
                blocks[i].Completion.TrySetResult();
            }
        }
        finally
        {
            if (state is not null)
            {
                lock (_gate)
                {
                    state.InFlight--;
                    PumpReadAheadUnsynchronized(state, content);
                }
            }
        }
    }

    private void Complete(Block block)
    {
        bool writeToDisk;
        lock (_gate)
        {
            _memory.MarkReady(block);
            // A disk slower than the network must not throttle reads: past a quarter of the budget waiting for the
            // disk, blocks stay in memory only (the disk tier misses them, nothing else).
            writeToDisk = block.InCache && !block.SkipDisk && !_disposed && _pendingDiskWrites < _diskWriteCap;
            if (writeToDisk)
            {
                // The disk writer holds this pin until the bytes are on disk.
                block.Pins++;
                _pendingDiskWrites++;
            }

            NotifyBufferWaitersUnsynchronized();
        }

        block.Completion.TrySetResult();
        if (writeToDisk && !_diskWrites.Writer.TryWrite(block))
        {
            lock (_gate)
            {
                _pendingDiskWrites--;
                _memory.Unpin(block);
            }
        }
    }

    // ---- write-behind to the disk tier ----------------------------------------------------------------

    private async Task RunDiskWriterAsync()
    {
        ChannelReader<Block> reader = _diskWrites.Reader;
        bool unrecorded = false;
        long lastRecord = _timeProvider.GetTimestamp();
        try
        {
            while (true)
            {
                if (reader.TryRead(out Block? block))
                {
                    WriteToDisk(block);
                    unrecorded = true;
                    if (_timeProvider.GetElapsedTime(lastRecord) >= _options.DiskRecordInterval)
                    {
                        _disk.Flush();
                        unrecorded = false;
                        lastRecord = _timeProvider.GetTimestamp();
                    }

                    continue;
                }

                if (unrecorded)
                {
                    // Idle with unrecorded ranges: record them after a pause rather than after every block.
                    Task<bool> more = reader.WaitToReadAsync().AsTask();
                    Task pause = Task.Delay(_options.DiskRecordInterval, _timeProvider);
                    if (await Task.WhenAny(more, pause) == pause)
                    {
                        _disk.Flush();
                        unrecorded = false;
                        lastRecord = _timeProvider.GetTimestamp();
                    }
                    else if (!await more)
                    {
                        break;
                    }

                    continue;
                }

                if (!await reader.WaitToReadAsync())
                {
                    break;
                }
            }
        }
        catch (Exception ex)
        {
            ReadingLog.DiskWriterStopped(_logger, ex);
            while (reader.TryRead(out Block? block))
            {
                lock (_gate)
                {
                    _pendingDiskWrites--;
                    _memory.Unpin(block);
                }
            }
        }
    }

    private void WriteToDisk(Block block)
    {
        try
        {
            bool current;
            lock (_gate)
            {
                current = block.InCache;
            }

            // The pin keeps the buffer ours; a block dropped meanwhile (invalidated, new version) is not written.
            if (current)
            {
                _disk.Write(block.Owner.Key, block.Offset, block.Buffer!.AsSpan(0, block.Length));
            }
        }
        finally
        {
            lock (_gate)
            {
                _pendingDiskWrites--;
                _memory.Unpin(block);
                NotifyBufferWaitersUnsynchronized();
            }
        }
    }

    // ---- helpers -------------------------------------------------------------------------------------

    private void NotifyBufferWaitersUnsynchronized()
    {
        if (_bufferWaiters.Count == 0)
        {
            return;
        }

        // Wake them all; each retries the allocation, and those that lose wait again.
        foreach (TaskCompletionSource waiter in _bufferWaiters)
        {
            waiter.TrySetResult();
        }

        _bufferWaiters.Clear();
    }

    private long AlignDown(long value) => value / _blockSize * _blockSize;

    private long AlignUp(long value) => (value + _blockSize - 1) / _blockSize * _blockSize;

    private static ScaiDriveApiException ShortRead(ContentKey key) => new(
        ScaiDriveErrorKind.ContentChanged, $"File {key.FileId} returned fewer bytes than its version {key.Version} holds.");
}
