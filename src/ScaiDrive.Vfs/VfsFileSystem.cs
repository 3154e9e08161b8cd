using System.Collections.Concurrent;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ScaiDrive.Client;
using ScaiDrive.Vfs.Errors;
using ScaiDrive.Vfs.Files;
using ScaiDrive.Vfs.Kernel;
using ScaiDrive.Vfs.Namespace;
using ScaiDrive.Vfs.Reading;
using ScaiDrive.Vfs.State;
using ScaiDrive.Vfs.Writing;

namespace ScaiDrive.Vfs;

/// <summary>
/// The platform-neutral filesystem: the one entry point of the adapters (FUSE, WinFsp) and of the in-process tests.
/// Inode-based, like the FUSE low-level API; path helpers serve WinFsp. Every method is thread-safe and may be
/// called concurrently; failures are <see cref="VfsException"/> (or <see cref="OperationCanceledException"/>).
/// </summary>
/// <remarks>
/// Split by concern: this file holds construction, lifecycle and status; <c>VfsFileSystem.Namespace.cs</c> the node
/// table and listings; <c>VfsFileSystem.Operations.cs</c> mkdir/rmdir/unlink/rename; <c>VfsFileSystem.Files.cs</c>
/// open/read/write/flush/release/setattr; <c>VfsFileSystem.Uploads.cs</c> what the upload queue reports back.
/// Lock order: a node's ContentGate (async, at most two, taken in inode order) → <see cref="_gate"/> → the leaf locks
/// inside <see cref="InodeMap"/> and <see cref="MetadataOverlay"/>. No lock is held across a server call, except a
/// node's ContentGate, which only orders operations on that one file's content.
/// </remarks>
public sealed partial class VfsFileSystem : IAsyncDisposable
{
    /// <summary>Inode of the mount root.</summary>
    public const ulong RootInode = 1;

    private const int MaxRecentErrors = 50;

    private readonly ScaiDriveClient _client;
    private readonly VfsOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly ContentReader _reader;
    private readonly UploadQueue _uploads;
    private readonly InodeMap _inodes;
    private readonly MetadataOverlay _overlay;
    private readonly MemoryCache _cache;
    private readonly InvalidationDispatcher _invalidations;
    private readonly string _stagingDirectory;
    private readonly DateTimeOffset _startedAt;

    // The namespace gate. Guards the node table below and every Node's identity, place, metadata and reference counts.
    private readonly Lock _gate = new();
    private readonly Dictionary<ulong, Node> _byInode = new();
    private readonly Dictionary<string, Node> _byId = new(StringComparer.Ordinal);
    private readonly Dictionary<StagedFileKey, Node> _byKey = new();
    // Recovered new files (journal of a previous run) waiting for their folder's first listing to place them.
    private readonly List<Node> _unplaced = new();
    // Nodes with AbandonedPlaces (a handful at most): listings and the change feed skip unknown files there.
    private readonly HashSet<Node> _abandoning = new();
    // Keys of new files unlinked before their upload was confirmed; bounded, oldest dropped.
    private readonly HashSet<StagedFileKey> _unlinkedKeys = new();
    // Upload results reported before AdoptRecovered made the recovered nodes; replayed right after it.
    private readonly List<(StagedFileKey Key, long Generation, FileItem? Item, UploadFailure? Failure)> _earlyResults = new();
    private bool _recoveryAdopted;
    private readonly Node _root;

    private readonly ConcurrentDictionary<ulong, OpenFile> _handles = new();
    // Upload results being applied on their own tasks (see VfsFileSystem.Uploads.cs).
    private readonly ConcurrentDictionary<Task, byte> _background = new();
    private long _nextHandle;

    // Guarded by _errorsGate (a leaf lock).
    private readonly Lock _errorsGate = new();
    private readonly Queue<VfsStatusError> _recentErrors = new();
    private int _failedUploads;
    private volatile bool _connected = true;
    private int _disposed;

    private VfsFileSystem(ScaiDriveClient client, VfsOptions options, ILoggerFactory loggerFactory, ContentReader reader, UploadQueue uploads, Node root)
    {
        _client = client;
        _options = options;
        _time = options.TimeProvider;
        _logger = loggerFactory.CreateLogger<VfsFileSystem>();
        _reader = reader;
        _uploads = uploads;
        _root = root;
        _startedAt = _time.GetUtcNow();
        _stagingDirectory = Path.Combine(options.CacheDirectory, "staging");
        string stateDirectory = Path.Combine(options.CacheDirectory, "state");
        _inodes = new InodeMap(stateDirectory);
        _overlay = new MetadataOverlay(stateDirectory);
        _cache = new MemoryCache(new MemoryCacheOptions { Clock = new TimeProviderClock(_time) });
        _invalidations = new InvalidationDispatcher(() => KernelNotifier, _logger);
        _byInode[RootInode] = root;
        if (root.Type == NodeType.ShareRoot)
        {
            _byId[root.ShareId.Value] = root;
        }

        _uploads.Uploaded += OnUploaded;
        _uploads.Failed += OnUploadFailed;
    }

    /// <summary>
    /// Builds the core over a client: loads the cache directory, replays the write journal (pending uploads resume),
    /// and starts following the change feed when <see cref="VfsOptions.FollowChanges"/>.
    /// </summary>
    public static async Task<VfsFileSystem> CreateAsync(ScaiDriveClient client, VfsOptions options, ILoggerFactory? loggerFactory = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(options);
        loggerFactory ??= NullLoggerFactory.Instance;
        string cache = Path.GetFullPath(options.CacheDirectory);
        options = options with { CacheDirectory = cache };
        foreach (string sub in new[] { "blocks", "staging", "journal", "recovery", "state" })
        {
            Directory.CreateDirectory(Path.Combine(cache, sub));
        }

        Node root;
        try
        {
            if (options.Share is { } shareId)
            {
                ShareInfo share = await client.GetShareAsync(shareId, cancellationToken).ConfigureAwait(false);
                root = new Node(RootInode, NodeType.ShareRoot, share.Id, string.Empty) { Share = share, CreatedAt = share.CreatedAt ?? default };
            }
            else
            {
                root = new Node(RootInode, NodeType.VirtualRoot, default, string.Empty);
            }
        }
        catch (Exception ex) when (ApiErrorMapper.IsTranslatable(ex))
        {
            throw ApiErrorMapper.Translate(ex, "mount");
        }

        var reader = new ContentReader(
            client,
            new ContentReaderOptions
            {
                CacheDirectory = Path.Combine(cache, "blocks"),
                DiskLimitBytes = options.CacheMaxBytes,
                MemoryBudgetBytes = options.MemoryBudgetBytes,
                MaxReadAheadRequests = options.ReadAheadStreams,
                StreamedReadsFromBytes = options.StreamedReadsFromBytes,
            },
            loggerFactory,
            options.TimeProvider);
        var uploads = new UploadQueue(
            client,
            new UploadQueueOptions
            {
                JournalDirectory = Path.Combine(cache, "journal"),
                RecoveryDirectory = Path.Combine(cache, "recovery"),
                WriteBackDelay = options.WriteBackDelay,
                SmallUploadThreshold = options.SmallUploadThreshold,
                SendDuringWriteBackDelay = options.SendDuringWriteBackDelay,
            },
            loggerFactory,
            options.TimeProvider);

        var fs = new VfsFileSystem(client, options, loggerFactory, reader, uploads, root);
        try
        {
            IReadOnlyList<PendingUpload> pending = await uploads.RecoverAsync(cancellationToken).ConfigureAwait(false);
            fs.AdoptRecovered(pending);
            fs.SweepStaging(pending);
            if (options.FollowChanges)
            {
                fs.StartFollowingChanges(loggerFactory);
            }
        }
        catch
        {
            await fs.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return fs;
    }

    public VfsOptions Options => _options;

    /// <summary>Set by the adapter once the kernel side is live; the core sends invalidations through it.</summary>
    public IKernelCacheNotifier? KernelNotifier { get; set; }

    /// <summary>Invalidations delivered to <see cref="KernelNotifier"/> so far.</summary>
    internal long InvalidationsDelivered => _invalidations.Delivered;

    // ---- lifecycle -------------------------------------------------------------------------------

    public VfsStatus GetStatus()
    {
        long staged = 0;
        lock (_gate)
        {
            foreach (Node node in _byKey.Values)
            {
                staged += node.Staged?.Length ?? 0;
            }
        }

        UploadQueueStatus queue = _uploads.GetStatus();
        VfsStatusError[] errors;
        int failed;
        lock (_errorsGate)
        {
            errors = _recentErrors.ToArray();
            failed = _failedUploads;
        }

        return new VfsStatus
        {
            Connected = _connected,
            PendingUploads = queue.PendingCount,
            PendingUploadBytes = queue.PendingBytes,
            UploadedBytesInFlight = queue.InFlightBytesUploaded,
            FailedUploads = failed,
            CacheBytesUsed = _reader.DiskBytesUsed + staged,
            CacheBytesLimit = _options.CacheMaxBytes,
            StreamedReadBytes = _reader.StreamedBytes,
            RecentErrors = errors,
        };
    }

    /// <summary>Waits until every pending upload is on the server (or failed into the recovery folder). Used by unmount and SIGTERM.</summary>
    public async Task DrainAsync(IProgress<VfsStatus>? progress = null, CancellationToken cancellationToken = default)
    {
        // Content written but not yet closed has no journal record: make it durable first, as a close would.
        foreach (Node node in SnapshotNodes(n => n.Dirty && n.Staged is not null))
        {
            await node.ContentGate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await EnqueueIfNeededUnsynchronizedAsync(node, force: false, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                node.ContentGate.Release();
            }
        }

        // The queue uploads everything now (skipping the write-back delay); then each node takes its result.
        await _uploads.DrainAsync(progress is null ? null : new Progress<UploadQueueStatus>(_ => progress.Report(GetStatus())), cancellationToken).ConfigureAwait(false);
        while (true)
        {
            List<(Node Node, UploadRequest Request)> waiting = new();
            lock (_gate)
            {
                foreach (Node node in _byKey.Values)
                {
                    if (node.PendingRequest is { } request)
                    {
                        waiting.Add((node, request));
                    }
                }
            }

            if (waiting.Count == 0)
            {
                break;
            }

            foreach ((Node node, UploadRequest request) in waiting)
            {
                try
                {
                    FileItem? item = await _uploads.WaitForUploadAsync(request.Key, cancellationToken).ConfigureAwait(false);
                    if (item is not null)
                    {
                        await ApplyUploadedAsync(node, request.Key, request.Generation, item).ConfigureAwait(false);
                    }
                    else
                    {
                        ClearPendingIfCurrent(node, request);
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // Failed uploads went to the recovery folder and are reported through Failed; drain only waits.
                    await ApplyFailedAsync(node, request.Key).ConfigureAwait(false);
                    ClearPendingIfCurrent(node, request);
                }

                progress?.Report(GetStatus());
            }
        }

        await WaitForBackgroundAsync().ConfigureAwait(false);
        progress?.Report(GetStatus());
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // The follower first: a batch applied after the caches are gone would fail.
        await StopFollowingChangesAsync().ConfigureAwait(false);
        _uploads.Uploaded -= OnUploaded;
        _uploads.Failed -= OnUploadFailed;
        await _uploads.DisposeAsync().ConfigureAwait(false);
        await WaitForBackgroundAsync().ConfigureAwait(false);
        await _reader.DisposeAsync().ConfigureAwait(false);
        await _invalidations.DisposeAsync().ConfigureAwait(false);
        lock (_gate)
        {
            // Staged files stay on disk: the journal refers to those not yet uploaded.
            foreach (Node node in _byKey.Values)
            {
                node.Staged?.Dispose();
            }
        }

        _cache.Dispose();
        _overlay.Dispose();
        _inodes.Dispose();
    }

    // ---- shared helpers --------------------------------------------------------------------------

    private List<Node> SnapshotNodes(Func<Node, bool> predicate)
    {
        lock (_gate)
        {
            return _byInode.Values.Where(predicate).ToList();
        }
    }

    /// <summary>Waits for the upload results still being applied (drain and dispose must not outrun them).</summary>
    private async Task WaitForBackgroundAsync()
    {
        while (!_background.IsEmpty)
        {
            await Task.WhenAll(_background.Keys).ConfigureAwait(false);
        }
    }

    private void RecordError(string path, string message)
    {
        lock (_errorsGate)
        {
            _recentErrors.Enqueue(new VfsStatusError(_time.GetUtcNow(), path, message));
            while (_recentErrors.Count > MaxRecentErrors)
            {
                _recentErrors.Dequeue();
            }
        }
    }

    /// <summary>Translates and notes reachability: only the server's silence marks the mount disconnected.</summary>
    private VfsException Fail(Exception exception, string operation)
    {
        VfsException translated = ApiErrorMapper.Translate(exception, operation);
        if (translated.Code is VfsErrorCode.Unavailable or VfsErrorCode.TimedOut)
        {
            _connected = false;
        }

        return translated;
    }

    private void MarkConnected() => _connected = true;

    /// <summary>Removes staging files no journal record refers to (left by a crash between staging and close).</summary>
    private void SweepStaging(IReadOnlyList<PendingUpload> pending)
    {
        var keep = new HashSet<string>(pending.Select(p => Path.GetFullPath(p.Request.StagedPath)), StringComparer.Ordinal);
        foreach (string file in Directory.EnumerateFiles(_stagingDirectory))
        {
            if (!keep.Contains(Path.GetFullPath(file)))
            {
                try
                {
                    File.Delete(file);
                }
                catch (IOException)
                {
                }
            }
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Recovered {Count} pending uploads from the journal")]
    private partial void LogRecovered(int count);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "Upload of {Path} failed permanently: {Message}")]
    private partial void LogUploadFailed(string path, string message);

    [LoggerMessage(EventId = 3, Level = LogLevel.Debug, Message = "Listing of inode {Inode} changed while it was fetched; fetching again")]
    private partial void LogListingRaced(ulong inode);

    [LoggerMessage(EventId = 4, Level = LogLevel.Warning, Message = "Background step after an upload of {Path} failed")]
    private partial void LogBackgroundFailed(Exception exception, string path);
}
