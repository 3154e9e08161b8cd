using System.Collections.Concurrent;
using System.Threading.Channels;
using ScaiDrive.Server.Domain;

namespace ScaiDrive.Server.Sync;

/// <summary>
/// Fans committed changes out to live sync sockets. Publishing never blocks a writer: each subscriber has its
/// own bounded queue, and a subscriber that falls 10 000 changes behind loses the oldest (the socket is only a
/// nudge; the change feed stays the source of truth).
/// </summary>
internal sealed class ChangeHub
{
    private readonly ConcurrentDictionary<long, Subscription> _subscribers = new();
    private long _nextId;

    public Subscription Subscribe(string userId)
    {
        long id = Interlocked.Increment(ref _nextId);
        var subscription = new Subscription(this, id, userId);
        _subscribers[id] = subscription;
        return subscription;
    }

    public void Publish(IReadOnlyList<ChangeDto> changes)
    {
        if (changes.Count == 0)
        {
            return;
        }

        foreach (Subscription subscriber in _subscribers.Values)
        {
            foreach (ChangeDto change in changes)
            {
                subscriber.Queue.Writer.TryWrite(change);
            }
        }
    }

    internal sealed class Subscription : IDisposable
    {
        private readonly ChangeHub _hub;
        private readonly long _id;

        public Subscription(ChangeHub hub, long id, string userId)
        {
            _hub = hub;
            _id = id;
            UserId = userId;
        }

        public string UserId { get; }

        public Channel<ChangeDto> Queue { get; } = Channel.CreateBounded<ChangeDto>(
            new BoundedChannelOptions(10_000) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });

        public void Dispose()
        {
            _hub._subscribers.TryRemove(_id, out _);
            Queue.Writer.TryComplete();
        }
    }
}
