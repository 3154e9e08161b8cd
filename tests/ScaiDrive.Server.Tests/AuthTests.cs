using System.Net;
using System.Text.Json;
using Xunit;

namespace ScaiDrive.Server.Tests;

public sealed class AuthTests : ServerTest
{
    [Fact]
    public async Task HealthNeedsNoToken()
    {
        using HttpClient anonymous = Server.CreateHttpClient(null);
        JsonElement health = await Api.OkAsync(anonymous, HttpMethod.Get, "api/v1/health");
        Assert.Equal("healthy", health.Str("status"));
        await Api.OkAsync(anonymous, HttpMethod.Get, "api/v1/config");
    }

    [Fact]
    public async Task MissingTokenIs401WithEnvelope()
    {
        using HttpClient anonymous = Server.CreateHttpClient(null);
        await Api.ErrorAsync(anonymous, HttpMethod.Get, "api/v1/users/me", HttpStatusCode.Unauthorized, "AUTH_TOKEN_MISSING");
    }

    [Fact]
    public async Task BadAndExpiredTokensAre401Invalid()
    {
        using HttpClient bad = Server.CreateHttpClient("not.a.token");
        await Api.ErrorAsync(bad, HttpMethod.Get, "api/v1/users/me", HttpStatusCode.Unauthorized, "AUTH_TOKEN_INVALID");
        string forged = Server.OwnerToken[..^4] + (Server.OwnerToken.EndsWith("AAAA", StringComparison.Ordinal) ? "BBBB" : "AAAA");
        using HttpClient forgedClient = Server.CreateHttpClient(forged);
        await Api.ErrorAsync(forgedClient, HttpMethod.Get, "api/v1/users/me", HttpStatusCode.Unauthorized, "AUTH_TOKEN_INVALID");
        (string expired, _) = await Server.MintTokenAsync(Server.OwnerUserId, TimeSpan.Zero);
        using HttpClient expiredClient = Server.CreateHttpClient(expired);
        await Api.ErrorAsync(expiredClient, HttpMethod.Get, "api/v1/users/me", HttpStatusCode.Unauthorized, "AUTH_TOKEN_INVALID");
    }

    [Fact]
    public async Task RefreshTokensRotate()
    {
        (string access, string refresh) = await Server.MintTokenAsync(Server.OwnerUserId, TimeSpan.FromMinutes(5));
        using (HttpClient client = Server.CreateHttpClient(access))
        {
            await Api.OkAsync(client, HttpMethod.Get, "api/v1/users/me");
        }

        using HttpClient anonymous = Server.CreateHttpClient(null);
        using var form = new FormUrlEncodedContent(new Dictionary<string, string> { ["grant_type"] = "refresh_token", ["refresh_token"] = refresh });
        (HttpStatusCode status, JsonElement body, HttpResponseMessage response) = await Api.SendAsync(anonymous, HttpMethod.Post, "api/v1/auth/token", content: form);
        response.Dispose();
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("Bearer", body.Str("token_type"));
        Assert.StartsWith("rt_", body.Str("refresh_token"));
        Assert.NotEqual(refresh, body.Str("refresh_token"));
        using (HttpClient renewed = Server.CreateHttpClient(body.Str("access_token")))
        {
            await Api.OkAsync(renewed, HttpMethod.Get, "api/v1/users/me");
        }

        using var reuse = new FormUrlEncodedContent(new Dictionary<string, string> { ["grant_type"] = "refresh_token", ["refresh_token"] = refresh });
        await Api.ErrorAsync(anonymous, HttpMethod.Post, "api/v1/auth/token", HttpStatusCode.Unauthorized, "AUTH_TOKEN_INVALID", content: reuse);
    }

    [Fact]
    public async Task MissingFieldIs422WithDetailArray()
    {
        using var form = new FormUrlEncodedContent(new Dictionary<string, string> { ["refresh_token"] = "x" });
        using HttpClient anonymous = Server.CreateHttpClient(null);
        JsonElement body = await Api.ErrorAsync(anonymous, HttpMethod.Post, "api/v1/auth/token", HttpStatusCode.UnprocessableEntity, "VALIDATION_ERROR", content: form);
        JsonElement detail = Assert.Single(body.GetProperty("detail").EnumerateArray());
        Assert.Equal("grant_type", detail.GetProperty("loc")[1].GetString());

        JsonElement folderError = await Api.ErrorAsync(Owner, HttpMethod.Post, "api/v1/folders", HttpStatusCode.UnprocessableEntity, "VALIDATION_ERROR",
            new { share_id = Server.DefaultShareId });
        Assert.Equal(JsonValueKind.Array, folderError.GetProperty("detail").ValueKind);
    }

    [Fact]
    public async Task TokenFileIsPrivateAndHoldsTheOwnersToken()
    {
        if (!OperatingSystem.IsWindows())
        {
            UnixFileMode mode = File.GetUnixFileMode(Server.Server.TokenFile);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, mode);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(Server.DataDirectory, "admin-token")));
        }

        // Read as bytes: `cat DIR/token` in a shell must give exactly the token (no BOM).
        byte[] raw = await File.ReadAllBytesAsync(Server.Server.TokenFile, TestContext.Current.CancellationToken);
        Assert.Equal(Server.OwnerToken + "\n", System.Text.Encoding.ASCII.GetString(raw));
    }

    [Fact]
    public async Task AdminEndpointsNeedTheAdminToken()
    {
        await Api.ErrorAsync(Owner, HttpMethod.Get, "_admin/info", HttpStatusCode.Unauthorized, "AUTH_TOKEN_INVALID");
    }
}
