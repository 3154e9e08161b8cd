namespace ScaiDrive.Client.Resilience;

/// <summary>
/// Delay arithmetic, kept pure (the random draw is a parameter) so its bounds are tested without sleeping.
/// </summary>
internal static class Backoff
{
    /// <summary>
    /// Exponential backoff with "equal jitter": base·2^attempt capped at <paramref name="max"/>, then a uniform
    /// draw in [half, full]. Half is kept so retries never collapse to an immediate busy loop.
    /// </summary>
    public static TimeSpan Exponential(int attempt, TimeSpan baseDelay, TimeSpan max, double random01)
    {
        double ceiling = baseDelay.TotalMilliseconds * Math.Pow(2, Math.Clamp(attempt, 0, 30));
        ceiling = Math.Min(ceiling, max.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(ceiling * (0.5 + (0.5 * Math.Clamp(random01, 0, 1))));
    }

    /// <summary>The server's Retry-After with ±20% jitter (so many clients do not return in lockstep), capped.</summary>
    public static TimeSpan RetryAfter(TimeSpan retryAfter, TimeSpan max, double random01)
    {
        double ms = retryAfter.TotalMilliseconds * (0.8 + (0.4 * Math.Clamp(random01, 0, 1)));
        return TimeSpan.FromMilliseconds(Math.Min(ms, max.TotalMilliseconds));
    }

    /// <summary>
    /// The delay before retry number <paramref name="attempt"/> (0-based) after <paramref name="failure"/>: a usable
    /// Retry-After wins; a missing or tiny one falls back to exponential backoff (never busy-loop).
    /// </summary>
    public static TimeSpan ForFailure(Exception? failure, int attempt, TimeSpan baseDelay, TimeSpan max, double random01)
    {
        if (failure is ScaiDriveApiException { RetryAfter: { } retryAfter } && retryAfter >= baseDelay)
        {
            return RetryAfter(retryAfter, max, random01);
        }

        return Exponential(attempt, baseDelay, max, random01);
    }
}
