using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using ScaiDrive.Client;

namespace ScaiDrive.Vfs.Changes;

/// <summary>
/// Follows the change feed of every mounted share and hands each batch to the core.
/// </summary>
/// <remarks>
/// <para>
/// Two tasks. The socket task registers the mount as a sync device and keeps the sync WebSocket open; every frame
/// is only a nudge ("share S changed"), never trusted as data: it marks the share dirty and wakes the pull task. The
/// pull task reads <c>GET /sync/changes</c> from the stored cursor until <c>has_more</c> is false, applies each batch,
/// then stores the cursor (<see cref="ChangeState"/>). A burst of nudges during a pull collapses into one more pull
/// (the wake-up channel holds at most one token), so a hundred commits cost a handful of requests, not a hundred.
/// </para>
/// <para>
/// While the socket is down the pull task polls every share at <see cref="VfsOptions.ChangePollInterval"/>; while it
/// is up it still pulls every a safety interval (60 s), because a nudge lost in a reconnect must not leave a
/// change unseen for ever. When the socket comes (back) up every share is pulled at once, for the same reason.
/// A cursor the server no longer knows (410 CURSOR_EXPIRED) restarts the share at the head after a rescan of what
/// is cached, so nothing changed meanwhile is served stale and nothing uncached is fetched.
/// </para>
/// </remarks>
internal sealed partial class ChangeFollower : IAsyncDisposable
{
    private const int BatchLimit = 1000;
    private static readonly TimeSpan s_safetyPollInterval = TimeSpan.FromSeconds(60);

    private readonly ScaiDriveClient _client;
    private readonly IChangeSink _sink;
    private readonly ChangeState _state;
    private readonly TimeSpan _pollInterval;
    private readonly bool _useSocket;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    // Shares named by nudges since the last pull; "all" when a nudge named none (force_sync) or the socket reconnected.
    private readonly Lock _dirtyGate = new();
    private readonly HashSet<ShareId> _dirty = new();
    private bool _allDirty = true;
    private long _lastPollStarted; // TimeProvider timestamp of the last pull of every share (the loop starts with one)
    private Task? _socketTask;
    private Task? _pullTask;
    private volatile bool _socketUp;
    private long _pulls;
    private long _rescans;
    private long _applied;

    public ChangeFollower(ScaiDriveClient client, IChangeSink sink, ChangeState state, string deviceId, TimeSpan pollInterval, bool useSocket, TimeProvider time, ILogger logger)
    {
        _client = client;
        _sink = sink;
        _state = state;
        DeviceId = deviceId;
        _pollInterval = pollInterval > TimeSpan.Zero ? pollInterval : TimeSpan.FromSeconds(10);
        _useSocket = useSocket;
        _time = time;
        _logger = logger;
    }

    public string DeviceId { get; }

    public bool SocketConnected => _socketUp;

    /// <summary>Feed requests made so far (tests: bursts coalesce).</summary>
    public long Pulls => Interlocked.Read(ref _pulls);

    public long Rescans => Interlocked.Read(ref _rescans);

    /// <summary>Change entries handed to the core so far.</summary>
    public long ChangesSeen => Interlocked.Read(ref _applied);

    /// <summary>The last applied cursor of <paramref name="share"/>, as stored.</summary>
    public ChangeCursor? CursorOf(ShareId share) => _state.GetCursor(share);

    public void Start()
    {
        _socketTask = _useSocket ? Task.Run(() => RunSocketAsync(_stop.Token)) : Task.CompletedTask;
        _pullTask = Task.Run(() => RunPullLoopAsync(_stop.Token));
    }

    /// <summary>Pulls every followed share now and returns when done (tests; the status command's "sync now").</summary>
    public async Task PullNowAsync(CancellationToken cancellationToken)
    {
        foreach (ShareId share in await _sink.GetFollowedSharesAsync(cancellationToken).ConfigureAwait(false))
        {
            await PullShareAsync(share, cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _wake.Writer.TryComplete();
        foreach (Task? task in new[] { _socketTask, _pullTask })
        {
            if (task is null)
            {
                continue;
            }

            try
            {
                await task.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        _stop.Dispose();
    }

    private void Nudge(ShareId? share)
    {
        lock (_dirtyGate)
        {
            if (share is { } s)
            {
                _dirty.Add(s);
            }
            else
            {
                _allDirty = true;
            }
        }

        _wake.Writer.TryWrite(true);
    }

    private async Task RunSocketAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _client.RegisterDeviceAsync(
                new DeviceRegistration(DeviceId, Environment.MachineName, OperatingSystem.IsWindows() ? "windows" : OperatingSystem.IsMacOS() ? "macos" : "linux", "scaidrivefs"),
                cancellationToken).ConfigureAwait(false);
            await _client.RunSyncSocketAsync(
                DeviceId,
                nudge =>
                {
                    Nudge(nudge.ShareId);
                    return ValueTask.CompletedTask;
                },
                up =>
                {
                    _socketUp = up;
                    LogSocketState(up);
                    // Up: changes made while it was down were never nudged. Down: the loop switches to polling.
                    Nudge(null);
                },
                cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            // No socket (refused device, no registration): polling alone keeps the mount current.
            _socketUp = false;
            LogSocketGaveUp(ex);
            _wake.Writer.TryWrite(true);
        }
    }

    private async Task RunPullLoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            bool all;
            ShareId[] dirty;
            lock (_dirtyGate)
            {
                all = _allDirty;
                dirty = _dirty.ToArray();
                _allDirty = false;
                _dirty.Clear();
            }

            if (all)
            {
                _lastPollStarted = _time.GetTimestamp();
            }

            try
            {
                IReadOnlyList<ShareId> followed = await _sink.GetFollowedSharesAsync(cancellationToken).ConfigureAwait(false);
                foreach (ShareId share in followed)
                {
                    if (all || dirty.Contains(share))
                    {
                        await PullShareAsync(share, cancellationToken).ConfigureAwait(false);
                    }
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // The server is away or a batch could not be applied: the next wake-up or poll tries again from the stored cursor.
                LogPullFailed(ex);
                lock (_dirtyGate)
                {
                    _allDirty = true;
                }
            }

            if (!await WaitForWakeAsync(cancellationToken).ConfigureAwait(false))
            {
                return;
            }
        }
    }

    /// <summary>
    /// Waits for a nudge or the next poll; at the poll every share is pulled. False when stopping. Polls keep a fixed
    /// rate: the interval runs from the start of the previous poll, so the time a pull takes (the feed, applying it,
    /// reporting the cursor: a second or more on a loaded machine) does not stretch the interval, and a remote change
    /// shows within one interval plus one pull. A pull longer than the interval is followed after a tenth of it.
    /// </summary>
    private async Task<bool> WaitForWakeAsync(CancellationToken cancellationToken)
    {
        TimeSpan interval = _socketUp ? s_safetyPollInterval : _pollInterval;
        TimeSpan wait = interval - _time.GetElapsedTime(_lastPollStarted);
        wait = wait < interval / 10 ? interval / 10 : wait;
        using var timeout = new CancellationTokenSource(wait, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            if (!await _wake.Reader.WaitToReadAsync(linked.Token).ConfigureAwait(false))
            {
                return false;
            }

            _wake.Reader.TryRead(out _);
            return true;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            lock (_dirtyGate)
            {
                _allDirty = true;
            }

            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private async Task PullShareAsync(ShareId share, CancellationToken cancellationToken)
    {
        ChangeCursor? cursor = _state.GetCursor(share);
        if (cursor is null)
        {
            // First sight of this share: nothing of it is cached yet, so the head is where following starts.
            ChangeBatch head = await _client.GetChangesAsync(share, null, 1, cancellationToken).ConfigureAwait(false);
            Interlocked.Increment(ref _pulls);
            _state.SetCursor(share, head.Cursor);
            return;
        }

        ChangeCursor start = cursor.Value;
        while (true)
        {
            ChangeBatch batch;
            long mark = _sink.MarkBeforePull();
            try
            {
                batch = await _client.GetChangesAsync(share, cursor, BatchLimit, cancellationToken).ConfigureAwait(false);
                Interlocked.Increment(ref _pulls);
            }
            catch (ScaiDriveApiException ex) when (ex.Kind == ScaiDriveErrorKind.Gone)
            {
                await RescanAsync(share, cursor.Value, cancellationToken).ConfigureAwait(false);
                return;
            }

            if (batch.Changes.Count > 0)
            {
                await _sink.ApplyChangesAsync(share, batch.Changes, mark, cancellationToken).ConfigureAwait(false);
                Interlocked.Add(ref _applied, batch.Changes.Count);
                LogApplied(batch.Changes.Count, share.Value);
            }

            _state.SetCursor(share, batch.Cursor);
            cursor = batch.Cursor;
            if (!batch.HasMore || batch.Changes.Count == 0)
            {
                break;
            }
        }

        if (cursor.Value != start)
        {
            await ReportCursorAsync(share, cursor.Value, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task RescanAsync(ShareId share, ChangeCursor expired, CancellationToken cancellationToken)
    {
        // The head first, then the rescan: a change committed in between is both rescanned and replayed (harmless),
        // never missed.
        LogCursorExpired(share.Value, expired.Value);
        ChangeBatch head = await _client.GetChangesAsync(share, null, 1, cancellationToken).ConfigureAwait(false);
        Interlocked.Increment(ref _rescans);
        await _sink.RescanAsync(share, cancellationToken).ConfigureAwait(false);
        _state.SetCursor(share, head.Cursor);
    }

    /// <summary>Tells the server how far this device got (sync/status shows it); advisory, so failures are only logged.</summary>
    private async Task ReportCursorAsync(ShareId share, ChangeCursor cursor, CancellationToken cancellationToken)
    {
        try
        {
            await _client.SetCursorAsync(share, DeviceId, cursor, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is ScaiDriveApiException or HttpRequestException)
        {
            LogCursorReportFailed(ex, share.Value);
        }
    }

    [LoggerMessage(EventId = 601, Level = LogLevel.Information, Message = "Change nudge socket {State}")]
    private partial void LogSocketStateCore(string state);

    private void LogSocketState(bool up) => LogSocketStateCore(up ? "connected" : "disconnected; polling");

    [LoggerMessage(EventId = 602, Level = LogLevel.Warning, Message = "Change nudge socket unavailable; following the feed by polling only")]
    private partial void LogSocketGaveUp(Exception exception);

    [LoggerMessage(EventId = 603, Level = LogLevel.Warning, Message = "Pulling the change feed failed; retrying at the next nudge or poll")]
    private partial void LogPullFailed(Exception exception);

    [LoggerMessage(EventId = 604, Level = LogLevel.Warning, Message = "Change cursor {Cursor} of share {ShareId} expired; rescanning what is cached")]
    private partial void LogCursorExpired(string shareId, string cursor);

    [LoggerMessage(EventId = 606, Level = LogLevel.Information, Message = "Applied {Count} change(s) of share {ShareId} from the feed")]
    private partial void LogApplied(int count, string shareId);

    [LoggerMessage(EventId = 605, Level = LogLevel.Debug, Message = "Reporting the change cursor of share {ShareId} failed")]
    private partial void LogCursorReportFailed(Exception exception, string shareId);
}
