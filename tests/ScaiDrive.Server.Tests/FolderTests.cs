using System.Net;
using System.Text.Json;
using Xunit;

namespace ScaiDrive.Server.Tests;

public sealed class FolderTests : ServerTest
{
    private string Share => Server.DefaultShareId;

    [Fact]
    public async Task CreateGetRenameMove()
    {
        JsonElement a = await Api.CreateFolderAsync(Owner, Share, null, "A");
        JsonElement b = await Api.CreateFolderAsync(Owner, Share, a.Id(), "B");
        Assert.Equal("/A/B", b.Str("path"));
        Assert.Equal(a.Id(), b.Str("parent_id"));
        Assert.Equal(JsonValueKind.Null, a.GetProperty("parent_id").ValueKind);

        JsonElement renamed = await Api.OkAsync(Owner, HttpMethod.Patch, $"api/v1/folders/{b.Id()}", new { name = "B2" });
        Assert.Equal("/A/B2", renamed.Str("path"));
        JsonElement moved = await Api.OkAsync(Owner, HttpMethod.Post, $"api/v1/folders/{b.Id()}/move", new { target_share_id = Share });
        Assert.Equal("/B2", moved.Str("path"));
        JsonElement back = await Api.OkAsync(Owner, HttpMethod.Post, $"api/v1/folders/{b.Id()}/move", new { target_folder_id = a.Id() });
        Assert.Equal("/A/B2", back.Str("path"));
        await Api.ErrorAsync(Owner, HttpMethod.Post, $"api/v1/folders/{a.Id()}/move", HttpStatusCode.BadRequest, "INVALID_PATH", new { target_folder_id = b.Id() });

        JsonElement got = await Api.OkAsync(Owner, HttpMethod.Get, $"api/v1/folders/{b.Id()}");
        Assert.Equal("B2", got.Str("name"));
        JsonElement root = await Api.OkAsync(Owner, HttpMethod.Get, $"api/v1/folders/root?share_id={Share}");
        Assert.Equal("/", root.Str("path"));
    }

    [Fact]
    public async Task NameClashesAreCaseInsensitive409()
    {
        await Api.CreateFolderAsync(Owner, Share, null, "Docs");
        await Api.ErrorAsync(Owner, HttpMethod.Post, "api/v1/folders", HttpStatusCode.Conflict, "NAME_CONFLICT", new { share_id = Share, name = "docs" });
        await Api.UploadAsync(Owner, Share, null, "DOCS", [1], HttpStatusCode.Conflict);
    }

    [Theory]
    [InlineData("a/b")]
    [InlineData("a\\b")]
    [InlineData("..")]
    [InlineData(".")]
    [InlineData("")]
    public async Task BadNamesAre400InvalidPath(string name)
    {
        await Api.ErrorAsync(Owner, HttpMethod.Post, "api/v1/folders", HttpStatusCode.BadRequest, "INVALID_PATH", new { share_id = Share, name });
    }

    [Fact]
    public async Task ChildrenAreFoldersFirstThenByNameWithPaging()
    {
        await Api.UploadAsync(Owner, Share, null, "a.txt", [1]);
        await Api.CreateFolderAsync(Owner, Share, null, "zeta");
        await Api.UploadAsync(Owner, Share, null, "B.txt", [2]);
        await Api.CreateFolderAsync(Owner, Share, null, "Alpha");
        JsonElement all = await Api.OkAsync(Owner, HttpMethod.Get, $"api/v1/folders/root/children?share_id={Share}");
        string[] names = [.. all.GetProperty("items").EnumerateArray().Select(i => i.Str("name"))];
        Assert.Equal(["Alpha", "zeta", "a.txt", "B.txt"], names);
        Assert.Equal(4, all.Long("total"));
        JsonElement page = await Api.OkAsync(Owner, HttpMethod.Get, $"api/v1/folders/root/children?share_id={Share}&limit=2&offset=1");
        Assert.Equal(["zeta", "a.txt"], page.GetProperty("items").EnumerateArray().Select(i => i.Str("name")));
        Assert.Equal(4, page.Long("total"));
        JsonElement file = page.GetProperty("items")[1];
        Assert.Equal("file", file.Str("type"));
        Assert.StartsWith("ver_", file.Str("version_id"));
        Assert.Equal(1, file.Long("version"));
        await Api.ErrorAsync(Owner, HttpMethod.Get, "api/v1/folders/root/children", HttpStatusCode.UnprocessableEntity, "VALIDATION_ERROR");
    }

    [Fact]
    public async Task EveryPageIsTheMatchingSliceOfTheWholeListing()
    {
        // Pages are read with LIMIT/OFFSET per table: a page may end in the folders, straddle folders and files, or
        // start past the folders; deleted children must not shift the offsets of the live ones.
        JsonElement parent = await Api.CreateFolderAsync(Owner, Share, null, "paged");
        foreach (string name in new[] { "f-c", "f-a", "f-b" })
        {
            await Api.CreateFolderAsync(Owner, Share, parent.Id(), name);
        }

        foreach (string name in new[] { "d.txt", "b.txt", "a.txt", "c.txt" })
        {
            await Api.UploadAsync(Owner, Share, parent.Id(), name, [1]);
        }

        JsonElement gone = await Api.UploadAsync(Owner, Share, parent.Id(), "bb.txt", [2]);
        using (HttpResponseMessage deleted = await Owner.DeleteAsync($"api/v1/files/{gone.Id()}", TestContext.Current.CancellationToken))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        string[] live = ["f-a", "f-b", "f-c", "a.txt", "b.txt", "c.txt", "d.txt"];
        string[] withDeleted = ["f-a", "f-b", "f-c", "a.txt", "b.txt", "bb.txt", "c.txt", "d.txt"];
        foreach ((string query, string[] expected) in new[] { (string.Empty, live), ("&include_deleted=true", withDeleted) })
        {
            for (int limit = 1; limit <= expected.Length + 1; limit++)
            {
                for (int offset = 0; offset <= expected.Length + 1; offset++)
                {
                    JsonElement page = await Api.OkAsync(
                        Owner, HttpMethod.Get, $"api/v1/folders/{parent.Id()}/children?share_id={Share}&limit={limit}&offset={offset}{query}");
                    Assert.Equal(expected.Skip(offset).Take(limit), page.GetProperty("items").EnumerateArray().Select(i => i.Str("name")));
                    Assert.Equal(expected.Length, page.Long("total"));
                }
            }
        }
    }

    [Fact]
    public async Task SoftDeleteIsRecursiveAndRestorable()
    {
        JsonElement a = await Api.CreateFolderAsync(Owner, Share, null, "A");
        JsonElement b = await Api.CreateFolderAsync(Owner, Share, a.Id(), "B");
        JsonElement file = await Api.UploadAsync(Owner, Share, b.Id(), "f.txt", [1, 2, 3]);
        using (HttpResponseMessage deleted = await Owner.DeleteAsync($"api/v1/folders/{a.Id()}", TestContext.Current.CancellationToken))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        await Api.ErrorAsync(Owner, HttpMethod.Get, $"api/v1/files/{file.Id()}", HttpStatusCode.Gone, "RESOURCE_DELETED");
        await Api.ErrorAsync(Owner, HttpMethod.Get, $"api/v1/folders/{b.Id()}/children", HttpStatusCode.Gone, "RESOURCE_DELETED");
        JsonElement root = await Api.OkAsync(Owner, HttpMethod.Get, $"api/v1/folders/root/children?share_id={Share}");
        Assert.Equal(0, root.Long("total"));
        JsonElement trash = await Api.OkAsync(Owner, HttpMethod.Get, $"api/v1/folders/root/children?share_id={Share}&include_deleted=true");
        Assert.True(Assert.Single(trash.GetProperty("items").EnumerateArray()).GetProperty("is_deleted").GetBoolean());

        // A name freed by the trash can be reused; restoring into a clash is 409.
        JsonElement other = await Api.CreateFolderAsync(Owner, Share, null, "A");
        await Api.ErrorAsync(Owner, HttpMethod.Patch, $"api/v1/folders/{a.Id()}", HttpStatusCode.Conflict, "NAME_CONFLICT", new { is_deleted = false });
        await Api.OkAsync(Owner, HttpMethod.Delete, $"api/v1/folders/{other.Id()}?permanent=true", expected: HttpStatusCode.NoContent);
        await Api.OkAsync(Owner, HttpMethod.Patch, $"api/v1/folders/{a.Id()}", new { is_deleted = false });
        JsonElement restored = await Api.OkAsync(Owner, HttpMethod.Get, $"api/v1/files/{file.Id()}");
        Assert.Equal("/A/B/f.txt", restored.Str("path"));
    }

    [Fact]
    public async Task PermanentDeleteRemovesTheSubtree()
    {
        JsonElement a = await Api.CreateFolderAsync(Owner, Share, null, "A");
        JsonElement file = await Api.UploadAsync(Owner, Share, a.Id(), "f.txt", [1, 2, 3]);
        await Api.OkAsync(Owner, HttpMethod.Delete, $"api/v1/folders/{a.Id()}?permanent=true", expected: HttpStatusCode.NoContent);
        await Api.ErrorAsync(Owner, HttpMethod.Get, $"api/v1/files/{file.Id()}", HttpStatusCode.NotFound, "NOT_FOUND");
        await Api.ErrorAsync(Owner, HttpMethod.Get, $"api/v1/folders/{a.Id()}", HttpStatusCode.NotFound, "NOT_FOUND");
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(Server.DataDirectory, "blobs"), "*", SearchOption.AllDirectories));
    }
}
