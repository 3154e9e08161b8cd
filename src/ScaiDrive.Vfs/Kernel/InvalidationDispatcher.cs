using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace ScaiDrive.Vfs.Kernel;

/// <summary>One thing the kernel may hold that is no longer true.</summary>
internal readonly record struct Invalidation(ulong Inode, string? Name, bool Content)
{
    public static Invalidation Entry(ulong parentInode, string name) => new(parentInode, name, false);

    public static Invalidation Attributes(ulong inode, bool content) => new(inode, null, content);
}

/// <summary>
/// Delivers invalidations to the adapter from one background task. libfuse's notify calls may block until the kernel
/// has taken locks that a running callback holds, so they are never made inline from a callback path or under one of
/// the core's locks: callers only enqueue (lock-free, never blocks).
/// </summary>
internal sealed partial class InvalidationDispatcher : IAsyncDisposable
{
    // A delivery later than this is logged: a remote change shows in the mount only once its invalidation is through.
    private static readonly TimeSpan s_slowDelivery = TimeSpan.FromMilliseconds(100);
    private readonly Channel<(Invalidation Item, long QueuedAt)> _queue =
        Channel.CreateUnbounded<(Invalidation, long)>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Func<IKernelCacheNotifier?> _notifier;
    private readonly ILogger _logger;
    private readonly Task _pump;
    private long _delivered;

    public InvalidationDispatcher(Func<IKernelCacheNotifier?> notifier, ILogger logger)
    {
        _notifier = notifier;
        _logger = logger;
        _pump = Task.Run(PumpAsync);
    }

    /// <summary>Invalidations handed to the adapter so far (tests wait on it).</summary>
    public long Delivered => Interlocked.Read(ref _delivered);

    public void Enqueue(Invalidation invalidation) => _queue.Writer.TryWrite((invalidation, Stopwatch.GetTimestamp()));

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _pump.ConfigureAwait(false);
    }

    private async Task PumpAsync()
    {
        await foreach ((Invalidation item, long queuedAt) in _queue.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            IKernelCacheNotifier? notifier = _notifier();
            if (notifier is null)
            {
                continue; // Nothing mounted yet: the kernel holds nothing.
            }

            long callStarted = Stopwatch.GetTimestamp();
            try
            {
                if (item.Name is not null)
                {
                    notifier.InvalidateEntry(item.Inode, item.Name);
                }
                else
                {
                    notifier.InvalidateInode(item.Inode, item.Content);
                }
            }
            catch (Exception ex)
            {
                // ENOENT from the kernel (it had already forgotten the node) is normal; nothing else may stop the pump.
                LogNotifyFailed(ex, item.Inode);
            }

            Interlocked.Increment(ref _delivered);
            TimeSpan late = Stopwatch.GetElapsedTime(queuedAt);
            if (late > s_slowDelivery)
            {
                LogSlowDelivery(item.Inode, item.Name, late.TotalMilliseconds, Stopwatch.GetElapsedTime(callStarted).TotalMilliseconds);
            }
        }
    }

    [LoggerMessage(EventId = 402, Level = LogLevel.Information, Message = "Kernel invalidation of inode {Inode} ({Name}) delivered {LateMs:F0} ms after it was queued; the call took {CallMs:F0} ms")]
    private partial void LogSlowDelivery(ulong inode, string? name, double lateMs, double callMs);

    [LoggerMessage(EventId = 401, Level = LogLevel.Debug, Message = "Kernel invalidation of inode {Inode} failed")]
    private partial void LogNotifyFailed(Exception exception, ulong inode);
}
