using System.Net;
using System.Text.Json;
using ScaiDrive.TestSupport;
using Xunit;

namespace ScaiDrive.Server.Tests;

public sealed class FaultTests : ServerTest
{
    [Fact]
    public async Task ErrorAnd429FaultsUseTheEnvelope()
    {
        await Server.SetFaultsAsync(errorRate: 1);
        await Api.ErrorAsync(Owner, HttpMethod.Get, "api/v1/users/me", HttpStatusCode.ServiceUnavailable, "UPSTREAM_UNAVAILABLE");
        using HttpClient anonymous = Server.CreateHttpClient(null);
        await Api.OkAsync(anonymous, HttpMethod.Get, "api/v1/health");

        await Server.SetFaultsAsync(rate429: 1);
        (HttpStatusCode status, JsonElement body, HttpResponseMessage response) = await Api.SendAsync(Owner, HttpMethod.Get, "api/v1/users/me");
        using (response)
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, status);
            Assert.Equal(TimeSpan.FromSeconds(1), response.Headers.RetryAfter!.Delta);
            Api.AssertEnvelope(body, response, "RATE_LIMITED");
        }

        await Server.SetFaultsAsync();
        await Api.OkAsync(Owner, HttpMethod.Get, "api/v1/users/me");
    }

    [Fact]
    public async Task ResetFaultCutsTheBody()
    {
        JsonElement file = await Api.UploadAsync(Owner, Server.DefaultShareId, null, "r.bin", Api.RandomBytes(3 * 1024 * 1024, 7));
        await Server.SetFaultsAsync(resetRate: 1);
        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            using HttpResponseMessage response = await Owner.GetAsync($"api/v1/files/{file.Id()}/content", TestContext.Current.CancellationToken);
            await response.Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken);
        });
        await Server.SetFaultsAsync();
        Assert.Equal(3 * 1024 * 1024, (await Api.DownloadAsync(Owner, file.Id())).Length);
    }

    [Fact]
    public async Task LatencyDelaysRequests()
    {
        Server.Server.Faults.LatencyMs = 300;
        long start = Environment.TickCount64;
        await Api.OkAsync(Owner, HttpMethod.Get, "api/v1/users/me");
        Assert.True(Environment.TickCount64 - start >= 290);
        Server.Server.Faults.LatencyMs = 0;
    }
}

public sealed class RateLimitTests : ServerTest
{
    protected override LocalServerOptions? Options => new() { Configure = o => o.RateLimitPerTokenPerMinute = 5 };

    [Fact]
    public async Task HeadersCountDownThen429()
    {
        (HttpStatusCode status, _, HttpResponseMessage first) = await Api.SendAsync(Owner, HttpMethod.Get, "api/v1/users/me");
        using (first)
        {
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal("5", first.Headers.GetValues("X-RateLimit-Limit").Single());
            Assert.Equal("4", first.Headers.GetValues("X-RateLimit-Remaining").Single());
            Assert.True(long.Parse(first.Headers.GetValues("X-RateLimit-Reset").Single(), System.Globalization.CultureInfo.InvariantCulture) > DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 1);
        }

        for (int i = 0; i < 4; i++)
        {
            await Api.OkAsync(Owner, HttpMethod.Get, "api/v1/users/me");
        }

        JsonElement body = await Api.ErrorAsync(Owner, HttpMethod.Get, "api/v1/users/me", HttpStatusCode.TooManyRequests, "RATE_LIMITED");
        Assert.Equal("token", body.GetProperty("error").GetProperty("details").Str("dimension"));
        Assert.True(body.GetProperty("error").Long("retry_after") >= 1);
    }
}
