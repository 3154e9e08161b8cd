using ScaiDrive.Client.Resilience;

namespace ScaiDrive.Client.Tests.Unit;

public sealed class BackoffTests
{
    private static readonly TimeSpan s_base = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan s_max = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData(0, 100, 200)]
    [InlineData(1, 200, 400)]
    [InlineData(3, 800, 1600)]
    [InlineData(20, 15000, 30000)] // capped
    public void Exponential_StaysWithinHalfToFullOfTheCeiling(int attempt, double minMs, double maxMs)
    {
        Assert.Equal(minMs, Backoff.Exponential(attempt, s_base, s_max, 0).TotalMilliseconds, 3);
        Assert.Equal(maxMs, Backoff.Exponential(attempt, s_base, s_max, 1).TotalMilliseconds, 3);
        var random = new Random(42);
        for (int i = 0; i < 1000; i++)
        {
            double ms = Backoff.Exponential(attempt, s_base, s_max, random.NextDouble()).TotalMilliseconds;
            Assert.InRange(ms, minMs, maxMs);
        }
    }

    [Fact]
    public void RetryAfter_IsJitteredByTwentyPercent()
    {
        var ra = TimeSpan.FromSeconds(10);
        Assert.Equal(8000, Backoff.RetryAfter(ra, s_max, 0).TotalMilliseconds, 3);
        Assert.Equal(12000, Backoff.RetryAfter(ra, s_max, 1).TotalMilliseconds, 3);
        var random = new Random(7);
        var seen = new HashSet<long>();
        for (int i = 0; i < 1000; i++)
        {
            var d = Backoff.RetryAfter(ra, s_max, random.NextDouble());
            Assert.InRange(d.TotalMilliseconds, 8000, 12000);
            seen.Add((long)d.TotalMilliseconds);
        }

        Assert.True(seen.Count > 100, "jitter must actually spread the delays");
    }

    [Fact]
    public void RetryAfter_IsCappedByMaxBackoff() =>
        Assert.Equal(s_max, Backoff.RetryAfter(TimeSpan.FromMinutes(5), s_max, 0.5));

    [Fact]
    public void ForFailure_UsesRetryAfterWhenUsableElseExponential()
    {
        var withRetryAfter = new ScaiDriveApiException(ScaiDriveErrorKind.RateLimited, "429", System.Net.HttpStatusCode.TooManyRequests, retryAfter: TimeSpan.FromSeconds(5));
        Assert.InRange(Backoff.ForFailure(withRetryAfter, 0, s_base, s_max, 0.5).TotalSeconds, 4, 6);

        // Retry-After: 0 would be a busy loop: fall back to backoff.
        var zero = new ScaiDriveApiException(ScaiDriveErrorKind.RateLimited, "429", System.Net.HttpStatusCode.TooManyRequests, retryAfter: TimeSpan.Zero);
        Assert.InRange(Backoff.ForFailure(zero, 2, s_base, s_max, 0.5).TotalMilliseconds, 400, 800);

        Assert.InRange(Backoff.ForFailure(new IOException(), 1, s_base, s_max, 0.5).TotalMilliseconds, 200, 400);
    }
}
