using System.Net;
using System.Text.Json;
using ScaiDrive.TestSupport;
using Xunit;

namespace ScaiDrive.Server.Tests;

/// <summary>Our extension: PATCH /api/v1/uploads/{session} changes an active session's size (Drive.UploadResize.cs).</summary>
public sealed class UploadResizeTests : ServerTest
{
    private const int Chunk = 64 * 1024;

    private string Share => Server.DefaultShareId;

    private async Task<string> CreateAsync(string name, long size, string? checksum = null) =>
        (await Api.OkAsync(Owner, HttpMethod.Post, "api/v1/uploads", new { share_id = Share, file_name = name, file_size = size, chunk_size = Chunk, checksum_sha256 = checksum }, HttpStatusCode.Created))
        .Str("session_id");

    private async Task PutAsync(string session, int index, byte[] data)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, $"api/v1/uploads/{session}/chunks/{index}") { Content = new ByteArrayContent(data) };
        using HttpResponseMessage response = await Owner.SendAsync(request, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static byte[] Part(byte[] data, int index) => data[(index * Chunk)..Math.Min(data.Length, (index + 1) * Chunk)];

    [Fact]
    public async Task GrowThenShrinkToTheExactSizeKeepsReceivedChunksAndCompletes()
    {
        byte[] data = Api.RandomBytes((Chunk * 5) + 777, 11);
        string id = await CreateAsync("grow.bin", 3L * Chunk);
        await PutAsync(id, 0, Part(data, 0));
        await PutAsync(id, 1, Part(data, 1));

        JsonElement grown = await Api.OkAsync(Owner, HttpMethod.Patch, $"api/v1/uploads/{id}", new { file_size = 10L * Chunk });
        Assert.Equal(10L * Chunk, grown.Long("file_size"));
        Assert.Equal(10, grown.Long("total_chunks"));
        Assert.Equal([0, 1], grown.GetProperty("received_chunks").EnumerateArray().Select(e => e.GetInt32()));
        for (int i = 2; i < 5; i++)
        {
            await PutAsync(id, i, Part(data, i));
        }

        JsonElement exact = await Api.OkAsync(Owner, HttpMethod.Patch, $"api/v1/uploads/{id}", new { file_size = data.Length, checksum_sha256 = Api.Sha256(data) });
        Assert.Equal(6, exact.Long("total_chunks"));
        Assert.Equal([5], exact.GetProperty("missing_chunks").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(Api.Sha256(data), exact.Str("checksum_sha256"));
        await PutAsync(id, 5, Part(data, 5));

        JsonElement file = await Api.OkAsync(Owner, HttpMethod.Post, $"api/v1/uploads/{id}/complete", expected: HttpStatusCode.Created);
        Assert.Equal(Api.Sha256(data), file.Str("checksum_sha256"));
        Assert.Equal(data.Length, file.Long("size"));
        Assert.Equal(data, await Api.DownloadAsync(Owner, file.Id()));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(Server.DataDirectory, "uploads")));
    }

    [Fact]
    public async Task AChunkThatWouldChangeLengthIsRefusedWith409AndNothingChanges()
    {
        byte[] data = Api.RandomBytes(Chunk * 4, 12);
        string id = await CreateAsync("shrink.bin", 4L * Chunk);
        await PutAsync(id, 0, Part(data, 0));
        await PutAsync(id, 2, Part(data, 2));

        // Chunk 2 would become a partial last chunk, then fall outside the file.
        await Api.ErrorAsync(Owner, HttpMethod.Patch, $"api/v1/uploads/{id}", HttpStatusCode.Conflict, "UPLOAD_RESIZE_CONFLICT", new { file_size = (2L * Chunk) + 10 });
        await Api.ErrorAsync(Owner, HttpMethod.Patch, $"api/v1/uploads/{id}", HttpStatusCode.Conflict, "UPLOAD_RESIZE_CONFLICT", new { file_size = 2L * Chunk });
        JsonElement status = await Api.OkAsync(Owner, HttpMethod.Get, $"api/v1/uploads/{id}");
        Assert.Equal(4L * Chunk, status.Long("file_size"));

        // Exactly the new last chunk, full: allowed.
        JsonElement exact = await Api.OkAsync(Owner, HttpMethod.Patch, $"api/v1/uploads/{id}", new { file_size = 3L * Chunk });
        Assert.Equal(3, exact.Long("total_chunks"));
        await PutAsync(id, 1, Part(data, 1));
        JsonElement file = await Api.OkAsync(Owner, HttpMethod.Post, $"api/v1/uploads/{id}/complete", expected: HttpStatusCode.Created);
        Assert.Equal(data[..(3 * Chunk)], await Api.DownloadAsync(Owner, file.Id()));
    }

    [Fact]
    public async Task APartialLastChunkCannotGrowAndCompletedOrAbortedSessionsAreGone()
    {
        byte[] data = Api.RandomBytes(Chunk + 100, 13);
        string id = await CreateAsync("partial.bin", data.Length);
        await PutAsync(id, 1, Part(data, 1));
        await Api.ErrorAsync(Owner, HttpMethod.Patch, $"api/v1/uploads/{id}", HttpStatusCode.Conflict, "UPLOAD_RESIZE_CONFLICT", new { file_size = 3L * Chunk });
        await Api.ErrorAsync(Owner, HttpMethod.Patch, $"api/v1/uploads/{id}", HttpStatusCode.UnprocessableEntity, "VALIDATION_ERROR", new { file_size = -1 });
        await Api.ErrorAsync(Owner, HttpMethod.Patch, $"api/v1/uploads/{id}", HttpStatusCode.UnprocessableEntity, "VALIDATION_ERROR", new { });
        await PutAsync(id, 0, Part(data, 0));
        await Api.OkAsync(Owner, HttpMethod.Post, $"api/v1/uploads/{id}/complete", expected: HttpStatusCode.Created);
        await Api.ErrorAsync(Owner, HttpMethod.Patch, $"api/v1/uploads/{id}", HttpStatusCode.Gone, "GONE", new { file_size = 10 });

        string aborted = await CreateAsync("aborted.bin", 10);
        (_, _, HttpResponseMessage deleted) = await Api.SendAsync(Owner, HttpMethod.Delete, $"api/v1/uploads/{aborted}");
        deleted.Dispose();
        await Api.ErrorAsync(Owner, HttpMethod.Patch, $"api/v1/uploads/{aborted}", HttpStatusCode.Gone, "GONE", new { file_size = 20 });
        await Api.ErrorAsync(Owner, HttpMethod.Patch, "api/v1/uploads/ups_unknown", HttpStatusCode.NotFound, "NOT_FOUND", new { file_size = 20 });
    }

    [Fact]
    public async Task TheNewSizeIsCheckedAgainstTheFileSizeCapAndTheHashOfAResizedSessionIsRight()
    {
        string id = await CreateAsync("cap.bin", Chunk);
        await Api.ErrorAsync(Owner, HttpMethod.Patch, $"api/v1/uploads/{id}", (HttpStatusCode)413, "PAYLOAD_TOO_LARGE", new { file_size = 1L << 50 });

        // A wrong checksum set by PATCH is enforced at /complete like one given at create.
        byte[] data = Api.RandomBytes(Chunk * 2, 14);
        string other = await CreateAsync("sum.bin", 4L * Chunk);
        await PutAsync(other, 0, Part(data, 0));
        await PutAsync(other, 1, Part(data, 1));
        await Api.OkAsync(Owner, HttpMethod.Patch, $"api/v1/uploads/{other}", new { file_size = data.Length, checksum_sha256 = new string('0', 64) });
        await Api.ErrorAsync(Owner, HttpMethod.Post, $"api/v1/uploads/{other}/complete", HttpStatusCode.UnprocessableEntity, "CHECKSUM_MISMATCH");
    }
}

/// <summary>A server started without the extension answers 405, like a real ScaiDrive.</summary>
public sealed class UploadResizeDisabledTests : ServerTest
{
    protected override LocalServerOptions? Options => new() { Configure = o => o.UploadResizeEnabled = false };

    [Fact]
    public async Task PatchIs405()
    {
        string id = (await Api.OkAsync(Owner, HttpMethod.Post, "api/v1/uploads", new { share_id = Server.DefaultShareId, file_name = "x.bin", file_size = 10 }, HttpStatusCode.Created)).Str("session_id");
        (HttpStatusCode status, _, HttpResponseMessage response) = await Api.SendAsync(Owner, HttpMethod.Patch, $"api/v1/uploads/{id}", new { file_size = 20 });
        using (response)
        {
            Assert.Equal(HttpStatusCode.MethodNotAllowed, status);
        }
    }
}
