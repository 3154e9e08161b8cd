using ScaiDrive.Client.Auth;
using ScaiDrive.Client.Http;
using ScaiDrive.TestSupport;

namespace ScaiDrive.Client.Tests.Unit;

public sealed class TokenSourceTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("scaidrive-client-tokens-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void TokenFile_IsReReadWhenItChanges()
    {
        string path = Path.Combine(_dir, "token");
        File.WriteAllText(path, "tok_one\n");
        var source = new TokenSource(new ScaiDriveCredentials { TokenFile = path, AccessToken = "tok_option" });
        Assert.Equal("tok_one", source.GetAccessToken());

        File.WriteAllText(path, "tok_two_longer\n");
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddSeconds(5));
        Assert.Equal("tok_two_longer", source.GetAccessToken());
    }

    [Fact]
    public void MissingTokenFile_FallsBackToTheOption()
    {
        var source = new TokenSource(new ScaiDriveCredentials { TokenFile = Path.Combine(_dir, "absent"), AccessToken = "tok_option" });
        Assert.Equal("tok_option", source.GetAccessToken());
    }

    [Fact]
    public async Task Refresh_IsSharedByConcurrentCallersAndRotates()
    {
        var source = new TokenSource(new ScaiDriveCredentials { AccessToken = "tok_old", RefreshToken = "rt_1" });
        int calls = 0;
        var gate = new TaskCompletionSource();
        async Task<(string, string?)> Refresher(string refresh, CancellationToken ct)
        {
            Interlocked.Increment(ref calls);
            Assert.Equal("rt_1", refresh);
            await gate.Task;
            return ("tok_new", "rt_2");
        }

        var waiters = Enumerable.Range(0, 8).Select(_ => source.RefreshAsync("tok_old", Refresher, CancellationToken.None)).ToArray();
        gate.SetResult();
        await Task.WhenAll(waiters);

        Assert.Equal(1, calls);
        Assert.Equal("tok_new", source.GetAccessToken());
        Assert.Equal("rt_2", source.GetRefreshToken());

        // A caller that failed with the old token after the refresh finds it already replaced.
        await source.RefreshAsync("tok_old", Refresher, CancellationToken.None);
        Assert.Equal(1, calls);
    }

    [Fact]
    public void CredentialsAndOptions_ToStringHideTokens()
    {
        var credentials = new ScaiDriveCredentials { AccessToken = "tok_secret_value", RefreshToken = "rt_secret_value" };
        var options = new ScaiDriveClientOptions { BaseUrl = new Uri("http://127.0.0.1:1/"), Credentials = credentials };
        Assert.DoesNotContain("secret", credentials.ToString());
        Assert.DoesNotContain("secret", options.ToString());
        using var client = new ScaiDriveClient(options);
        Assert.DoesNotContain("secret", client.ToString());
    }

    [Fact]
    public void Scrub_CoversRetiredTokens()
    {
        string path = Path.Combine(_dir, "token");
        File.WriteAllText(path, "tok_first_secret");
        var source = new TokenSource(new ScaiDriveCredentials { TokenFile = path });
        Assert.Equal("tok_first_secret", source.GetAccessToken());
        File.WriteAllText(path, "tok_second_secret");
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddSeconds(5));
        Assert.Equal("tok_second_secret", source.GetAccessToken());
        Assert.Equal("a *** b ***", source.Scrub("a tok_first_secret b tok_second_secret"));
    }
}

public sealed class RateLimitGovernorTests
{
    [Fact]
    public void NoDelay_WhileAboveTenPercent()
    {
        var time = new ManualTimeProvider();
        var governor = new RateLimitGovernor(time, TimeSpan.FromSeconds(30));
        governor.Observe(1000, 100, time.GetUtcNow().AddSeconds(60));
        Assert.Equal(TimeSpan.Zero, governor.ReserveDelay());
    }

    [Fact]
    public void BelowTenPercent_RequestsAreSpacedOverTheRestOfTheWindow()
    {
        var time = new ManualTimeProvider();
        var governor = new RateLimitGovernor(time, TimeSpan.FromSeconds(30));
        // 9 left of 100, window resets in 10 s: one request per second.
        governor.Observe(100, 9, time.GetUtcNow().AddSeconds(10));
        Assert.Equal(TimeSpan.Zero, governor.ReserveDelay());
        Assert.Equal(TimeSpan.FromSeconds(1), governor.ReserveDelay());
        Assert.Equal(TimeSpan.FromSeconds(2), governor.ReserveDelay());

        // Once the window has reset the limit no longer applies.
        time.Advance(TimeSpan.FromSeconds(11));
        Assert.Equal(TimeSpan.Zero, governor.ReserveDelay());
    }

    [Fact]
    public async Task WaitAsync_SleepsOnTheInjectedClock()
    {
        var time = new ManualTimeProvider();
        var governor = new RateLimitGovernor(time, TimeSpan.FromSeconds(30));
        governor.Observe(100, 0, time.GetUtcNow().AddSeconds(4));
        await governor.WaitAsync(TestContext.Current.CancellationToken); // first slot: now
        var second = governor.WaitAsync(TestContext.Current.CancellationToken).AsTask();
        Assert.False(second.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(4));
        await second.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);
    }
}
