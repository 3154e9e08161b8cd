using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using ScaiDrive.TestSupport;
using Xunit;

namespace ScaiDrive.Server.Tests;

public sealed class FileTests : ServerTest
{
    private string Share => Server.DefaultShareId;

    protected override LocalServerOptions? Options => new() { Configure = o => o.MaxFileSizeBytes = 1024 * 1024 };

    [Fact]
    public async Task RangesETagsAnd416()
    {
        byte[] data = Api.RandomBytes(10_000, 2);
        JsonElement file = await Api.UploadAsync(Owner, Share, null, "r.bin", data);
        string url = $"api/v1/files/{file.Id()}/content";

        using var ranged = new HttpRequestMessage(HttpMethod.Get, url);
        ranged.Headers.Range = new RangeHeaderValue(100, 199);
        using HttpResponseMessage partial = await Owner.SendAsync(ranged, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.PartialContent, partial.StatusCode);
        Assert.Equal("bytes 100-199/10000", partial.Content.Headers.ContentRange!.ToString());
        Assert.Equal($"\"{Api.Sha256(data)}\"", partial.Headers.ETag!.Tag);
        Assert.Equal(data[100..200], await partial.Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken));

        using var suffix = new HttpRequestMessage(HttpMethod.Get, url);
        suffix.Headers.Range = new RangeHeaderValue(null, 10);
        using HttpResponseMessage tail = await Owner.SendAsync(suffix, TestContext.Current.CancellationToken);
        Assert.Equal(data[^10..], await tail.Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken));

        using var open = new HttpRequestMessage(HttpMethod.Get, url);
        open.Headers.Range = new RangeHeaderValue(9_990, null);
        using HttpResponseMessage openEnded = await Owner.SendAsync(open, TestContext.Current.CancellationToken);
        Assert.Equal("bytes 9990-9999/10000", openEnded.Content.Headers.ContentRange!.ToString());

        using var beyond = new HttpRequestMessage(HttpMethod.Get, url);
        beyond.Headers.Range = new RangeHeaderValue(10_000, null);
        using HttpResponseMessage unsatisfiable = await Owner.SendAsync(beyond, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, unsatisfiable.StatusCode);
        Assert.Equal("bytes */10000", unsatisfiable.Content.Headers.ContentRange!.ToString());

        using HttpResponseMessage sync = await Owner.GetAsync($"api/v1/sync/download/{file.Id()}?range_start=5&range_end=9", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.PartialContent, sync.StatusCode);
        Assert.Equal(data[5..10], await sync.Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken));

        using HttpResponseMessage whole = await Owner.GetAsync(url, TestContext.Current.CancellationToken);
        Assert.Equal("bytes", whole.Headers.AcceptRanges.Single());
        Assert.Equal("attachment", whole.Content.Headers.ContentDisposition!.DispositionType);
        Assert.Equal(10_000, whole.Content.Headers.ContentLength);
    }

    [Fact]
    public async Task RenameMoveCopyDeleteRestore()
    {
        JsonElement folder = await Api.CreateFolderAsync(Owner, Share, null, "F");
        JsonElement file = await Api.UploadAsync(Owner, Share, null, "a.txt", "hello"u8.ToArray());
        JsonElement renamed = await Api.OkAsync(Owner, HttpMethod.Patch, $"api/v1/files/{file.Id()}", new { name = "b.txt" });
        Assert.Equal("/b.txt", renamed.Str("path"));
        JsonElement moved = await Api.OkAsync(Owner, HttpMethod.Post, $"api/v1/files/{file.Id()}/move", new { target_folder_id = folder.Id() });
        Assert.Equal("/F/b.txt", moved.Str("path"));
        JsonElement copy = await Api.OkAsync(Owner, HttpMethod.Post, $"api/v1/files/{file.Id()}/copy", new { target_share_id = Share, name = "c.txt" }, HttpStatusCode.Created);
        Assert.Equal("/c.txt", copy.Str("path"));
        Assert.Equal("hello"u8.ToArray(), await Api.DownloadAsync(Owner, copy.Id()));
        Assert.Single(Directory.EnumerateFiles(Path.Combine(Server.DataDirectory, "blobs"), "*", SearchOption.AllDirectories));
        await Api.ErrorAsync(Owner, HttpMethod.Post, $"api/v1/files/{copy.Id()}/copy", HttpStatusCode.Conflict, "NAME_CONFLICT", new { target_share_id = Share });

        await Api.OkAsync(Owner, HttpMethod.Delete, $"api/v1/files/{file.Id()}", expected: HttpStatusCode.NoContent);
        await Api.ErrorAsync(Owner, HttpMethod.Get, $"api/v1/files/{file.Id()}/content", HttpStatusCode.Gone, "RESOURCE_DELETED");
        JsonElement restored = await Api.OkAsync(Owner, HttpMethod.Patch, $"api/v1/files/{file.Id()}", new { is_deleted = false });
        Assert.False(restored.GetProperty("is_deleted").GetBoolean());
        await Api.OkAsync(Owner, HttpMethod.Delete, $"api/v1/files/{file.Id()}?permanent=true", expected: HttpStatusCode.NoContent);
        await Api.ErrorAsync(Owner, HttpMethod.Get, $"api/v1/files/{file.Id()}", HttpStatusCode.NotFound, "NOT_FOUND");
        Assert.Equal("hello"u8.ToArray(), await Api.DownloadAsync(Owner, copy.Id()));
    }

    [Fact]
    public async Task VersionsAndRestore()
    {
        JsonElement file = await Api.UploadAsync(Owner, Share, null, "v.txt", "one"u8.ToArray());
        JsonElement session = await Api.OkAsync(Owner, HttpMethod.Post, "api/v1/uploads",
            new { share_id = Share, file_name = "v.txt", file_size = 3, chunk_size = 65536, replace_file_id = file.Id(), base_version_id = file.Str("version_id") }, HttpStatusCode.Created);
        using (var chunk = new ByteArrayContent("two"u8.ToArray()))
        {
            using HttpResponseMessage put = await Owner.PutAsync($"api/v1/uploads/{session.Str("session_id")}/chunks/0", chunk, TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        }

        JsonElement v2 = await Api.OkAsync(Owner, HttpMethod.Post, $"api/v1/uploads/{session.Str("session_id")}/complete", expected: HttpStatusCode.Created);
        Assert.Equal(2, v2.Long("version"));
        Assert.Equal(file.Id(), v2.Str("file_id"));
        JsonElement versions = await Api.OkAsync(Owner, HttpMethod.Get, $"api/v1/files/{file.Id()}/versions");
        Assert.Equal(2, versions.Long("total"));
        Assert.Equal(2, versions.GetProperty("versions")[0].Long("version_number"));

        using HttpResponseMessage old = await Owner.GetAsync($"api/v1/files/{file.Id()}/content?version=1", TestContext.Current.CancellationToken);
        Assert.Equal("one"u8.ToArray(), await old.Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken));
        JsonElement restore = await Api.OkAsync(Owner, HttpMethod.Post, $"api/v1/files/{file.Id()}/versions/1/restore");
        Assert.Equal(1, restore.Long("restored_from_version"));
        Assert.Equal(3, restore.Long("version"));
        Assert.Equal("one"u8.ToArray(), await Api.DownloadAsync(Owner, file.Id()));
    }

    [Fact]
    public async Task ViewersReadButCannotWriteAndStrangersSeeNothing()
    {
        TestUser viewer = await Server.CreateUserAsync("viewer");
        TestUser stranger = await Server.CreateUserAsync("stranger");
        await Server.AddMemberAsync(Share, viewer.UserId, "viewer");
        JsonElement file = await Api.UploadAsync(Owner, Share, null, "shared.txt", "x"u8.ToArray());
        using HttpClient v = Server.CreateHttpClient(viewer.Token);
        Assert.Equal("x"u8.ToArray(), await Api.DownloadAsync(v, file.Id()));
        JsonElement shares = await Api.OkAsync(v, HttpMethod.Get, "api/v1/users/me/shares");
        Assert.Contains(shares.GetProperty("shares").EnumerateArray(), s => s.Id() == Share && s.Str("role") == "viewer");
        await Api.ErrorAsync(v, HttpMethod.Post, "api/v1/files", HttpStatusCode.Forbidden, "AUTHZ_PERMISSION_DENIED", content: Api.Multipart(Share, null, "new.txt", [1]));
        await Api.ErrorAsync(v, HttpMethod.Patch, $"api/v1/files/{file.Id()}", HttpStatusCode.Forbidden, "AUTHZ_PERMISSION_DENIED", new { name = "y.txt" });
        await Api.ErrorAsync(v, HttpMethod.Delete, $"api/v1/files/{file.Id()}", HttpStatusCode.Forbidden, "AUTHZ_PERMISSION_DENIED");
        await Api.ErrorAsync(v, HttpMethod.Post, "api/v1/folders", HttpStatusCode.Forbidden, "AUTHZ_PERMISSION_DENIED", new { share_id = Share, name = "D" });
        using HttpClient s = Server.CreateHttpClient(stranger.Token);
        await Api.ErrorAsync(s, HttpMethod.Get, $"api/v1/files/{file.Id()}", HttpStatusCode.NotFound, "NOT_FOUND");

        await Server.AddMemberAsync(Share, viewer.UserId, "contributor");
        await Api.UploadAsync(v, Share, null, "new.txt", [1]);
    }

    [Fact]
    public async Task QuotaIs507AndSizeCapIs413()
    {
        await Server.SetShareQuotaAsync(Share, 1000);
        await Api.UploadAsync(Owner, Share, null, "fits.bin", new byte[600]);
        await Api.ErrorAsync(Owner, HttpMethod.Post, "api/v1/files", (HttpStatusCode)507, "QUOTA_EXCEEDED", content: Api.Multipart(Share, null, "big.bin", new byte[500]));
        await Api.ErrorAsync(Owner, HttpMethod.Post, "api/v1/uploads", (HttpStatusCode)507, "QUOTA_EXCEEDED", new { share_id = Share, file_name = "big2.bin", file_size = 500 });
        JsonElement share = await Api.OkAsync(Owner, HttpMethod.Get, $"api/v1/shares/{Share}");
        Assert.Equal(1000, share.Long("quota_bytes"));
        Assert.Equal(600, share.Long("used_bytes"));

        await Server.SetShareQuotaAsync(Share, null);
        await Api.ErrorAsync(Owner, HttpMethod.Post, "api/v1/files", HttpStatusCode.RequestEntityTooLarge, "PAYLOAD_TOO_LARGE", content: Api.Multipart(Share, null, "huge.bin", new byte[1024 * 1024 + 1]));
        await Api.ErrorAsync(Owner, HttpMethod.Post, "api/v1/uploads", HttpStatusCode.RequestEntityTooLarge, "PAYLOAD_TOO_LARGE", new { share_id = Share, file_name = "huge2.bin", file_size = 1024 * 1024 * 2 });
    }

    [Fact]
    public async Task IdenticalContentIsStoredOnce()
    {
        byte[] data = Api.RandomBytes(50_000, 3);
        await Api.UploadAsync(Owner, Share, null, "one.bin", data);
        await Api.UploadAsync(Owner, Share, null, "two.bin", data);
        Assert.Single(Directory.EnumerateFiles(Path.Combine(Server.DataDirectory, "blobs"), "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task EmptyFilesWork()
    {
        JsonElement file = await Api.UploadAsync(Owner, Share, null, "empty.txt", []);
        Assert.Equal(0, file.Long("size"));
        Assert.Empty(await Api.DownloadAsync(Owner, file.Id()));
    }
}

public sealed class DownloadEdgeTests : ServerTest
{
    [Fact]
    public async Task HeadAndMultiRangeAndEmptyRanges()
    {
        byte[] data = Api.RandomBytes(1000, 9);
        JsonElement file = await Api.UploadAsync(Owner, Server.DefaultShareId, null, "h.bin", data);
        using var head = new HttpRequestMessage(HttpMethod.Head, $"api/v1/files/{file.Id()}/content");
        using HttpResponseMessage headResponse = await Owner.SendAsync(head, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, headResponse.StatusCode);
        Assert.Equal(1000, headResponse.Content.Headers.ContentLength);

        using var multi = new HttpRequestMessage(HttpMethod.Get, $"api/v1/files/{file.Id()}/content");
        multi.Headers.TryAddWithoutValidation("Range", "bytes=0-1,5-6");
        using HttpResponseMessage whole = await Owner.SendAsync(multi, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, whole.StatusCode);
        Assert.Equal(data, await whole.Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken));

        JsonElement empty = await Api.UploadAsync(Owner, Server.DefaultShareId, null, "e.bin", []);
        using var ranged = new HttpRequestMessage(HttpMethod.Get, $"api/v1/files/{empty.Id()}/content");
        ranged.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(0, null);
        using HttpResponseMessage unsatisfiable = await Owner.SendAsync(ranged, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, unsatisfiable.StatusCode);
        Assert.Equal("bytes */0", unsatisfiable.Content.Headers.ContentRange!.ToString());
    }
}
