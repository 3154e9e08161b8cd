using ScaiDrive.TestSupport;

namespace ScaiDrive.Client.Tests.Unit;

public sealed class ManualTimeProviderTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Delay_CompletesOnlyWhenAdvancedPastItsDueTime()
    {
        var time = new ManualTimeProvider();
        var delay = Task.Delay(TimeSpan.FromSeconds(10), time, Ct);
        Assert.Equal(1, time.ActiveTimerCount);
        time.Advance(TimeSpan.FromSeconds(9.999));
        Assert.False(delay.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(1));
        await delay.WaitAsync(TimeSpan.FromSeconds(5), Ct);
    }

    [Fact]
    public void Timers_FireInDueOrderWithTheClockAtTheirDueTime()
    {
        var time = new ManualTimeProvider();
        var start = time.GetUtcNow();
        var fired = new List<(string Name, TimeSpan At)>();
        using var b = time.CreateTimer(_ => fired.Add(("b", time.GetUtcNow() - start)), null, TimeSpan.FromSeconds(2), Timeout.InfiniteTimeSpan);
        using var a = time.CreateTimer(_ => fired.Add(("a", time.GetUtcNow() - start)), null, TimeSpan.FromSeconds(1), Timeout.InfiniteTimeSpan);
        using var p = time.CreateTimer(_ => fired.Add(("p", time.GetUtcNow() - start)), null, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(1));

        time.Advance(TimeSpan.FromSeconds(4));

        Assert.Equal(
            [("a", TimeSpan.FromSeconds(1)), ("p", TimeSpan.FromSeconds(1.5)), ("b", TimeSpan.FromSeconds(2)), ("p", TimeSpan.FromSeconds(2.5)), ("p", TimeSpan.FromSeconds(3.5))],
            fired);
        Assert.Equal(start + TimeSpan.FromSeconds(4), time.GetUtcNow());
    }

    [Fact]
    public void ChangedAndDisposedTimers_DoNotFire()
    {
        var time = new ManualTimeProvider();
        int fired = 0;
        var stopped = time.CreateTimer(_ => fired++, null, TimeSpan.FromSeconds(1), Timeout.InfiniteTimeSpan);
        stopped.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        var disposed = time.CreateTimer(_ => fired++, null, TimeSpan.FromSeconds(1), Timeout.InfiniteTimeSpan);
        disposed.Dispose();
        time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(0, fired);
        Assert.Equal(0, time.ActiveTimerCount);
    }
}
