using System.Security.Cryptography;
using ScaiDrive.TestSupport;

namespace ScaiDrive.Client.Tests.Integration;

/// <summary><see cref="ScaiDriveClient.ResizeUploadSessionAsync"/> against the local server, with and without the extension.</summary>
public sealed class UploadResizeClientTests
{
    private const int Chunk = 64 * 1024;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Resize_keeps_sent_chunks_and_the_session_completes_with_the_new_size()
    {
        await using LocalServer server = await LocalServer.StartAsync(ct: Ct);
        using ScaiDriveClient client = Clients.For(server);
        byte[] data = RandomNumberGenerator.GetBytes((Chunk * 3) + 500);
        UploadSession session = await client.CreateUploadSessionAsync(
            new CreateUploadSessionRequest(new ShareId(server.DefaultShareId), null, "r.bin", 8L * Chunk) { ChunkSize = Chunk }, Ct);
        await client.PutChunkAsync(session.Id, 0, data.AsMemory(0, Chunk), Ct);

        string sha = Convert.ToHexStringLower(SHA256.HashData(data));
        UploadResizeResult result = await client.ResizeUploadSessionAsync(session.Id, data.Length, sha, Ct);
        Assert.False(result.IsNotSupported);
        Assert.Equal(data.Length, result.Session!.FileSize);
        Assert.Equal(4, result.Session.TotalChunks);
        Assert.Equal([1, 2, 3], result.Session.MissingChunks);

        // The ordinary resume path sends only what is missing.
        var source = new RecordingSource(data);
        FileItem file = await client.UploadResumableAsync(
            new CreateUploadSessionRequest(new ShareId(server.DefaultShareId), null, "r.bin", data.Length) { ChunkSize = Chunk },
            source,
            new ResumableUploadOptions { ExistingSessionId = session.Id },
            cancellationToken: Ct);
        Assert.Equal(sha, file.ChecksumSha256);
        Assert.DoesNotContain(0L, source.Offsets);

        // A chunk that would change length: 409, a Conflict with our code.
        UploadSession other = await client.CreateUploadSessionAsync(
            new CreateUploadSessionRequest(new ShareId(server.DefaultShareId), null, "s.bin", 4L * Chunk) { ChunkSize = Chunk }, Ct);
        await client.PutChunkAsync(other.Id, 2, data.AsMemory(0, Chunk), Ct);
        ScaiDriveApiException refused = await Assert.ThrowsAsync<ScaiDriveApiException>(() => client.ResizeUploadSessionAsync(other.Id, (2L * Chunk) + 1, null, Ct));
        Assert.Equal(ScaiDriveErrorKind.Conflict, refused.Kind);
        Assert.Equal("UPLOAD_RESIZE_CONFLICT", refused.ErrorCode);
        Assert.True(client.UploadResizeMaybeSupported);

        // An unknown session is NotFound, not "unsupported".
        ScaiDriveApiException missing = await Assert.ThrowsAsync<ScaiDriveApiException>(() => client.ResizeUploadSessionAsync(new UploadSessionId("ups_nope"), 10, null, Ct));
        Assert.Equal(ScaiDriveErrorKind.NotFound, missing.Kind);
        Assert.True(client.UploadResizeMaybeSupported);
    }

    [Fact]
    public async Task A_server_without_the_patch_is_NotSupported_and_is_asked_once()
    {
        await using LocalServer server = await LocalServer.StartAsync(new LocalServerOptions { Configure = o => o.UploadResizeEnabled = false }, Ct);
        using ScaiDriveClient client = Clients.For(server);
        UploadSession session = await client.CreateUploadSessionAsync(
            new CreateUploadSessionRequest(new ShareId(server.DefaultShareId), null, "n.bin", 4L * Chunk) { ChunkSize = Chunk }, Ct);
        Assert.True(client.UploadResizeMaybeSupported);
        UploadResizeResult first = await client.ResizeUploadSessionAsync(session.Id, 2L * Chunk, null, Ct);
        Assert.True(first.IsNotSupported);
        Assert.False(client.UploadResizeMaybeSupported);

        // Remembered: answered without asking, even for a session that does not exist.
        Assert.True((await client.ResizeUploadSessionAsync(new UploadSessionId("ups_nope"), 10, null, Ct)).IsNotSupported);
        Assert.Equal(4L * Chunk, (await client.GetUploadSessionAsync(session.Id, Ct)).FileSize);
    }
}
