using System.Net;
using System.Text.Json;
using ScaiDrive.TestSupport;
using Xunit;

namespace ScaiDrive.Server.Tests;

public sealed class ShareTests : ServerTest
{
    [Fact]
    public async Task SharesAndMembersOverTheApi()
    {
        TestUser bob = await Server.CreateUserAsync("bob");
        JsonElement share = await Api.OkAsync(Owner, HttpMethod.Post, "api/v1/shares", new { name = "Team", share_type = "project", quota_bytes = 5000 }, HttpStatusCode.Created);
        string id = share.Id();
        Assert.Equal("owner", share.Str("role"));
        Assert.Equal(5000, share.Long("quota_bytes"));
        await Api.OkAsync(Owner, HttpMethod.Post, $"api/v1/shares/{id}/members", new { principal_type = "user", principal_id = bob.UserId, role = "viewer" }, HttpStatusCode.Created);
        await Api.ErrorAsync(Owner, HttpMethod.Post, $"api/v1/shares/{id}/members", HttpStatusCode.Conflict, "ALREADY_EXISTS", new { principal_id = bob.UserId, role = "viewer" });
        JsonElement members = await Api.OkAsync(Owner, HttpMethod.Get, $"api/v1/shares/{id}/members");
        Assert.Equal(2, members.Long("total"));

        using HttpClient b = Server.CreateHttpClient(bob.Token);
        JsonElement mine = await Api.OkAsync(b, HttpMethod.Get, "api/v1/users/me/shares");
        Assert.Contains(mine.GetProperty("shares").EnumerateArray(), s => s.Id() == id && s.Str("role") == "viewer" && s.Str("type") == "project");
        await Api.ErrorAsync(b, HttpMethod.Post, $"api/v1/shares/{id}/members", HttpStatusCode.Forbidden, "AUTHZ_PERMISSION_DENIED", new { principal_id = Server.OwnerUserId, role = "viewer" });
        await Api.OkAsync(Owner, HttpMethod.Patch, $"api/v1/shares/{id}/members/{bob.UserId}", new { role = "admin" });
        await Api.OkAsync(b, HttpMethod.Patch, $"api/v1/shares/{id}", new { name = "Team 2" });
        await Api.ErrorAsync(b, HttpMethod.Delete, $"api/v1/shares/{id}", HttpStatusCode.Forbidden, "AUTHZ_PERMISSION_DENIED");
        await Api.OkAsync(Owner, HttpMethod.Delete, $"api/v1/shares/{id}/members/{bob.UserId}", expected: HttpStatusCode.NoContent);
        await Api.ErrorAsync(b, HttpMethod.Get, $"api/v1/shares/{id}", HttpStatusCode.NotFound, "NOT_FOUND");
        await Api.OkAsync(Owner, HttpMethod.Delete, $"api/v1/shares/{id}", expected: HttpStatusCode.NoContent);
        await Api.ErrorAsync(Owner, HttpMethod.Get, $"api/v1/shares/{id}", HttpStatusCode.NotFound, "NOT_FOUND");
    }

    [Fact]
    public async Task CrossShareMovesCarryContentAndFeedBothShares()
    {
        string team = await Server.CreateShareAsync("Team", Server.OwnerUserId);
        JsonElement folder = await Api.CreateFolderAsync(Owner, Server.DefaultShareId, null, "Proj");
        JsonElement file = await Api.UploadAsync(Owner, Server.DefaultShareId, folder.Id(), "p.txt", "data"u8.ToArray());
        long cursorA = (await Api.OkAsync(Owner, HttpMethod.Get, $"api/v1/sync/changes?share_id={Server.DefaultShareId}")).Long("cursor");
        long cursorB = (await Api.OkAsync(Owner, HttpMethod.Get, $"api/v1/sync/changes?share_id={team}")).Long("cursor");
        JsonElement moved = await Api.OkAsync(Owner, HttpMethod.Post, $"api/v1/folders/{folder.Id()}/move", new { target_share_id = team });
        Assert.Equal(team, moved.Str("share_id"));
        JsonElement movedFile = await Api.OkAsync(Owner, HttpMethod.Get, $"api/v1/files/{file.Id()}");
        Assert.Equal(team, movedFile.Str("share_id"));
        Assert.Equal("data"u8.ToArray(), await Api.DownloadAsync(Owner, file.Id()));
        JsonElement a = await Api.OkAsync(Owner, HttpMethod.Get, $"api/v1/sync/changes?share_id={Server.DefaultShareId}&cursor={cursorA}");
        Assert.Equal("deleted", Assert.Single(a.GetProperty("changes").EnumerateArray()).Str("change_type"));
        JsonElement b = await Api.OkAsync(Owner, HttpMethod.Get, $"api/v1/sync/changes?share_id={team}&cursor={cursorB}");
        Assert.Equal("created", Assert.Single(b.GetProperty("changes").EnumerateArray()).Str("change_type"));
    }
}
