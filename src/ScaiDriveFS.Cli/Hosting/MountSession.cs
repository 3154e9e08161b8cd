using Microsoft.Extensions.Logging;
using ScaiDrive.Vfs;
using ScaiDriveFS.Cli.Control;

namespace ScaiDriveFS.Cli.Hosting;

/// <summary>
/// The life of one live mount: status for the control socket, and the one unmount sequence however it is asked for
/// (control socket, SIGTERM, SIGINT, or fusermount3 -u from outside): drain pending uploads while the mount still
/// serves, unmount, then drain what arrived meanwhile.
/// </summary>
internal sealed partial class MountSession
{
    private static readonly TimeSpan s_progressInterval = TimeSpan.FromMilliseconds(500);

    private readonly string _mountPoint;
    private readonly Uri _server;
    private readonly string? _shareName;
    private readonly string _cacheDirectory;
    private readonly VfsFileSystem _fs;
    private readonly PlatformMount _mount;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();

    // Guarded by _gate.
    private Task? _unmountTask;

    // Completed once _unmountTask is set.
    private readonly TaskCompletionSource _unmountStarted = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // Guarded by _gate: everyone who asked for the unmount and wants progress lines.
    private readonly List<Func<UnmountProgress, ValueTask>> _progressSinks = [];

    public MountSession(string mountPoint, Uri server, string? shareName, string cacheDirectory, VfsFileSystem fs, PlatformMount mount, ILogger logger)
    {
        _mountPoint = mountPoint;
        _server = server;
        _shareName = shareName;
        _cacheDirectory = cacheDirectory;
        _fs = fs;
        _mount = mount;
        _logger = logger;
    }

    public MountStatusReport GetStatus()
    {
        VfsStatus status = _fs.GetStatus();
        bool unmounting;
        lock (_gate)
        {
            unmounting = _unmountTask is not null;
        }

        return new MountStatusReport
        {
            MountPoint = _mountPoint,
            Server = _server.GetLeftPart(UriPartial.Authority),
            Share = _shareName,
            Connected = status.Connected,
            PendingUploads = status.PendingUploads,
            PendingUploadBytes = status.PendingUploadBytes,
            UploadedBytesInFlight = status.UploadedBytesInFlight,
            FailedUploads = status.FailedUploads,
            CacheDirectory = _cacheDirectory,
            CacheBytesUsed = status.CacheBytesUsed,
            CacheBytesLimit = status.CacheBytesLimit,
            StreamedReadBytes = status.StreamedReadBytes,
            RecentErrors = status.RecentErrors.Select(e => new StatusErrorReport(e.At, e.Path, e.Message)).ToList(),
            ProcessId = Environment.ProcessId,
            Unmounting = unmounting,
        };
    }

    public void RequestUnmount(string reason)
    {
        LogUnmountRequested(_logger, reason);
        _ = UnmountAsync(sink: null, CancellationToken.None);
    }

    /// <summary>Starts (or joins) the unmount sequence; <paramref name="sink"/> receives progress lines until it is done.</summary>
    public Task UnmountAsync(Func<UnmountProgress, ValueTask>? sink, CancellationToken cancellationToken)
    {
        Task task;
        lock (_gate)
        {
            if (sink is not null)
            {
                _progressSinks.Add(sink);
            }

            task = _unmountTask ??= Task.Run(UnmountSequenceAsync, CancellationToken.None);
        }

        _unmountStarted.TrySetResult();

        return task.WaitAsync(cancellationToken);
    }

    public async Task RunUntilUnmountedAsync()
    {
        // Either an unmount is asked for (control socket, signal) or the kernel mount goes away from outside.
        await Task.WhenAny(_unmountStarted.Task, _mount.Completion);
        Task? sequence;
        lock (_gate)
        {
            sequence = _unmountTask;
        }

        if (sequence is null)
        {
            // Unmounted from outside (fusermount3 -u, umount): nothing new can arrive; finish what is pending.
            LogExternalUnmount(_logger, _mountPoint);
            await DrainWithProgressAsync();
            return;
        }

        await sequence;
    }

    private async Task UnmountSequenceAsync()
    {
        await DrainWithProgressAsync();
        if (!_mount.Completion.IsCompleted)
        {
            await _mount.UnmountAsync();
        }

        // Writes that landed between the drain and the unmount.
        await DrainWithProgressAsync();
        await BroadcastAsync(Snapshot("done"));
    }

    private async Task DrainWithProgressAsync()
    {
        Task drain = _fs.DrainAsync(progress: null, CancellationToken.None);
        while (!drain.IsCompleted)
        {
            UnmountProgress progress = Snapshot("progress");
            if (progress.PendingUploads > 0)
            {
                LogDraining(_logger, progress.PendingUploads, progress.PendingUploadBytes);
            }

            await BroadcastAsync(progress);
            await Task.WhenAny(drain, Task.Delay(s_progressInterval));
        }

        await drain;
    }

    private UnmountProgress Snapshot(string eventName)
    {
        VfsStatus status = _fs.GetStatus();
        return new UnmountProgress(eventName, status.PendingUploads, status.PendingUploadBytes);
    }

    private async Task BroadcastAsync(UnmountProgress progress)
    {
        Func<UnmountProgress, ValueTask>[] sinks;
        lock (_gate)
        {
            sinks = [.. _progressSinks];
        }

        foreach (Func<UnmountProgress, ValueTask> sink in sinks)
        {
            try
            {
                await sink(progress);
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException or System.Net.Sockets.SocketException)
            {
                // The asking command was interrupted; the unmount goes on without it.
                lock (_gate)
                {
                    _progressSinks.Remove(sink);
                }
            }
        }
    }

    [LoggerMessage(EventId = 10, Level = LogLevel.Information, Message = "Unmount requested ({Reason}): finishing pending uploads first")]
    private static partial void LogUnmountRequested(ILogger logger, string reason);

    [LoggerMessage(EventId = 11, Level = LogLevel.Information, Message = "Waiting for {Count} pending uploads ({Bytes} bytes)")]
    private static partial void LogDraining(ILogger logger, int count, long bytes);

    [LoggerMessage(EventId = 12, Level = LogLevel.Warning, Message = "{MountPoint} was unmounted from outside; finishing pending uploads")]
    private static partial void LogExternalUnmount(ILogger logger, string mountPoint);
}
