using System.Buffers;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using ScaiDrive.Client;

namespace ScaiDrive.Vfs.Writing;

/// <summary>The calls the early sender makes besides the queue's own; only the real client offers them.</summary>
internal interface IEarlySendTransport
{
    /// <summary>False once the server said it cannot resize sessions (then no early session is opened again).</summary>
    bool ResizeMaybeSupported { get; }

    Task<UploadSession> CreateUploadSessionAsync(CreateUploadSessionRequest request, CancellationToken cancellationToken);

    Task PutChunkAsync(UploadSessionId sessionId, int index, ReadOnlyMemory<byte> data, CancellationToken cancellationToken);

    Task<UploadResizeResult> ResizeUploadSessionAsync(UploadSessionId sessionId, long newSize, string? checksumSha256, CancellationToken cancellationToken);

    Task AbortUploadAsync(UploadSessionId sessionId, CancellationToken cancellationToken);
}

/// <summary>An early session handed to the queue at close: its ID and a task that ends when no chunk PUT of the sender is left.</summary>
internal sealed record EarlySession(UploadSessionId Id, UploadTarget Target, Task Quiesced);

/// <summary>
/// Sends the finished chunks of a new file while it is still being written in order (cp, dd, a download), so that
/// close-to-durable is short. It opens a resumable session with a provisional size once more than two chunks (and
/// more than the small-upload threshold) are written, PUTs every full chunk read back from the staged file, and
/// grows the session through our <c>PATCH /uploads/{id}</c> extension as the file grows. At close the queue adopts
/// the session (<see cref="Detach"/>): it sets the exact size and checksum, sends the missing chunks and completes.
/// </summary>
/// <remarks>
/// <para>The writer reports every write (<see cref="OnWritten"/>) and length change under the node's content gate; it
/// never waits for the network: the sender keeps at most <see cref="MaxInFlight"/> chunks in flight and, when it
/// falls behind, simply sends less — close sends the rest. Any write below what was claimed for sending, a gap, a
/// truncate, a rename or unlink (the target changes), a second writer, a failed request, or a server without the
/// PATCH aborts the early session (DELETE) for good; the queue then uploads the file as it always did.</para>
/// <para>Race between a rewrite and a chunk read: the sender claims a chunk under <c>_lock</c> before reading it; the
/// writer checks under <c>_lock</c> after its pwrite. Either the writer sees the claim and aborts, or its bytes were
/// written before the claim and so before the read.</para>
/// <para>The sender never reads past what the writer reported written, and never sends the session's provisional
/// last chunk, so every chunk it sent stays a full chunk inside the final size (the server checks that again).</para>
/// </remarks>
internal sealed partial class EarlyChunkSender
{
    public const int MaxInFlight = 3;

    /// <summary>Most the provisional size runs ahead of what is written (the quota is checked against it).</summary>
    private const int MaxGrowChunks = 64;

    private readonly IEarlySendTransport _transport;
    private readonly string _stagedPath;
    private readonly Func<UploadTarget?> _currentTarget;
    private readonly int _chunkSize;
    private readonly long _startAfter;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _cts = new();
    private readonly SemaphoreSlim _slots = new(MaxInFlight, MaxInFlight);
    private readonly Lock _lock = new();

    // Guarded by _lock.
    private State _state = State.Collecting;
    private long _contiguous;
    private int _nextChunk;
    private long _claimedEnd;
    private bool _pumping;
    private UploadSession? _session;
    private UploadTarget? _target;
    private readonly List<Task> _work = [];
    private Task? _abort;

    public EarlyChunkSender(IEarlySendTransport transport, string stagedPath, Func<UploadTarget?> currentTarget, int chunkSize, long smallUploadThreshold, ILogger logger)
    {
        _transport = transport;
        _stagedPath = stagedPath;
        _currentTarget = currentTarget;
        _chunkSize = chunkSize;
        _startAfter = Math.Max(2L * chunkSize, smallUploadThreshold);
        _logger = logger;
    }

    private enum State
    {
        Collecting,
        HandedOver,
        Aborted,
    }

    /// <summary>The early session, once the server made it (tests).</summary>
    public UploadSessionId? SessionId
    {
        get
        {
            lock (_lock)
            {
                return _session?.Id;
            }
        }
    }

    /// <summary>Ends when an abort (and its DELETE) is done; completed when there was nothing to abort.</summary>
    public Task AbortCompletion
    {
        get
        {
            lock (_lock)
            {
                return _abort ?? Task.CompletedTask;
            }
        }
    }

    public bool IsAborted
    {
        get
        {
            lock (_lock)
            {
                return _state == State.Aborted;
            }
        }
    }

    /// <summary>After <paramref name="length"/> bytes were written at <paramref name="offset"/> (writer, content gate held). Never blocks.</summary>
    public void OnWritten(long offset, int length)
    {
        lock (_lock)
        {
            if (_state != State.Collecting)
            {
                return;
            }

            if (offset < _claimedEnd || offset > _contiguous)
            {
                AbortUnsynchronized("a write below what was sent, or a gap");
                return;
            }

            _contiguous = Math.Max(_contiguous, offset + length);
            if (!_pumping && _contiguous > _startAfter && _contiguous / _chunkSize > _nextChunk)
            {
                _pumping = true;
                AddWorkUnsynchronized(Task.Run(PumpAsync));
            }
        }
    }

    /// <summary>A truncate or extend: the early session is given up (the queue uploads the file as before).</summary>
    public void OnLengthSet() => Abort("the length was set");

    /// <summary>A second writer, the staged file deleted, an unlink: give up and DELETE the session.</summary>
    public void Abort(string reason)
    {
        lock (_lock)
        {
            AbortUnsynchronized(reason);
        }
    }

    /// <summary>
    /// At close: stops sending and hands the session to the queue when it was made for <paramref name="target"/>; null
    /// (and the session aborted) otherwise. Chunks in flight finish on their own; <see cref="EarlySession.Quiesced"/> tells when.
    /// </summary>
    public EarlySession? Detach(UploadTarget target)
    {
        lock (_lock)
        {
            if (_state != State.Collecting || _session is null || _target != target)
            {
                AbortUnsynchronized("closed before a session was ready, or under another target");
                return null;
            }

            _state = State.HandedOver;
            LogHandedOver(_session.Id.Value, _nextChunk);
            Task quiesced = Task.WhenAll(_work.ToArray()).ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            return new EarlySession(_session.Id, _target, quiesced);
        }
    }

    private void AbortUnsynchronized(string reason)
    {
        if (_state != State.Collecting)
        {
            return;
        }

        _state = State.Aborted;
        UploadSession? session = _session;
        _work.RemoveAll(static t => t.IsCompleted);
        if (session is null && _work.Count == 0)
        {
            // Nothing was started (a small file's close): nothing to cancel or delete.
            return;
        }

        _cts.Cancel();
        Task[] work = [.. _work];
        LogAborted(session?.Id.Value, reason);
        _abort = Task.Run(async () =>
        {
            try
            {
                await Task.WhenAll(work).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Observed: chunk sends end in cancellation or errors once aborted.
            }

            // The session may have been created after the snapshot above.
            UploadSession? current;
            lock (_lock)
            {
                current = _session ?? session;
            }

            if (current is not null)
            {
                try
                {
                    await _transport.AbortUploadAsync(current.Id, CancellationToken.None).ConfigureAwait(false);
                }
                catch (ScaiDriveApiException ex)
                {
                    // It expires on the server on its own.
                    LogAbortFailed(current.Id.Value, ex.Message);
                }
            }
        });
    }

    private async Task PumpAsync()
    {
        CancellationToken cancellationToken = _cts.Token;
        try
        {
            while (true)
            {
                UploadSession? session;
                long contiguous;
                lock (_lock)
                {
                    if (_state != State.Collecting || cancellationToken.IsCancellationRequested)
                    {
                        _pumping = false;
                        return;
                    }

                    session = _session;
                    contiguous = _contiguous;
                }

                UploadTarget? target = _currentTarget();
                if (target is null || (session is not null && target != _target))
                {
                    Abort("renamed or unlinked while written");
                    return;
                }

                if (session is null)
                {
                    if (!_transport.ResizeMaybeSupported)
                    {
                        Abort("the server cannot resize sessions");
                        return;
                    }

                    session = await _transport.CreateUploadSessionAsync(
                        new CreateUploadSessionRequest(target.ShareId, target.FolderId, target.Name, ProvisionalSize(contiguous))
                        {
                            ChunkSize = _chunkSize,
                            ReplaceFileId = target.ReplaceFileId,
                            BaseVersionId = target.BaseVersionId,
                        },
                        cancellationToken).ConfigureAwait(false);
                    lock (_lock)
                    {
                        _session = session;
                        _target = target;
                        if (_state != State.Collecting)
                        {
                            // Aborted while the create ran: the abort task DELETEs it (it reads _session).
                            _pumping = false;
                            return;
                        }
                    }

                    LogSessionOpened(session.Id.Value, session.FileSize);
                }

                int index;
                lock (_lock)
                {
                    if (_state != State.Collecting || _nextChunk >= _contiguous / _chunkSize)
                    {
                        _pumping = false;
                        return;
                    }

                    index = _nextChunk;
                    contiguous = _contiguous;
                }

                if (index >= session.TotalChunks - 1)
                {
                    // Never send the session's last chunk: the final size may end inside it.
                    UploadResizeResult grown = await _transport.ResizeUploadSessionAsync(session.Id, ProvisionalSize(contiguous), null, cancellationToken).ConfigureAwait(false);
                    if (grown.Session is not { } resized)
                    {
                        Abort("the server cannot resize sessions");
                        return;
                    }

                    lock (_lock)
                    {
                        _session = resized;
                    }

                    continue;
                }

                await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
                lock (_lock)
                {
                    if (_state != State.Collecting || _nextChunk != index)
                    {
                        _slots.Release();
                        _pumping = false;
                        return;
                    }

                    // Claimed before it is read: a write below this end from now on aborts (see remarks).
                    _nextChunk = index + 1;
                    _claimedEnd = (long)(index + 1) * _chunkSize;
                    AddWorkUnsynchronized(SendChunkAsync(session.Id, index, cancellationToken));
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            lock (_lock)
            {
                _pumping = false;
            }
        }
        catch (Exception ex) when (ex is ScaiDriveApiException or IOException)
        {
            lock (_lock)
            {
                _pumping = false;
            }

            Abort("request failed: " + ex.Message);
        }
    }

    /// <summary>The written chunks, one more for the partial one being written, and room to grow (doubling, capped).</summary>
    private long ProvisionalSize(long contiguous)
    {
        long chunks = (contiguous / _chunkSize) + 1;
        return (chunks + Math.Clamp(chunks, 1, MaxGrowChunks) + 1) * _chunkSize;
    }

    private async Task SendChunkAsync(UploadSessionId session, int index, CancellationToken cancellationToken)
    {
        await Task.Yield();
        byte[] buffer = ArrayPool<byte>.Shared.Rent(_chunkSize);
        try
        {
            using (SafeFileHandle file = File.OpenHandle(_stagedPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
            {
                int filled = 0;
                long offset = (long)index * _chunkSize;
                while (filled < _chunkSize)
                {
                    int read = await RandomAccess.ReadAsync(file, buffer.AsMemory(filled, _chunkSize - filled), offset + filled, cancellationToken).ConfigureAwait(false);
                    if (read == 0)
                    {
                        throw new IOException($"The staged file ended at {offset + filled}, inside a chunk reported written.");
                    }

                    filled += read;
                }
            }

            await _transport.PutChunkAsync(session, index, buffer.AsMemory(0, _chunkSize), cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (ex is ScaiDriveApiException or IOException or UnauthorizedAccessException)
        {
            bool handedOver;
            lock (_lock)
            {
                handedOver = _state == State.HandedOver;
            }

            if (!handedOver)
            {
                Abort("chunk " + index + " failed: " + ex.Message);
            }

            // After the hand-over the queue sends whatever is missing.
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            _slots.Release();
            KickIfBehind();
        }
    }

    private void AddWorkUnsynchronized(Task task)
    {
        _work.RemoveAll(static t => t.IsCompleted);
        _work.Add(task);
    }

    /// <summary>The pump stops when it has nothing to claim; a finished chunk may leave work it must pick up.</summary>
    private void KickIfBehind()
    {
        lock (_lock)
        {
            if (_state == State.Collecting && !_pumping && _session is not null && _contiguous / _chunkSize > _nextChunk)
            {
                _pumping = true;
                AddWorkUnsynchronized(Task.Run(PumpAsync));
            }
        }
    }

    [LoggerMessage(EventId = 5150, Level = LogLevel.Debug, Message = "Early upload session {SessionId} opened ({Size} bytes provisional)")]
    private partial void LogSessionOpened(string sessionId, long size);

    [LoggerMessage(EventId = 5151, Level = LogLevel.Debug, Message = "Early upload session {SessionId} handed to the queue after {Chunks} chunks")]
    private partial void LogHandedOver(string sessionId, int chunks);

    [LoggerMessage(EventId = 5152, Level = LogLevel.Debug, Message = "Early upload session {SessionId} given up: {Reason}")]
    private partial void LogAborted(string? sessionId, string reason);

    [LoggerMessage(EventId = 5153, Level = LogLevel.Debug, Message = "Aborting early upload session {SessionId} failed: {Error}")]
    private partial void LogAbortFailed(string sessionId, string error);
}
