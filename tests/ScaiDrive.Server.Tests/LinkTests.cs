using System.Net;
using System.Text.Json;
using ScaiDrive.TestSupport;
using Xunit;

namespace ScaiDrive.Server.Tests;

public sealed class LinkTests : ServerTest
{
    private readonly ManualClock _clock = new();

    protected override LocalServerOptions? Options => new() { Configure = o => o.TimeProvider = _clock };

    [Fact]
    public async Task PasswordExpiryLimitsAndRevocation()
    {
        JsonElement file = await Api.UploadAsync(Owner, Server.DefaultShareId, null, "report.pdf", "pdf!"u8.ToArray());
        JsonElement link = await Api.OkAsync(Owner, HttpMethod.Post, "api/v1/external/links", new
        {
            resource_type = "file", resource_id = file.Id(), share_id = Server.DefaultShareId, link_type = "DOWNLOAD",
            password = "s3cret", expires_in_days = 1, max_downloads = 2,
        }, HttpStatusCode.Created);
        Assert.StartsWith("lnk_", link.Id());
        Assert.True(link.GetProperty("password_required").GetBoolean());
        Assert.Equal("active", link.Str("status"));
        string token = link.Str("token");

        using HttpClient anonymous = Server.CreateHttpClient(null);
        await Api.ErrorAsync(anonymous, HttpMethod.Get, $"api/v1/external/public/{token}", HttpStatusCode.Unauthorized, "LINK_PASSWORD_REQUIRED");
        await Api.ErrorAsync(anonymous, HttpMethod.Get, $"api/v1/external/public/{token}?password=wrong", HttpStatusCode.Unauthorized, "LINK_PASSWORD_INVALID");
        JsonElement info = await Api.OkAsync(anonymous, HttpMethod.Get, $"api/v1/external/public/{token}?password=s3cret");
        Assert.Equal("report.pdf", info.GetProperty("resource").Str("name"));
        await Api.OkAsync(anonymous, HttpMethod.Post, $"api/v1/external/public/{token}/verify", new { password = "s3cret" });

        using var request = new HttpRequestMessage(HttpMethod.Get, $"api/v1/external/public/{token}/download");
        request.Headers.Add("X-Link-Password", "s3cret");
        using (HttpResponseMessage download = await anonymous.SendAsync(request, TestContext.Current.CancellationToken))
        {
            Assert.Equal("pdf!"u8.ToArray(), await download.Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken));
        }

        await Api.OkAsync(anonymous, HttpMethod.Get, $"api/v1/external/public/{token}/download?password=s3cret");
        await Api.ErrorAsync(anonymous, HttpMethod.Get, $"api/v1/external/public/{token}/download?password=s3cret", HttpStatusCode.Gone, "LINK_EXPIRED");

        JsonElement second = await Api.OkAsync(Owner, HttpMethod.Post, "api/v1/external/links", new
        {
            resource_type = "file", resource_id = file.Id(), share_id = Server.DefaultShareId, link_type = "DOWNLOAD", expires_in_days = 1,
        }, HttpStatusCode.Created);
        await Api.OkAsync(anonymous, HttpMethod.Get, $"api/v1/external/public/{second.Str("token")}/download");
        _clock.Advance(TimeSpan.FromDays(2));
        await Api.ErrorAsync(anonymous, HttpMethod.Get, $"api/v1/external/public/{second.Str("token")}/download", HttpStatusCode.Gone, "LINK_EXPIRED");
        Assert.Equal("expired", (await Api.OkAsync(Owner, HttpMethod.Get, $"api/v1/external/links/{second.Id()}")).Str("status"));

        JsonElement third = await Api.OkAsync(Owner, HttpMethod.Post, "api/v1/external/links", new
        {
            resource_type = "share", resource_id = Server.DefaultShareId, share_id = Server.DefaultShareId, link_type = "DOWNLOAD",
        }, HttpStatusCode.Created);
        await Api.OkAsync(anonymous, HttpMethod.Get, $"api/v1/external/public/{third.Str("token")}/download?file_id={file.Id()}");
        await Api.OkAsync(Owner, HttpMethod.Delete, $"api/v1/external/links/{third.Id()}", expected: HttpStatusCode.NoContent);
        await Api.ErrorAsync(anonymous, HttpMethod.Get, $"api/v1/external/public/{third.Str("token")}", HttpStatusCode.Gone, "LINK_EXPIRED");
        JsonElement list = await Api.OkAsync(Owner, HttpMethod.Get, $"api/v1/external/links?share_id={Server.DefaultShareId}");
        Assert.Equal(3, list.Long("total"));
    }

    [Fact]
    public async Task ViewersCannotCreateLinks()
    {
        TestUser viewer = await Server.CreateUserAsync("v");
        await Server.AddMemberAsync(Server.DefaultShareId, viewer.UserId, "viewer");
        JsonElement file = await Api.UploadAsync(Owner, Server.DefaultShareId, null, "x.txt", [1]);
        using HttpClient v = Server.CreateHttpClient(viewer.Token);
        await Api.ErrorAsync(v, HttpMethod.Post, "api/v1/external/links", HttpStatusCode.Forbidden, "AUTHZ_PERMISSION_DENIED",
            new { resource_type = "file", resource_id = file.Id(), share_id = Server.DefaultShareId, link_type = "VIEW" });
    }
}
