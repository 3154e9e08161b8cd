using System.Net;
using System.Text.Json;
using ScaiDrive.TestSupport;
using Xunit;

namespace ScaiDrive.Server.Tests;

public sealed class UploadTests : ServerTest
{
    private const int Chunk = 64 * 1024;
    private readonly ManualClock _clock = new();

    private string Share => Server.DefaultShareId;

    protected override LocalServerOptions? Options => new() { Configure = o => o.TimeProvider = _clock };

    private async Task<JsonElement> CreateAsync(object body) => await Api.OkAsync(Owner, HttpMethod.Post, "api/v1/uploads", body, HttpStatusCode.Created);

    private async Task<HttpResponseMessage> PutAsync(string session, int index, byte[] data, string? sha = null)
    {
        using var content = new ByteArrayContent(data);
        using var request = new HttpRequestMessage(HttpMethod.Put, $"api/v1/uploads/{session}/chunks/{index}") { Content = content };
        if (sha is not null)
        {
            request.Headers.Add("X-Chunk-SHA256", sha);
        }

        return await Owner.SendAsync(request, TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task ParallelOutOfOrderChunksComplete()
    {
        byte[] data = Api.RandomBytes((Chunk * 5) + 123, 4);
        JsonElement session = await CreateAsync(new { share_id = Share, file_name = "big.bin", file_size = data.Length, chunk_size = Chunk, checksum_sha256 = Api.Sha256(data) });
        string id = session.Str("session_id");
        Assert.Equal(id, session.Id());
        Assert.StartsWith("ups_", id);
        Assert.Equal(6, session.Long("total_chunks"));
        Assert.Equal("active", session.Str("status"));

        await Api.ErrorAsync(Owner, HttpMethod.Post, $"api/v1/uploads/{id}/complete", HttpStatusCode.Conflict, "UPLOAD_INCOMPLETE");
        await Task.WhenAll(Enumerable.Range(0, 6).Reverse().Select(async i =>
        {
            byte[] part = data[(i * Chunk)..Math.Min(data.Length, (i + 1) * Chunk)];
            using HttpResponseMessage put = await PutAsync(id, i, part, Api.Sha256(part));
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        }));
        using (HttpResponseMessage again = await PutAsync(id, 5, data[(5 * Chunk)..], null))
        {
            Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        }

        JsonElement status = await Api.OkAsync(Owner, HttpMethod.Get, $"api/v1/uploads/{id}");
        Assert.Empty(status.GetProperty("missing_chunks").EnumerateArray());
        Assert.Equal(data.Length, status.Long("bytes_received"));
        JsonElement file = await Api.OkAsync(Owner, HttpMethod.Post, $"api/v1/uploads/{id}/complete", expected: HttpStatusCode.Created);
        Assert.Equal(file.Id(), file.Str("file_id"));
        Assert.Equal(Api.Sha256(data), file.Str("checksum_sha256"));
        Assert.Equal(data, await Api.DownloadAsync(Owner, file.Id()));
        JsonElement repeat = await Api.OkAsync(Owner, HttpMethod.Post, $"api/v1/uploads/{id}/complete", expected: HttpStatusCode.Created);
        Assert.Equal(file.Id(), repeat.Id());
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(Server.DataDirectory, "uploads")));
    }

    [Fact]
    public async Task ChecksumMismatchesAre422()
    {
        byte[] data = Api.RandomBytes(100, 5);
        JsonElement session = await CreateAsync(new { share_id = Share, file_name = "c.bin", file_size = 100, chunk_size = Chunk, checksum_sha256 = new string('0', 64) });
        string id = session.Str("session_id");
        using (HttpResponseMessage bad = await PutAsync(id, 0, data, new string('a', 64)))
        {
            Assert.Equal(HttpStatusCode.UnprocessableEntity, bad.StatusCode);
            Api.AssertEnvelope(JsonDocument.Parse(await bad.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement, bad, "CHECKSUM_MISMATCH");
        }

        using (HttpResponseMessage wrongSize = await PutAsync(id, 0, data[..50]))
        {
            Assert.Equal(HttpStatusCode.UnprocessableEntity, wrongSize.StatusCode);
        }

        using (HttpResponseMessage good = await PutAsync(id, 0, data, Api.Sha256(data)))
        {
            Assert.Equal(HttpStatusCode.OK, good.StatusCode);
        }

        await Api.ErrorAsync(Owner, HttpMethod.Post, $"api/v1/uploads/{id}/complete", HttpStatusCode.UnprocessableEntity, "CHECKSUM_MISMATCH");
    }

    [Fact]
    public async Task SessionsExpireAfterInactivity()
    {
        JsonElement session = await CreateAsync(new { share_id = Share, file_name = "e.bin", file_size = 10, chunk_size = Chunk });
        string id = session.Str("session_id");
        _clock.Advance(TimeSpan.FromHours(23));
        using (HttpResponseMessage put = await PutAsync(id, 0, new byte[10]))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        }

        _clock.Advance(TimeSpan.FromHours(23));
        await Api.OkAsync(Owner, HttpMethod.Get, $"api/v1/uploads/{id}");
        _clock.Advance(TimeSpan.FromHours(2));
        await Api.ErrorAsync(Owner, HttpMethod.Post, $"api/v1/uploads/{id}/complete", HttpStatusCode.Gone, "UPLOAD_SESSION_EXPIRED");
        await Api.ErrorAsync(Owner, HttpMethod.Get, $"api/v1/uploads/{id}", HttpStatusCode.Gone, "UPLOAD_SESSION_EXPIRED");
    }

    [Fact]
    public async Task AbortAndZeroByteSessions()
    {
        JsonElement session = await CreateAsync(new { share_id = Share, file_name = "a.bin", file_size = 10 });
        Assert.Equal(4 * 1024 * 1024, session.Long("chunk_size"));
        await Api.OkAsync(Owner, HttpMethod.Delete, $"api/v1/uploads/{session.Str("session_id")}", expected: HttpStatusCode.NoContent);
        await Api.ErrorAsync(Owner, HttpMethod.Get, $"api/v1/uploads/{session.Str("session_id")}", HttpStatusCode.Gone, "GONE");

        JsonElement empty = await CreateAsync(new { share_id = Share, file_name = "zero.bin", file_size = 0 });
        Assert.Equal(0, empty.Long("total_chunks"));
        JsonElement file = await Api.OkAsync(Owner, HttpMethod.Post, $"api/v1/uploads/{empty.Str("session_id")}/complete", expected: HttpStatusCode.Created);
        Assert.Equal(0, file.Long("size"));
        await Api.ErrorAsync(Owner, HttpMethod.Post, "api/v1/uploads", HttpStatusCode.UnprocessableEntity, "VALIDATION_ERROR", new { share_id = Share, file_name = "x", file_size = 5, chunk_size = 1000 });
        await Api.ErrorAsync(Owner, HttpMethod.Post, "api/v1/uploads", HttpStatusCode.Conflict, "NAME_CONFLICT", new { share_id = Share, file_name = "zero.bin", file_size = 5 });
    }

    [Fact]
    public async Task StaleBaseVersionIsSyncConflict()
    {
        JsonElement file = await Api.UploadAsync(Owner, Share, null, "s.txt", "v1"u8.ToArray());
        string v1 = file.Str("version_id");
        JsonElement first = await CreateAsync(new { share_id = Share, file_name = "s.txt", file_size = 2, chunk_size = Chunk, replace_file_id = file.Id(), base_version_id = v1 });
        JsonElement second = await CreateAsync(new { share_id = Share, file_name = "s.txt", file_size = 2, chunk_size = Chunk, replace_file_id = file.Id(), base_version_id = v1 });
        foreach (JsonElement s in new[] { first, second })
        {
            using HttpResponseMessage put = await PutAsync(s.Str("session_id"), 0, "v2"u8.ToArray());
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        }

        JsonElement v2 = await Api.OkAsync(Owner, HttpMethod.Post, $"api/v1/uploads/{first.Str("session_id")}/complete", expected: HttpStatusCode.Created);
        Assert.Equal(2, v2.Long("version"));
        await Api.ErrorAsync(Owner, HttpMethod.Post, $"api/v1/uploads/{second.Str("session_id")}/complete", HttpStatusCode.Conflict, "SYNC_CONFLICT");
        await Api.ErrorAsync(Owner, HttpMethod.Post, "api/v1/uploads", HttpStatusCode.Conflict, "SYNC_CONFLICT",
            new { share_id = Share, file_name = "s.txt", file_size = 2, replace_file_id = file.Id(), base_version_id = v1 });
    }

    [Fact]
    public async Task ChunkHashesOfStoredContentNeedNotBeSentAgain()
    {
        const int Big = 4 * 1024 * 1024;
        byte[] original = Api.RandomBytes((Big * 2) + 1000, 6);
        JsonElement s1 = await CreateAsync(new { share_id = Share, file_name = "d.bin", file_size = original.Length, chunk_size = Big });
        for (int i = 0; i < 3; i++)
        {
            using HttpResponseMessage put = await PutAsync(s1.Str("session_id"), i, original[(i * Big)..Math.Min(original.Length, (i + 1) * Big)]);
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        }

        JsonElement file = await Api.OkAsync(Owner, HttpMethod.Post, $"api/v1/uploads/{s1.Str("session_id")}/complete", expected: HttpStatusCode.Created);
        byte[] modified = (byte[])original.Clone();
        modified[^1] ^= 0xFF;
        string[] hashes = [.. Enumerable.Range(0, 3).Select(i => Api.Sha256(modified[(i * Big)..Math.Min(modified.Length, (i + 1) * Big)]))];
        JsonElement s2 = await CreateAsync(new
        {
            share_id = Share, file_name = "d.bin", file_size = modified.Length, chunk_size = Big, replace_file_id = file.Id(),
            base_version_id = file.Str("version_id"), chunk_hashes = hashes,
        });
        Assert.Equal([0, 1], s2.GetProperty("existing_chunks").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal([2], s2.GetProperty("missing_chunks").EnumerateArray().Select(e => e.GetInt32()));
        using (HttpResponseMessage put = await PutAsync(s2.Str("session_id"), 2, modified[(2 * Big)..]))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        }

        JsonElement v2 = await Api.OkAsync(Owner, HttpMethod.Post, $"api/v1/uploads/{s2.Str("session_id")}/complete", expected: HttpStatusCode.Created);
        Assert.Equal(Api.Sha256(modified), v2.Str("checksum_sha256"));
        Assert.Equal(modified, await Api.DownloadAsync(Owner, file.Id()));
    }
}
