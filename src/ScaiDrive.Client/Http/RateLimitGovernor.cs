using System.Net.Http.Headers;

namespace ScaiDrive.Client.Http;

/// <summary>
/// Proactive slowdown (§1.8): once <c>X-RateLimit-Remaining</c> falls below 10% of <c>X-RateLimit-Limit</c>, requests
/// are spaced evenly over what is left of the window (until <c>X-RateLimit-Reset</c>), one slot per request, so
/// parallel callers queue instead of all hitting the wall and collecting 429s.
/// </summary>
internal sealed class RateLimitGovernor
{
    private readonly object _gate = new();
    private readonly TimeProvider _time;
    private readonly TimeSpan _maxDelay;

    // Guarded by _gate.
    private long _limit;
    private long _remaining;
    private DateTimeOffset _reset;
    private DateTimeOffset _nextSlot;

    public RateLimitGovernor(TimeProvider time, TimeSpan maxDelay)
    {
        _time = time;
        _maxDelay = maxDelay;
    }

    public void Observe(HttpResponseHeaders headers)
    {
        if (!ApiErrors.TryHeaderLong(headers, "X-RateLimit-Remaining", out long remaining))
        {
            return;
        }

        ApiErrors.TryHeaderLong(headers, "X-RateLimit-Limit", out long limit);
        DateTimeOffset reset = ApiErrors.TryHeaderLong(headers, "X-RateLimit-Reset", out long resetUnix)
            ? DateTimeOffset.FromUnixTimeSeconds(resetUnix)
            : _time.GetUtcNow().AddSeconds(60);
        Observe(limit, remaining, reset);
    }

    public void Observe(long limit, long remaining, DateTimeOffset reset)
    {
        lock (_gate)
        {
            _limit = limit;
            _remaining = remaining;
            _reset = reset;
        }
    }

    /// <summary>How long the next request should wait; reserves its slot. Zero when not throttling.</summary>
    public TimeSpan ReserveDelay()
    {
        DateTimeOffset now = _time.GetUtcNow();
        lock (_gate)
        {
            if (_limit <= 0 || _remaining * 10 >= _limit || _reset <= now)
            {
                return TimeSpan.Zero;
            }

            TimeSpan interval = (_reset - now) / (_remaining + 1);
            if (interval > _maxDelay)
            {
                interval = _maxDelay;
            }

            DateTimeOffset slot = _nextSlot > now ? _nextSlot : now;
            _nextSlot = slot + interval;
            TimeSpan wait = slot - now;
            return wait > _maxDelay ? _maxDelay : wait;
        }
    }

    public async ValueTask WaitAsync(CancellationToken cancellationToken)
    {
        TimeSpan delay = ReserveDelay();
        if (delay > TimeSpan.Zero)
        {
            await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
        }
    }
}
