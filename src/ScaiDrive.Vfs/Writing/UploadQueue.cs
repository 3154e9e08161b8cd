using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ScaiDrive.Client;

namespace ScaiDrive.Vfs.Writing;

/// <summary>The core's stable identity of a locally staged file; also names its staging file and journal record.</summary>
internal readonly record struct StagedFileKey(string Value)
{
    public static StagedFileKey New() => new("stg_" + Guid.NewGuid().ToString("N"));

    public override string ToString() => Value;
}

/// <summary>Where a staged file's content goes: a new file (ReplaceFileId null) or a new version of an existing one.</summary>
internal sealed record UploadTarget(ShareId ShareId, FolderId? FolderId, string Name, FileId? ReplaceFileId, VersionId? BaseVersionId);

/// <summary>One durable request: the staged file at <see cref="StagedPath"/>, <see cref="Length"/> bytes, is generation <see cref="Generation"/> of <see cref="Key"/>.</summary>
internal sealed record UploadRequest(StagedFileKey Key, UploadTarget Target, string StagedPath, long Length, long Generation)
{
    /// <summary>
    /// The SHA-256 the façade computed while the file was written in order (a hint, not journaled): the upload uses it
    /// instead of reading the file once more, and the server verifies it; null means the queue hashes the file itself.
    /// </summary>
    public SequentialContentHash? ContentHash { get; init; }

    /// <summary>
    /// A session the façade's <see cref="EarlyChunkSender"/> opened and filled while the file was written (not
    /// journaled itself: the queue journals it as this generation's session, marked resizable).
    /// </summary>
    public EarlySession? EarlySession { get; init; }
}

/// <summary>A journal record found at start-up: an upload a previous run did not finish.</summary>
internal sealed record PendingUpload(UploadRequest Request, UploadSessionId? SessionId);

internal sealed record UploadQueueOptions
{
    public required string JournalDirectory { get; init; }

    /// <summary>Where content goes when its upload failed permanently; never dropped.</summary>
    public required string RecoveryDirectory { get; init; }

    public TimeSpan WriteBackDelay { get; init; } = TimeSpan.FromSeconds(1);

    public long SmallUploadThreshold { get; init; } = 8L * 1024 * 1024;

    /// <summary>Files uploaded at once.</summary>
    public int FileParallelism { get; init; } = 8;

    /// <summary>Chunks of one resumable upload in flight.</summary>
    public int ChunkParallelism { get; init; } = 4;

    /// <summary>Chunk size of resumable sessions: a power of two, 64 KiB to 4 MiB (§8.2); 4 MiB is the most the server takes.</summary>
    public int ChunkSize { get; init; } = 4 * 1024 * 1024;

    /// <summary>First wait after a transient error; doubles per attempt up to <see cref="RetryMaxDelay"/>.</summary>
    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest wait between attempts: the server may be down for hours, the data waits in the journal.</summary>
    public TimeSpan RetryMaxDelay { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// A file longer than <see cref="SmallUploadThreshold"/> starts sending its chunks as soon as it is enqueued; only
    /// the commit (<c>/complete</c>, which makes the version) waits for the write-back delay. A newer generation within
    /// the delay cancels the transfer and aborts its session, as it cancels any upload in flight.
    /// </summary>
    public bool SendDuringWriteBackDelay { get; init; }

    /// <summary>
    /// A new file written in order sends its finished chunks while it is still being written (<see cref="EarlyChunkSender"/>),
    /// when the transport can resize sessions (our server's PATCH extension).
    /// </summary>
    public bool SendWhileWriting { get; init; } = true;
}

/// <summary>A permanent upload failure: the content is in <see cref="RecoveryPath"/> (or in <see cref="ConflictCopy"/>).</summary>
internal sealed record UploadFailure(UploadTarget Target, ScaiDriveErrorKind Kind, string Message, string? RecoveryPath)
{
    public UploadFailureDisposition Disposition { get; init; } = UploadFailureDisposition.MovedToRecovery;

    /// <summary>The "name (conflict …).ext" file the content was uploaded as, when <see cref="Disposition"/> is ConflictCopied.</summary>
    public FileItem? ConflictCopy { get; init; }

    public StagedFileKey Key { get; init; }

    public long Generation { get; init; }

    public DateTimeOffset FailedAt { get; init; }
}

/// <summary>
/// The durable write-back queue. <see cref="EnqueueAsync"/> returns once the staged file and a journal record are
/// fsync'd; the upload starts after the write-back delay, unless the key is held for writing again.
/// </summary>
/// <remarks>
/// Lock order: <c>_gate</c> is the only lock; it is never held across I/O, an await, a cancellation or an event.
/// A journal gate (a semaphore per key stripe, see <see cref="JournalGateOf"/>) serialises the journal writes of one key
/// and is taken before, never inside, <c>_gate</c>. It belongs to the key, not the entry: a key whose entry was just
/// removed (landed) may get a new entry at once, and the old entry's record removal must not interleave with the
/// new entry's record write. See README.md beside this file for the states, the journal format and the error policy.
/// </remarks>
internal sealed partial class UploadQueue : IAsyncDisposable
{
    private const int MaxConflictSteps = 6;
    private const int MaxChecksumRetries = 3;
    private const int MaxUnclassifiedAttempts = 8;
    private const int LandedMemory = 4096;
    private static readonly TimeSpan s_abortTimeout = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan s_drainProgressInterval = TimeSpan.FromMilliseconds(500);

    private readonly IUploadTransport _transport;
    private readonly UploadQueueOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly UploadJournal _journal;
    private readonly RecoveryFolder _recovery;
    private readonly SemaphoreSlim _fileSlots;
    private readonly CancellationTokenSource _disposeCts = new();

    private readonly Lock _gate = new();

    // Journal gates by key stripe: per key, whatever entry holds it (keys sharing a stripe merely wait for each other).
    private readonly SemaphoreSlim[] _journalGates = [.. Enumerable.Range(0, 64).Select(_ => new SemaphoreSlim(1, 1))];
    private readonly Dictionary<StagedFileKey, Entry> _entries = []; // guarded by _gate
    private readonly Dictionary<StagedFileKey, FileItem> _landed = []; // guarded by _gate; last file each key produced
    private readonly Queue<StagedFileKey> _landedOrder = new(); // guarded by _gate
    private readonly List<UploadFailure> _failures = []; // guarded by _gate
    private readonly HashSet<Task> _running = []; // guarded by _gate
    private TaskCompletionSource _changed = NewSignal(); // guarded by _gate; completed and replaced on every state change
    private long _transientErrors; // guarded by _gate
    private long _completed; // guarded by _gate
    private bool _disposed; // guarded by _gate

    public UploadQueue(ScaiDriveClient client, UploadQueueOptions options, ILoggerFactory? loggerFactory, TimeProvider timeProvider)
        : this(new ClientUploadTransport(client ?? throw new ArgumentNullException(nameof(client))), options, loggerFactory, timeProvider)
    {
    }

    internal UploadQueue(IUploadTransport transport, UploadQueueOptions options, ILoggerFactory? loggerFactory, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.FileParallelism, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.ChunkParallelism, 1);
        if (options.ChunkSize < 64 * 1024 || !int.IsPow2(options.ChunkSize))
        {
            throw new ArgumentOutOfRangeException(nameof(options), "ChunkSize must be a power of two of at least 64 KiB");
        }

        _transport = transport;
        _options = options;
        _time = timeProvider;
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<UploadQueue>();
        _journal = new UploadJournal(options.JournalDirectory);
        _recovery = new RecoveryFolder(options.RecoveryDirectory);
        _fileSlots = new SemaphoreSlim(options.FileParallelism, options.FileParallelism);
    }

    /// <summary>Raised after a generation reached the server (journal record already removed).</summary>
    public event Action<StagedFileKey, long, FileItem>? Uploaded;

    /// <summary>Raised after a permanent failure moved the content to the recovery folder (or into a conflict copy).</summary>
    public event Action<StagedFileKey, UploadFailure>? Failed;

    public int PendingCount
    {
        get
        {
            lock (_gate)
            {
                return _entries.Count;
            }
        }
    }

    public long PendingBytes
    {
        get
        {
            lock (_gate)
            {
                long total = 0;
                foreach (Entry entry in _entries.Values)
                {
                    total += entry.Request.Length;
                }

                return total;
            }
        }
    }

    /// <summary>Loads what a previous run left in the journal and schedules it; the core shows these files as local nodes.</summary>
    public Task<IReadOnlyList<PendingUpload>> RecoverAsync(CancellationToken cancellationToken)
    {
        IReadOnlyList<JournalRecord> records = _journal.LoadAll((path, ex) => LogCorruptRecord(path, ex));
        var pending = new List<PendingUpload>(records.Count);
        var recovered = new List<Entry>(records.Count);
        DateTimeOffset now = _time.GetUtcNow();
        foreach (JournalRecord record in records)
        {
            cancellationToken.ThrowIfCancellationRequested();
            UploadRequest request = record.ToRequest();
            if (!File.Exists(request.StagedPath))
            {
                ForgetMissingRecord(request, now);
                continue;
            }

            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                if (_entries.ContainsKey(request.Key))
                {
                    continue;
                }

                var entry = new Entry(request)
                {
                    SessionId = record.SessionId is null ? null : new UploadSessionId(record.SessionId),
                    SessionGeneration = record.SessionGeneration ?? -1,
                    SessionResizable = record.SessionResizable == true,
                    AttemptedSha256 = record.AttemptedSha256,
                    ConflictOf = record.ConflictOf,
                    StrayFileId = record.StrayFileId is null ? null : new FileId(record.StrayFileId),
                    EnqueuedAt = record.EnqueuedAt,
                    DueAt = now,
                };
                _entries.Add(request.Key, entry);
                recovered.Add(entry);
            }

            pending.Add(new PendingUpload(request, record.ResumableSession));
        }

        LogRecovered(pending.Count);
        foreach (Entry entry in recovered)
        {
            Schedule(entry);
        }

        return Task.FromResult<IReadOnlyList<PendingUpload>>(pending);
    }

    /// <summary>Records the request durably and schedules it (after the delay). A higher generation supersedes a lower one.</summary>
    public async ValueTask EnqueueAsync(UploadRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentOutOfRangeException.ThrowIfNegative(request.Length);

        Entry entry;
        bool isNew = false;
        CancellationTokenSource? toCancel = null;
        UploadSessionId? toAbortEarly = null;
        DateTimeOffset now = _time.GetUtcNow();
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            request = ApplyLandedUnsynchronized(request);
            if (!_entries.TryGetValue(request.Key, out Entry? existing))
            {
                entry = new Entry(request) { EnqueuedAt = now };
                _entries.Add(request.Key, entry);
                isNew = true;
            }
            else
            {
                entry = existing;
                if (request.Generation < entry.Request.Generation)
                {
                    return;
                }

                if (entry.Request.Target != request.Target)
                {
                    entry.TargetVersion++;
                }

                entry.Request = request;
                if (entry.State == UploadState.Uploading && (entry.UploadingGeneration != request.Generation || entry.UploadingTargetVersion != entry.TargetVersion))
                {
                    toCancel = entry.UploadCts;
                }
            }

            AdoptEarlySessionUnsynchronized(entry, request, ref toAbortEarly);
            entry.Held = false;
            entry.DueAt = Max(entry.Expedite ? now : now + _options.WriteBackDelay, entry.RetryNotBefore);
            SignalChangedUnsynchronized();
        }

        LogEnqueued(request.Key, request.Generation, request.Length);
        CancelQuietly(toCancel);
        if (toAbortEarly is { } unwanted)
        {
            _ = AbortQuietlyAsync(unwanted);
        }

        // A durable record must never point at content the disk may not have, so the record is renamed into place
        // only once the staged bytes and (for a new key) the staged file's directory entry are flushed. Those two
        // flushes and the record's temp-file fsync are independent and run at once: the disk sees one round of
        // flushes, then the record's directory fsync, instead of four in a row. (Concurrent fsyncs are left to the
        // kernel: ext4 already commits them in one journal transaction, and a user-space group commit that
        // serialised directory fsyncs measured slower with 8 concurrent closes: 3.0 vs 1.7 ms each.)
        Task contentDurable = MakeStagedDurableAsync(request.StagedPath, isNew);
        try
        {
            try
            {
                await WriteRecordAsync(entry, cancellationToken, contentDurable);
            }
            finally
            {
                // Observed on every path (a removed entry writes no record; a failed record write still waits here).
                await contentDurable;
            }
        }
        catch when (isNew && contentDurable.IsFaulted)
        {
            // The staged file cannot be made durable (it is gone, the disk failed): the close fails and, as nothing
            // was recorded, the key must not linger as pending either.
            lock (_gate)
            {
                if (_entries.TryGetValue(request.Key, out Entry? current) && current == entry && entry.State != UploadState.Uploading)
                {
                    RemoveEntryUnsynchronized(entry);
                    SignalChangedUnsynchronized();
                }
            }

            throw;
        }

        Schedule(entry);
    }

    private Task MakeStagedDurableAsync(string stagedPath, bool newEntry)
    {
        Task file = Task.Run(() => UploadJournal.FsyncFile(stagedPath));
        return newEntry && Path.GetDirectoryName(Path.GetFullPath(stagedPath)) is { } stagingDirectory
            ? Task.WhenAll(file, Task.Run(() => UploadJournal.FsyncDirectory(stagingDirectory)))
            : file;
    }

    private SemaphoreSlim JournalGateOf(StagedFileKey key) =>
        _journalGates[(StringComparer.Ordinal.GetHashCode(key.Value) & int.MaxValue) % _journalGates.Length];

    /// <summary>The file is open for writing again: cancel an in-flight upload of it and wait for the next EnqueueAsync.</summary>
    public void Hold(StagedFileKey key)
    {
        CancellationTokenSource? toCancel = null;
        lock (_gate)
        {
            if (!_entries.TryGetValue(key, out Entry? entry))
            {
                return;
            }

            entry.Held = true;
            entry.Timer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            if (entry.State == UploadState.Uploading)
            {
                toCancel = entry.UploadCts;
            }

            SignalChangedUnsynchronized();
        }

        CancelQuietly(toCancel);
    }

    /// <summary>
    /// Rename or move before the upload finished. A key with nothing pending is left alone: its file is on the server
    /// already and the caller renames it there.
    /// </summary>
    public async ValueTask RetargetAsync(StagedFileKey key, UploadTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        Entry? entry;
        CancellationTokenSource? toCancel = null;
        UploadSessionId? toAbort = null;
        FileId? toTrash = null;
        lock (_gate)
        {
            if (!_entries.TryGetValue(key, out entry))
            {
                return;
            }

            // "New file at the same place" is what the façade says for a file the queue has already made the key's.
            target = ApplyLandedUnsynchronized(entry.Request with { Target = target }).Target;
            if (entry.Request.Target == target)
            {
                return;
            }

            if (entry.UnreportedFileId is { } orphan && target.ReplaceFileId != orphan)
            {
                // The file the queue adopted for the key stays at the old place, unknown to the façade: it goes to the
                // trash, and the key uploads to its new place afresh (not as a version of what was trashed).
                toTrash = orphan;
                entry.UnreportedFileId = null;
                _landed.Remove(key);
            }

            entry.Request = entry.Request with { Target = target };
            entry.TargetVersion++;
            entry.ConflictOf = null;
            if (entry.State == UploadState.Uploading)
            {
                toCancel = entry.UploadCts;
            }
            else
            {
                toAbort = entry.SessionId;
                entry.SessionId = null;
            }

            SignalChangedUnsynchronized();
        }

        CancelQuietly(toCancel);
        await WriteRecordAsync(entry, cancellationToken);
        if (toAbort is { } session)
        {
            await AbortQuietlyAsync(session);
        }

        if (toTrash is { } trash)
        {
            LogAbandonedTrashed(key, trash, target.Name);
            await DeleteQuietlyAsync(trash);
        }

        Schedule(entry);
    }

    /// <summary>Deleted locally before it was uploaded: forget it (journal record removed).</summary>
    public async ValueTask CancelAsync(StagedFileKey key, CancellationToken cancellationToken)
    {
        Entry? entry;
        CancellationTokenSource? toCancel = null;
        UploadSessionId? toAbort = null;
        Task? run = null;
        lock (_gate)
        {
            _landed.Remove(key);
            if (!_entries.TryGetValue(key, out entry))
            {
                return;
            }

            RemoveEntryUnsynchronized(entry);
            if (entry.State == UploadState.Uploading)
            {
                toCancel = entry.UploadCts;
                run = entry.Run;
            }
            else
            {
                toAbort = entry.SessionId;
            }

            SignalChangedUnsynchronized();
        }

        CancelQuietly(toCancel);
        if (run is not null)
        {
            // The cancelled run trashes whatever it may have landed; the unlink is only complete once it has.
            await run.WaitAsync(cancellationToken);
        }

        // So is a file that an earlier abandoned POST of the key (a Hold, a newer generation) may still create, and a
        // file the queue made the key's without telling the façade (which therefore cannot trash it itself).
        await WaitForAbandonedAsync(entry, cancellationToken);
        FileId? unreported;
        lock (_gate)
        {
            unreported = entry.UnreportedFileId;
        }

        if (unreported is { } orphan)
        {
            LogAbandonedTrashed(key, orphan, entry.Request.Target.Name);
            await DeleteQuietlyAsync(orphan);
        }

        await RemoveRecordAsync(entry, cancellationToken);
        if (toAbort is { } session)
        {
            await AbortQuietlyAsync(session);
        }

        entry.Completion?.TrySetResult(null);
    }

    /// <summary>
    /// Completes when the latest enqueued generation of <paramref name="key"/> is on the server; throws its permanent
    /// error as <see cref="UploadFailedException"/>. Waiting skips the rest of the write-back delay (fsync wants it now).
    /// </summary>
    public Task<FileItem?> WaitForUploadAsync(StagedFileKey key, CancellationToken cancellationToken)
    {
        Entry? entry;
        TaskCompletionSource<FileItem?> completion;
        lock (_gate)
        {
            if (!_entries.TryGetValue(key, out entry))
            {
                return Task.FromResult(_landed.TryGetValue(key, out FileItem? item) ? item : null);
            }

            completion = entry.Completion ??= new TaskCompletionSource<FileItem?>(TaskCreationOptions.RunContinuationsAsynchronously);
            ExpediteUnsynchronized(entry);
        }

        Schedule(entry);
        return completion.Task.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// For unmount: uploads everything pending now (ignoring the write-back delay, not the backoff of a failing server) and
    /// returns when nothing but held keys is left, reporting progress meanwhile.
    /// </summary>
    public async Task DrainAsync(IProgress<UploadQueueStatus>? progress, CancellationToken cancellationToken)
    {
        List<Entry> expedite;
        lock (_gate)
        {
            expedite = [.. _entries.Values];
            foreach (Entry entry in expedite)
            {
                ExpediteUnsynchronized(entry);
            }
        }

        foreach (Entry entry in expedite)
        {
            Schedule(entry);
        }

        while (true)
        {
            Task changed;
            bool done;
            lock (_gate)
            {
                // Abandoned POSTs count: a file one of them created must be adopted or trashed before unmount says done.
                done = _entries.Values.All(e => e.Held) && !_posts.Any(p => p.Abandoned && !p.Settled.Task.IsCompleted);
                changed = _changed.Task;
            }

            progress?.Report(GetStatus());
            if (done)
            {
                return;
            }

            using var delayCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            Task tick = Task.Delay(s_drainProgressInterval, _time, delayCts.Token);
            await Task.WhenAny(changed, tick);
            await delayCts.CancelAsync();
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    public UploadQueueStatus GetStatus()
    {
        lock (_gate)
        {
            var items = new List<PendingUploadStatus>(_entries.Count);
            long pendingBytes = 0, inFlight = 0;
            int uploading = 0, held = 0, retrying = 0;
            foreach (Entry entry in _entries.Values)
            {
                UploadState state = entry.Held ? UploadState.Held : entry.State;
                long sent = Interlocked.Read(ref entry.BytesUploaded);
                pendingBytes += entry.Request.Length;
                switch (state)
                {
                    case UploadState.Uploading:
                        uploading++;
                        inFlight += sent;
                        break;
                    case UploadState.Held:
                        held++;
                        break;
                    case UploadState.RetryWait:
                        retrying++;
                        break;
                }

                items.Add(new PendingUploadStatus(
                    entry.Request.Key,
                    entry.Request.Target,
                    entry.Request.Length,
                    entry.Request.Generation,
                    state,
                    entry.Attempts,
                    state == UploadState.Uploading ? sent : 0,
                    entry.LastError,
                    state is UploadState.Waiting or UploadState.RetryWait ? entry.DueAt : null));
            }

            return new UploadQueueStatus(_entries.Count, pendingBytes, uploading, inFlight, held, retrying, _transientErrors, _completed, [.. _failures], items);
        }
    }

    /// <summary>
    /// Stops without draining: in-flight uploads are cancelled but their sessions are kept (not aborted) and every
    /// journal record stays, so the next <see cref="RecoverAsync"/> resumes them.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        Task[] running;
        List<Entry> entries;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            running = [.. _running];
            entries = [.. _entries.Values];
            foreach (Entry entry in entries)
            {
                entry.Timer?.Dispose();
                entry.Timer = null;
            }
        }

        await _disposeCts.CancelAsync();

        // A run cancelled here may hand its POST to a settling task that is not in the first snapshot: wait until none is left.
        while (running.Length > 0)
        {
            try
            {
                await Task.WhenAll(running);
            }
            catch (Exception)
            {
                // Each run logs its own failure; disposal only waits for them to stop.
            }

            lock (_gate)
            {
                running = [.. _running.Where(t => !t.IsCompleted)];
            }
        }

        foreach (Entry entry in entries)
        {
            entry.Completion?.TrySetCanceled();
        }

        _disposeCts.Dispose();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    private static void CancelQuietly(CancellationTokenSource? cts)
    {
        if (cts is null)
        {
            return;
        }

        try
        {
            cts.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The run finished and disposed it meanwhile: nothing left to cancel.
        }
    }

    /// <summary>
    /// Someone waits for this key (fsync, unmount): from now on it skips the write-back delay, including for a newer
    /// generation or after the current run ends. A transient error's backoff still holds.
    /// </summary>
    private void ExpediteUnsynchronized(Entry entry)
    {
        entry.Expedite = true;
        if (entry.State != UploadState.Uploading)
        {
            entry.DueAt = Min(entry.DueAt, Max(_time.GetUtcNow(), entry.RetryNotBefore));
        }

        SignalChangedUnsynchronized(); // a transfer waiting to commit (SendDuringWriteBackDelay) commits now
    }

    /// <summary>The key is done (landed, failed or cancelled): no timer may start it again.</summary>
    private void RemoveEntryUnsynchronized(Entry entry)
    {
        entry.Removed = true;
        entry.Timer?.Dispose();
        entry.Timer = null;
        _entries.Remove(entry.Request.Key);
    }

    private void SignalChangedUnsynchronized()
    {
        _changed.TrySetResult();
        _changed = NewSignal();
    }

    /// <summary>
    /// A key whose earlier generation we uploaded as a new file must now replace that file, whatever the caller still
    /// thinks; and a replace based on a version we superseded ourselves is rebased on the version we made.
    /// </summary>
    private UploadRequest ApplyLandedUnsynchronized(UploadRequest request)
    {
        if (!_landed.TryGetValue(request.Key, out FileItem? landed))
        {
            return request;
        }

        UploadTarget target = request.Target;
        if (target.ReplaceFileId is null
            && target.ShareId == landed.ShareId
            && target.FolderId == landed.FolderId
            && string.Equals(target.Name, landed.Name, StringComparison.Ordinal))
        {
            return request with { Target = target with { ReplaceFileId = landed.Id, BaseVersionId = landed.VersionId } };
        }

        if (target.ReplaceFileId == landed.Id && landed.VersionId is { } produced && target.BaseVersionId != produced)
        {
            return request with { Target = target with { BaseVersionId = produced } };
        }

        return request;
    }

    private void RememberLandedUnsynchronized(StagedFileKey key, FileItem item)
    {
        if (_landed.TryAdd(key, item))
        {
            _landedOrder.Enqueue(key);
            while (_landedOrder.Count > LandedMemory && _landedOrder.TryDequeue(out StagedFileKey old))
            {
                _landed.Remove(old);
            }
        }
        else
        {
            _landed[key] = item;
        }
    }

    private void Schedule(Entry entry)
    {
        lock (_gate)
        {
            if (_disposed || entry.Removed || entry.Held || entry.State == UploadState.Uploading)
            {
                return;
            }

            DateTimeOffset now = _time.GetUtcNow();
            TimeSpan wait = entry.DueAt - now;
            if (wait <= TimeSpan.Zero || SendsDuringDelayUnsynchronized(entry, now))
            {
                StartUnsynchronized(entry);
                return;
            }

            if (entry.Timer is null)
            {
                entry.Timer = _time.CreateTimer(static state => ((TimerState)state!).Fire(), new TimerState(this, entry), wait, Timeout.InfiniteTimeSpan);
            }
            else
            {
                entry.Timer.Change(wait, Timeout.InfiniteTimeSpan);
            }
        }
    }

    /// <summary>Transfer now, commit when due (see <see cref="UploadQueueOptions.SendDuringWriteBackDelay"/>); never during a backoff.</summary>
    private bool SendsDuringDelayUnsynchronized(Entry entry, DateTimeOffset now) =>
        _options.SendDuringWriteBackDelay && entry.Request.Length > _options.SmallUploadThreshold && entry.RetryNotBefore <= now;

    private void StartUnsynchronized(Entry entry)
    {
        entry.Timer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        entry.State = UploadState.Uploading;
        entry.UploadingGeneration = entry.Request.Generation;
        entry.UploadingTargetVersion = entry.TargetVersion;
        Interlocked.Exchange(ref entry.BytesUploaded, 0);
        var cts = CancellationTokenSource.CreateLinkedTokenSource(_disposeCts.Token);
        entry.UploadCts = cts;
        Task run = Task.Run(() => RunAsync(entry, cts));
        entry.Run = run;
        TrackUnsynchronized(run);
        SignalChangedUnsynchronized();
    }

    /// <summary>A background task of the queue (a run, an abandoned POST's settling) that disposal waits for.</summary>
    private void TrackUnsynchronized(Task task)
    {
        _running.Add(task);
        _ = task.ContinueWith(
            finished =>
            {
                lock (_gate)
                {
                    _running.Remove(finished);
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    /// <param name="before">When given, the record only replaces the old one once this completed (see <see cref="UploadJournal.WriteAsync"/>).</param>
    private async ValueTask WriteRecordAsync(Entry entry, CancellationToken cancellationToken, Task? before = null)
    {
        SemaphoreSlim journalGate = JournalGateOf(entry.Request.Key);
        await journalGate.WaitAsync(cancellationToken);
        try
        {
            JournalRecord record;
            lock (_gate)
            {
                if (entry.Removed)
                {
                    return;
                }

                record = entry.ToRecordUnsynchronized();
            }

            await _journal.WriteAsync(record, cancellationToken, before);
        }
        finally
        {
            journalGate.Release();
        }
    }

    private async ValueTask RemoveRecordAsync(Entry entry, CancellationToken cancellationToken)
    {
        SemaphoreSlim journalGate = JournalGateOf(entry.Request.Key);
        await journalGate.WaitAsync(cancellationToken);
        try
        {
            lock (_gate)
            {
                if (_entries.TryGetValue(entry.Request.Key, out Entry? successor) && successor != entry)
                {
                    // A newer entry of the key (enqueued after this one was removed) owns the record now: it has
                    // written it or will, after this gate. Deleting here would lose a durable close's record.
                    return;
                }
            }

            _journal.Delete(entry.Request.Key);
        }
        finally
        {
            journalGate.Release();
        }
    }

    private async Task AbortQuietlyAsync(UploadSessionId session)
    {
        using var timeout = new CancellationTokenSource(s_abortTimeout, _time);
        try
        {
            await _transport.AbortUploadAsync(session, timeout.Token);
        }
        catch (Exception ex) when (ex is ScaiDriveApiException or OperationCanceledException or HttpRequestException or IOException)
        {
            // An unaborted session only costs the server space until it expires (24 h).
            LogAbortFailed(session, ex.Message);
        }
    }

    private void ForgetMissingRecord(UploadRequest request, DateTimeOffset now)
    {
        LogRecoveredMissing(request.Key, request.StagedPath);
        var failure = new UploadFailure(request.Target, ScaiDriveErrorKind.Other, $"staged file '{request.StagedPath}' is missing; nothing to upload", null)
        {
            Disposition = UploadFailureDisposition.ContentMissing,
            Key = request.Key,
            Generation = request.Generation,
            FailedAt = now,
        };

        // The record itself is kept in the recovery folder as evidence of what was lost, never silently deleted.
        string folder = Path.Combine(_recovery.Directory, "_lost-journal-records");
        Directory.CreateDirectory(folder);
        string source = _journal.PathOf(request.Key);
        File.Move(source, Path.Combine(folder, Path.GetFileName(source)), overwrite: true);
        lock (_gate)
        {
            _failures.Add(failure);
        }

        RaiseFailed(request.Key, failure);
    }

    private void RaiseUploaded(StagedFileKey key, long generation, FileItem item)
    {
        try
        {
            Uploaded?.Invoke(key, generation, item);
        }
        catch (Exception ex)
        {
            LogHandlerFailed(nameof(Uploaded), ex);
        }
    }

    private void RaiseFailed(StagedFileKey key, UploadFailure failure)
    {
        try
        {
            Failed?.Invoke(key, failure);
        }
        catch (Exception ex)
        {
            LogHandlerFailed(nameof(Failed), ex);
        }
    }

    private sealed class TimerState(UploadQueue queue, Entry entry)
    {
        public void Fire()
        {
            lock (queue._gate)
            {
                if (queue._disposed || entry.Removed || entry.Held || entry.State == UploadState.Uploading)
                {
                    return;
                }
            }

            queue.Schedule(entry);
        }
    }

    /// <summary>Receives the client's "bytes confirmed so far" without posting to a synchronisation context.</summary>
    private sealed class ProgressSink(Entry entry) : IProgress<long>
    {
        public void Report(long value) => Interlocked.Exchange(ref entry.BytesUploaded, value);
    }

    /// <summary>One key's state. Every field is guarded by <c>_gate</c> except <see cref="BytesUploaded"/> (Interlocked).</summary>
    private sealed class Entry(UploadRequest request)
    {
        public UploadRequest Request = request;
        public UploadState State = UploadState.Waiting;
        public bool Held;
        public bool Removed;

        /// <summary>A waiter wants it now: no write-back delay (see ExpediteUnsynchronized).</summary>
        public bool Expedite;
        public DateTimeOffset DueAt;
        public DateTimeOffset EnqueuedAt;

        /// <summary>Not before this (transient error backoff), whatever new enqueues say.</summary>
        public DateTimeOffset RetryNotBefore;
        public int Attempts;
        public string? LastError;
        public ITimer? Timer;
        public CancellationTokenSource? UploadCts;

        /// <summary>The current or last run; <see cref="CancelAsync"/> waits for it so nothing lands after an unlink returned.</summary>
        public Task? Run;
        public long UploadingGeneration;
        public int UploadingTargetVersion;

        /// <summary>Bumped whenever the caller changes the target; a run whose snapshot is older is stale.</summary>
        public int TargetVersion;
        public UploadSessionId? SessionId;
        public long SessionGeneration = -1;

        /// <summary>The session was opened early with a provisional size: the run sets the exact size first (EarlySend).</summary>
        public bool SessionResizable;

        /// <summary>Ends when the early sender has no chunk PUT left in flight.</summary>
        public Task? EarlyQuiesced;
        public string? AttemptedSha256;
        public string? ConflictOf;
        public FileId? StrayFileId;

        /// <summary>A file the queue made this key's without the façade knowing its ID (see MarkUnreportedUnsynchronized).</summary>
        public FileId? UnreportedFileId;

        /// <summary>SHA-256 of the generations this entry sent (recent ones; see RememberSentUnsynchronized).</summary>
        public readonly List<string> SentSha256 = [];
        public long BytesUploaded;
        public TaskCompletionSource<FileItem?>? Completion;

        public UploadSessionId? ResumableSessionUnsynchronized => SessionGeneration == Request.Generation ? SessionId : null;

        public JournalRecord ToRecordUnsynchronized() => JournalRecord.From(Request, EnqueuedAt) with
        {
            SessionId = SessionId?.Value,
            SessionGeneration = SessionId is null ? null : SessionGeneration,
            SessionResizable = SessionId is not null && SessionResizable ? true : null,
            AttemptedSha256 = AttemptedSha256,
            ConflictOf = ConflictOf,
            StrayFileId = StrayFileId?.Value,
        };
    }
}
