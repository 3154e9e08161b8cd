using System.Net;
using System.Text.Json;
using ScaiDrive.TestSupport;
using Xunit;

namespace ScaiDrive.Server.Tests;

/// <summary>
/// The resumable-upload session file (<c>uploads/&lt;id&gt;/data</c>) and its background hasher: rewritten chunks,
/// chunk sizes other than the 4 MiB index granularity, and what survives a clean restart or a crash.
/// </summary>
public sealed class UploadStagingTests : IAsyncLifetime
{
    private const int Chunk = 64 * 1024;
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "scaidrive-test-" + Guid.NewGuid().ToString("N"));
    private LocalServer? _server;
    private HttpClient? _owner;

    private LocalServer Server => _server!;

    private HttpClient Owner => _owner!;

    public async ValueTask InitializeAsync() => await StartAsync();

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    private async Task StartAsync()
    {
        _server = await LocalServer.StartAsync(new LocalServerOptions { DataDirectory = _directory }, TestContext.Current.CancellationToken);
        _owner = _server.CreateHttpClient(_server.OwnerToken);
    }

    private async Task StopAsync()
    {
        _owner?.Dispose();
        _owner = null;
        if (_server is not null)
        {
            await _server.DisposeAsync();
            _server = null;
        }
    }

    private async Task<string> CreateAsync(string name, long size, int chunkSize) =>
        (await Api.OkAsync(Owner, HttpMethod.Post, "api/v1/uploads",
            new { share_id = Server.DefaultShareId, file_name = name, file_size = size, chunk_size = chunkSize }, HttpStatusCode.Created)).Str("session_id");

    private async Task PutAsync(string session, int index, byte[] data)
    {
        using var content = new ByteArrayContent(data);
        using var request = new HttpRequestMessage(HttpMethod.Put, $"api/v1/uploads/{session}/chunks/{index}") { Content = content };
        request.Headers.Add("X-Chunk-SHA256", Api.Sha256(data));
        using HttpResponseMessage response = await Owner.SendAsync(request, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static byte[] Part(byte[] data, int index, int chunkSize) => data[(index * chunkSize)..Math.Min(data.Length, (index + 1) * chunkSize)];

    private async Task<int[]> MissingAsync(string session) =>
        [.. (await Api.OkAsync(Owner, HttpMethod.Get, $"api/v1/uploads/{session}")).GetProperty("missing_chunks").EnumerateArray().Select(e => e.GetInt32())];

    [Fact]
    public async Task ChunksRewrittenAfterTheHasherReadThemCompleteWithTheNewBytes()
    {
        const int Chunks = 24;
        byte[] data = Api.RandomBytes(Chunks * Chunk, 31);
        string session = await CreateAsync("rewrite.bin", data.Length, Chunk);
        for (int i = 0; i < Chunks; i++)
        {
            await PutAsync(session, i, Part(data, i, Chunk));
        }

        // Chunks 0 and 11 change after the hasher has had every chance to pass them, and again while it may be reading.
        for (int round = 0; round < 4; round++)
        {
            byte[] fresh = Api.RandomBytes(Chunk, 100 + round);
            int index = round % 2 == 0 ? 0 : 11;
            fresh.CopyTo(data, index * Chunk);
            await PutAsync(session, index, fresh);
        }

        JsonElement file = await Api.OkAsync(Owner, HttpMethod.Post, $"api/v1/uploads/{session}/complete", expected: HttpStatusCode.Created);
        Assert.Equal(Api.Sha256(data), file.Str("checksum_sha256"));
        Assert.Equal(data, await Api.DownloadAsync(Owner, file.Id()));
    }

    [Fact]
    public async Task SmallChunksStillFeedThe4MiBDedupIndex()
    {
        const int Big = 4 * 1024 * 1024;
        byte[] data = Api.RandomBytes(Big + 1000, 32);
        string session = await CreateAsync("small-chunks.bin", data.Length, Chunk);
        int total = (data.Length + Chunk - 1) / Chunk;
        await Task.WhenAll(Enumerable.Range(0, total).Reverse().Select(i => PutAsync(session, i, Part(data, i, Chunk))));
        JsonElement file = await Api.OkAsync(Owner, HttpMethod.Post, $"api/v1/uploads/{session}/complete", expected: HttpStatusCode.Created);
        Assert.Equal(Api.Sha256(data), file.Str("checksum_sha256"));

        // A new version announced with 4 MiB chunk hashes finds its first chunk in the index built by the hasher.
        byte[] modified = (byte[])data.Clone();
        modified[^1] ^= 0x5A;
        JsonElement second = await Api.OkAsync(Owner, HttpMethod.Post, "api/v1/uploads", new
        {
            share_id = Server.DefaultShareId, file_name = "small-chunks.bin", file_size = modified.Length, chunk_size = Big,
            replace_file_id = file.Id(), chunk_hashes = new[] { Api.Sha256(Part(modified, 0, Big)), Api.Sha256(Part(modified, 1, Big)) },
        }, HttpStatusCode.Created);
        Assert.Equal([0], second.GetProperty("existing_chunks").EnumerateArray().Select(e => e.GetInt32()));
        await PutAsync(second.Str("session_id"), 1, Part(modified, 1, Big));
        JsonElement v2 = await Api.OkAsync(Owner, HttpMethod.Post, $"api/v1/uploads/{second.Str("session_id")}/complete", expected: HttpStatusCode.Created);
        Assert.Equal(modified, await Api.DownloadAsync(Owner, v2.Id()));
    }

    [Fact]
    public async Task ACleanRestartKeepsStagedChunksAndTheSessionCompletes()
    {
        byte[] data = Api.RandomBytes((5 * Chunk) + 123, 33);
        string session = await CreateAsync("restart.bin", data.Length, Chunk);
        for (int i = 0; i < 3; i++)
        {
            await PutAsync(session, i, Part(data, i, Chunk));
        }

        await StopAsync();
        Assert.True(File.Exists(Path.Combine(_directory, "uploads", ".clean-shutdown")));
        await StartAsync();
        Assert.False(File.Exists(Path.Combine(_directory, "uploads", ".clean-shutdown")));

        Assert.Equal(new[] { 3, 4, 5 }, await MissingAsync(session));
        for (int i = 3; i < 6; i++)
        {
            await PutAsync(session, i, Part(data, i, Chunk));
        }

        JsonElement file = await Api.OkAsync(Owner, HttpMethod.Post, $"api/v1/uploads/{session}/complete", expected: HttpStatusCode.Created);
        Assert.Equal(data, await Api.DownloadAsync(Owner, file.Id()));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(_directory, "uploads")));
    }

    [Fact]
    public async Task AfterACrashChunksWhoseBytesAreNotOnDiskAreSentAgain()
    {
        byte[] data = Api.RandomBytes(4 * Chunk, 34);
        string session = await CreateAsync("crash.bin", data.Length, Chunk);
        for (int i = 0; i < 4; i++)
        {
            await PutAsync(session, i, Part(data, i, Chunk));
        }

        await StopAsync();

        // What a power cut can leave: chunk 2 recorded in the database, its bytes never written back (zeros).
        string dataFile = Path.Combine(_directory, "uploads", session, "data");
        await using (var file = new FileStream(dataFile, FileMode.Open, FileAccess.Write))
        {
            file.Position = 2 * Chunk;
            await file.WriteAsync(new byte[Chunk], TestContext.Current.CancellationToken);
        }

        File.Delete(Path.Combine(_directory, "uploads", ".clean-shutdown"));
        await StartAsync();
        Assert.Equal(new[] { 2 }, await MissingAsync(session));
        await Api.ErrorAsync(Owner, HttpMethod.Post, $"api/v1/uploads/{session}/complete", HttpStatusCode.Conflict, "UPLOAD_INCOMPLETE");
        await PutAsync(session, 2, Part(data, 2, Chunk));
        JsonElement completed = await Api.OkAsync(Owner, HttpMethod.Post, $"api/v1/uploads/{session}/complete", expected: HttpStatusCode.Created);
        Assert.Equal(Api.Sha256(data), completed.Str("checksum_sha256"));
        Assert.Equal(data, await Api.DownloadAsync(Owner, completed.Id()));
    }

    [Fact]
    public async Task TheSameContentTwiceIsStoredOnceAndBothSessionFilesGo()
    {
        byte[] data = Api.RandomBytes((3 * Chunk) + 7, 35);
        var ids = new List<string>();
        foreach (string name in new[] { "one.bin", "two.bin" })
        {
            string session = await CreateAsync(name, data.Length, Chunk);
            for (int i = 0; i < 4; i++)
            {
                await PutAsync(session, i, Part(data, i, Chunk));
            }

            ids.Add((await Api.OkAsync(Owner, HttpMethod.Post, $"api/v1/uploads/{session}/complete", expected: HttpStatusCode.Created)).Id());
        }

        Assert.NotEqual(ids[0], ids[1]);
        foreach (string id in ids)
        {
            Assert.Equal(data, await Api.DownloadAsync(Owner, id));
        }

        string sha = Api.Sha256(data);
        Assert.Single(Directory.EnumerateFiles(Path.Combine(_directory, "blobs"), sha, SearchOption.AllDirectories));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(_directory, "uploads")));
    }
}
