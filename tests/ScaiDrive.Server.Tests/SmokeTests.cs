using System.Net;
using System.Text.Json;
using Xunit;

namespace ScaiDrive.Server.Tests;

public sealed class SmokeTests : ServerTest
{
    [Fact]
    public async Task OwnerCanUploadListAndDownload()
    {
        JsonElement me = await Api.OkAsync(Owner, HttpMethod.Get, "api/v1/users/me");
        Assert.Equal(Server.OwnerUserId, me.Id());
        JsonElement shares = await Api.OkAsync(Owner, HttpMethod.Get, "api/v1/users/me/shares");
        JsonElement share = Assert.Single(shares.GetProperty("shares").EnumerateArray());
        Assert.Equal("My Files", share.Str("name"));
        Assert.Equal("owner", share.Str("role"));

        JsonElement folder = await Api.CreateFolderAsync(Owner, Server.DefaultShareId, null, "Docs");
        byte[] data = Api.RandomBytes(100_000, 1);
        JsonElement file = await Api.UploadAsync(Owner, Server.DefaultShareId, folder.Id(), "a.bin", data);
        Assert.Equal("/Docs/a.bin", file.Str("path"));
        Assert.Equal(Api.Sha256(data), file.Str("checksum_sha256"));
        Assert.StartsWith("ver_", file.Str("version_id"));
        Assert.Equal(data, await Api.DownloadAsync(Owner, file.Id()));

        JsonElement children = await Api.OkAsync(Owner, HttpMethod.Get, $"api/v1/folders/{folder.Id()}/children");
        Assert.Equal(1, children.Long("total"));
        JsonElement root = await Api.OkAsync(Owner, HttpMethod.Get, $"api/v1/folders/root/children?share_id={Server.DefaultShareId}");
        Assert.Equal("folder", Assert.Single(root.GetProperty("items").EnumerateArray()).Str("type"));
        await Api.ErrorAsync(Owner, HttpMethod.Get, "api/v1/nope", HttpStatusCode.NotFound, "NOT_FOUND");
    }
}
