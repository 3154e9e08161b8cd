using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using ScaiDrive.Vfs;
using ScaiDrive.WinFsp.Interop;

namespace ScaiDrive.WinFsp;

/// <summary>
/// The core's <see cref="IKernelCacheNotifier"/> on Windows. WinFsp caches file information for FileInfoTimeout and
/// listings for DirInfoTimeout; FspFileSystemNotify drops those caches for a path and tells change listeners
/// (Explorer) about it. Notifications are by name, so the core's inode-based calls are translated through the paths
/// the adapter has shown to Windows. They are queued and sent from one background task: the core must never wait on
/// Windows, and NotifyBegin answers STATUS_CANT_WAIT while a rename is in progress, which we retry.
/// </summary>
internal sealed class WinFspKernelNotifier : IKernelCacheNotifier, IAsyncDisposable
{
    private static readonly TimeSpan s_beginTimeout = TimeSpan.FromSeconds(1);
    private const int MaxBeginAttempts = 20;

    private readonly WinFspFileSystem _fileSystem;
    private readonly IWinFspDriver _driver;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Channel<Invalidation> _queue = Channel.CreateUnbounded<Invalidation>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _worker;
    private long _queued;
    private long _done;

    public WinFspKernelNotifier(WinFspFileSystem fileSystem, IWinFspDriver driver, ILogger logger, TimeProvider? timeProvider = null)
    {
        _fileSystem = fileSystem;
        _driver = driver;
        _logger = logger;
        _time = timeProvider ?? TimeProvider.System;
        _worker = Task.Run(RunAsync);
    }

    public void InvalidateEntry(ulong parentInode, string name) => Enqueue(new Invalidation(parentInode, name, Content: false));

    public void InvalidateInode(ulong inode, bool content) => Enqueue(new Invalidation(inode, Name: null, content));

    /// <summary>Waits until everything queued so far was sent (tests; unmount).</summary>
    public async Task WaitIdleAsync(CancellationToken cancellationToken = default)
    {
        long target = Interlocked.Read(ref _queued);
        while (Interlocked.Read(ref _done) < target && !_worker.IsCompleted)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(5), _time, cancellationToken).ConfigureAwait(false);
        }
    }

    private void Enqueue(Invalidation invalidation)
    {
        Interlocked.Increment(ref _queued);
        if (!_queue.Writer.TryWrite(invalidation))
        {
            Interlocked.Increment(ref _done);
        }
    }

    private async Task RunAsync()
    {
        ChannelReader<Invalidation> reader = _queue.Reader;
        try
        {
            while (await reader.WaitToReadAsync(_stop.Token).ConfigureAwait(false))
            {
                NotifyBuffer buffer = new();
                int taken = 0;
                while (buffer.Count < 64 && reader.TryRead(out Invalidation item))
                {
                    taken++;
                    (uint Filter, uint Action, string Path)? change = await DescribeAsync(item).ConfigureAwait(false);
                    if (change is { } c)
                    {
                        buffer.Add(c.Filter, c.Action, c.Path);
                    }
                }

                if (buffer.Count > 0)
                {
                    await SendAsync(buffer).ConfigureAwait(false);
                }

                Interlocked.Add(ref _done, taken);
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
    }

    private async ValueTask<(uint Filter, uint Action, string Path)?> DescribeAsync(Invalidation item)
    {
        try
        {
            return item.Name is null
                ? _fileSystem.DescribeInodeChange(item.Inode)
                : await _fileSystem.DescribeEntryChangeAsync(item.Inode, item.Name, _stop.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.NotifyFailed(_logger, item.Name ?? item.Inode.ToString(System.Globalization.CultureInfo.InvariantCulture), NtStatusMap.FromException(ex));
            return null;
        }
    }

    private async Task SendAsync(NotifyBuffer buffer)
    {
        byte[] bytes = buffer.ToArray();
        for (int attempt = 0; attempt < MaxBeginAttempts; attempt++)
        {
            int status = _driver.NotifyBegin(s_beginTimeout);
            if (status == NtStatus.CantWait)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(50), _time, _stop.Token).ConfigureAwait(false);
                continue;
            }

            if (!NtStatus.IsSuccess(status))
            {
                Log.NotifyFailed(_logger, "(begin)", status);
                return;
            }

            try
            {
                status = _driver.Notify(bytes);
                if (!NtStatus.IsSuccess(status))
                {
                    Log.NotifyFailed(_logger, "(batch)", status);
                }
            }
            finally
            {
                _driver.NotifyEnd();
            }

            return;
        }

        Log.NotifyFailed(_logger, "(rename in progress)", NtStatus.CantWait);
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _worker.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    private readonly record struct Invalidation(ulong Inode, string? Name, bool Content);
}
