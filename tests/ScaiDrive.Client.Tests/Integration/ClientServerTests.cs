using System.Net;
using System.Security.Cryptography;
using ScaiDrive.TestSupport;

namespace ScaiDrive.Client.Tests.Integration;

/// <summary>The client against the real local server over HTTP, without faults: every operation the VFS needs.</summary>
public sealed class ClientServerTests : IAsyncLifetime
{
    private LocalServer _server = null!;
    private ScaiDriveClient _client = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _server = await LocalServer.StartAsync(ct: Ct);
        _client = Clients.For(_server);
    }

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _server.DisposeAsync();
    }

    private ShareId Share => new(_server.DefaultShareId);

    [Fact]
    public async Task Identity_SharesAndQuota()
    {
        var me = await _client.GetMeAsync(Ct);
        Assert.Equal(_server.OwnerUserId, me.Id);

        var shares = await _client.ListMySharesAsync(Ct);
        var mine = Assert.Single(shares, s => s.Id == Share);
        Assert.Equal(ShareRole.Owner, mine.Role);

        var share = await _client.GetShareAsync(Share, Ct);
        Assert.Equal(ShareRole.Owner, share.Role);

        var quota = await _client.GetMyQuotaAsync(Ct);
        Assert.True(quota.UsedBytes >= 0);
    }

    [Fact]
    public async Task FoldersAndFiles_CreateListRenameMoveCopyDeleteRestore()
    {
        var docs = await _client.CreateFolderAsync(Share, null, "docs", Ct);
        var archive = await _client.CreateFolderAsync(Share, null, "archive", Ct);
        Assert.Equal("docs", (await _client.GetFolderAsync(docs.Id, Ct)).Name);

        var nameTaken = await Assert.ThrowsAsync<ScaiDriveApiException>(() => _client.CreateFolderAsync(Share, null, "docs", Ct));
        Assert.Equal(ScaiDriveErrorKind.NameConflict, nameTaken.Kind);

        byte[] content = RandomNumberGenerator.GetBytes(10_000);
        var file = await _client.UploadSmallFileAsync(Share, docs.Id, "a.bin", content, Ct);
        Assert.Equal(content.Length, file.Size);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(content)), file.ChecksumSha256, ignoreCase: true);
        Assert.NotNull(file.VersionId);

        var listing = await _client.ListChildrenAsync(Share, docs.Id, cancellationToken: Ct);
        Assert.Equal(["a.bin"], listing.Files.Select(f => f.Name));

        var root = await _client.ListChildrenAsync(Share, null, cancellationToken: Ct);
        Assert.Contains(root.Folders, f => f.Id == docs.Id);

        var renamed = await _client.RenameFileAsync(file.Id, "b.bin", Ct);
        Assert.Equal("b.bin", renamed.Name);

        var moved = await _client.MoveFileAsync(file.Id, archive.Id, null, cancellationToken: Ct);
        Assert.Equal(archive.Id, moved.FolderId);

        var copy = await _client.CopyFileAsync(file.Id, docs.Id, null, "copy.bin", Ct);
        Assert.NotEqual(file.Id, copy.Id);
        Assert.Equal(file.ChecksumSha256, copy.ChecksumSha256);

        var renamedFolder = await _client.RenameFolderAsync(archive.Id, "old", Ct);
        Assert.Equal("old", renamedFolder.Name);
        var movedFolder = await _client.MoveFolderAsync(archive.Id, docs.Id, null, Ct);
        Assert.Equal(docs.Id, movedFolder.ParentId);

        await _client.DeleteFileAsync(copy.Id, cancellationToken: Ct);
        var trash = await _client.ListChildrenAsync(Share, docs.Id, includeDeleted: true, cancellationToken: Ct);
        Assert.Contains(trash.Files, f => f.Id == copy.Id && f.IsDeleted);
        var restored = await _client.RestoreFileFromTrashAsync(copy.Id, Ct);
        Assert.False(restored.IsDeleted);

        await _client.DeleteFolderAsync(docs.Id, permanent: true, Ct);
        var gone = await Assert.ThrowsAsync<ScaiDriveApiException>(() => _client.GetFolderAsync(docs.Id, Ct));
        Assert.Equal(ScaiDriveErrorKind.NotFound, gone.Kind);
    }

    [Fact]
    public async Task Content_RangesStreamsAndETag()
    {
        byte[] content = RandomNumberGenerator.GetBytes(300_000);
        var file = await _client.UploadSmallFileAsync(Share, null, "r.bin", content, Ct);

        var buffer = new byte[100_000];
        Assert.Equal(100_000, await _client.ReadRangeAsync(file.Id, 123, buffer, cancellationToken: Ct));
        Assert.True(buffer.AsSpan().SequenceEqual(content.AsSpan(123, 100_000)));

        // Short at the end, zero past it.
        Assert.Equal(50_000, await _client.ReadRangeAsync(file.Id, 250_000, buffer, cancellationToken: Ct));
        Assert.Equal(0, await _client.ReadRangeAsync(file.Id, 300_000, buffer, cancellationToken: Ct));

        // The ETag is the content's SHA-256: a stale one is ContentChanged.
        var changed = await Assert.ThrowsAsync<ScaiDriveApiException>(() =>
            _client.ReadRangeAsync(file.Id, 0, buffer, expectedETag: "\"0000\"", cancellationToken: Ct));
        Assert.Equal(ScaiDriveErrorKind.ContentChanged, changed.Kind);
        Assert.Equal(100_000, await _client.ReadRangeAsync(file.Id, 0, buffer, expectedETag: file.ChecksumSha256, cancellationToken: Ct));

        await using var stream = await _client.OpenReadAsync(file.Id, 1000, 5000, cancellationToken: Ct);
        var copy = new MemoryStream();
        await stream.CopyToAsync(copy, Ct);
        Assert.True(copy.ToArray().AsSpan().SequenceEqual(content.AsSpan(1000, 5000)));
    }

    [Fact]
    public async Task ResumableReplace_WithBaseVersion_VersionsAndRestore()
    {
        byte[] v1 = RandomNumberGenerator.GetBytes(200_000);
        var file = await _client.UploadSmallFileAsync(Share, null, "doc.bin", v1, Ct);

        byte[] v2 = (byte[])v1.Clone();
        v2[150_000] ^= 0xFF;
        var updated = await _client.UploadResumableAsync(
            new CreateUploadSessionRequest(Share, null, "doc.bin", v2.Length) { ChunkSize = 64 * 1024, ReplaceFileId = file.Id, BaseVersionId = file.VersionId },
            new RecordingSource(v2),
            cancellationToken: Ct);
        Assert.Equal(file.Id, updated.Id);
        Assert.True(updated.Version > file.Version);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(v2)), updated.ChecksumSha256, ignoreCase: true);

        // A write based on the old version is a conflict.
        var stale = await Assert.ThrowsAsync<ScaiDriveApiException>(() => _client.UploadResumableAsync(
            new CreateUploadSessionRequest(Share, null, "doc.bin", v1.Length) { ChunkSize = 64 * 1024, ReplaceFileId = file.Id, BaseVersionId = file.VersionId },
            new RecordingSource(v1),
            cancellationToken: Ct));
        Assert.Equal(ScaiDriveErrorKind.VersionConflict, stale.Kind);

        var versions = await _client.ListVersionsAsync(file.Id, Ct);
        Assert.Equal(2, versions.Count);
        var result = await _client.RestoreVersionAsync(file.Id, file.Version, Ct);
        Assert.Equal(file.Version, result.RestoredFromVersion);
        var now = await _client.GetFileAsync(file.Id, Ct);
        Assert.Equal(file.ChecksumSha256, now.ChecksumSha256, ignoreCase: true);
    }

    [Fact]
    public async Task EmptyFile_ResumableWithZeroChunks()
    {
        var file = await _client.UploadResumableAsync(new CreateUploadSessionRequest(Share, null, "empty", 0), new RecordingSource([]), cancellationToken: Ct);
        Assert.Equal(0, file.Size);
        Assert.Equal(0, await _client.ReadRangeAsync(file.Id, 0, new byte[10], cancellationToken: Ct));
    }

    [Fact]
    public async Task ChangeFeed_CursorSetCursorAndExpiry()
    {
        const string device = "dev-client-tests";
        await _client.RegisterDeviceAsync(new DeviceRegistration(device, "tests", "linux", "0.1"), Ct);
        await _client.RegisterDeviceAsync(new DeviceRegistration(device, "tests", "linux", "0.1"), Ct);
        var status = await _client.GetSyncStatusAsync(Share, device, Ct);

        var folder = await _client.CreateFolderAsync(Share, null, "feed", Ct);
        var file = await _client.UploadSmallFileAsync(Share, folder.Id, "x.txt", "x"u8.ToArray(), Ct);
        await _client.RenameFileAsync(file.Id, "y.txt", Ct);

        var batch = await _client.GetChangesAsync(Share, status.Cursor, cancellationToken: Ct);
        Assert.Contains(batch.Changes, c => c.ResourceId == folder.Id.Value && c.ChangeType == ChangeType.Created && c.ResourceType == ResourceType.Folder);
        Assert.Contains(batch.Changes, c => c.ResourceId == file.Id.Value && c.ChangeType == ChangeType.Renamed && c.Metadata?.Name == "y.txt");
        Assert.All(batch.Changes, c => Assert.True(c.Position > 0));

        await _client.SetCursorAsync(Share, device, batch.Cursor, Ct);
        Assert.Equal(batch.Cursor, (await _client.GetSyncStatusAsync(Share, device, Ct)).Cursor);
        Assert.Empty((await _client.GetChangesAsync(Share, batch.Cursor, cancellationToken: Ct)).Changes);

        await _server.CompactChangesAsync();
        var expired = await Assert.ThrowsAsync<ScaiDriveApiException>(() => _client.GetChangesAsync(Share, status.Cursor, cancellationToken: Ct));
        Assert.Equal(ScaiDriveErrorKind.Gone, expired.Kind);
    }

    [Fact]
    public async Task SyncSocket_NudgesOnChange()
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var nudged = new TaskCompletionSource<SyncNudge>(TaskCreationOptions.RunContinuationsAsynchronously);
        var run = _client.RunSyncSocketAsync(
            "dev-socket",
            n =>
            {
                if (n.EventType == "change")
                {
                    nudged.TrySetResult(n);
                }

                return ValueTask.CompletedTask;
            },
            up =>
            {
                if (up)
                {
                    connected.TrySetResult();
                }
            },
            cts.Token);

        await connected.Task.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        // The subscribe frame is sent right after connecting; give the server a moment to register it, then change.
        FolderItem? folder = null;
        for (int i = 0; i < 50 && !nudged.Task.IsCompleted; i++)
        {
            folder = await _client.CreateFolderAsync(Share, null, $"nudge{i}", Ct);
            await Task.WhenAny(nudged.Task, Task.Delay(100, Ct));
        }

        var nudge = await nudged.Task.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        Assert.Equal(Share, nudge.ShareId);
        Assert.NotNull(nudge.Change);
        await cts.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        Assert.NotNull(folder);
    }

    [Fact]
    public async Task PermanentErrors_FailAtOnceWithTheirCode()
    {
        var loggers = new CapturingLoggerFactory();
        using var client = Clients.For(_server, loggers: loggers);
        var viewer = await _server.CreateUserAsync("viewer");
        await _server.AddMemberAsync(_server.DefaultShareId, viewer.UserId, "viewer");
        using var viewerClient = Clients.For(_server, token: viewer.Token, loggers: loggers);

        var forbidden = await Assert.ThrowsAsync<ScaiDriveApiException>(() => viewerClient.UploadSmallFileAsync(Share, null, "no.txt", "x"u8.ToArray(), Ct));
        Assert.Equal(ScaiDriveErrorKind.Forbidden, forbidden.Kind);
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        Assert.NotNull(forbidden.RequestId);

        await client.UploadSmallFileAsync(Share, null, "taken.txt", "x"u8.ToArray(), Ct);
        var conflict = await Assert.ThrowsAsync<ScaiDriveApiException>(() => client.UploadSmallFileAsync(Share, null, "taken.txt", "y"u8.ToArray(), Ct));
        Assert.Equal(ScaiDriveErrorKind.NameConflict, conflict.Kind);
        Assert.Equal("NAME_CONFLICT", conflict.ErrorCode);

        string small = await _server.CreateShareAsync("small", _server.OwnerUserId, quotaBytes: 1000);
        var quota = await Assert.ThrowsAsync<ScaiDriveApiException>(() => client.UploadSmallFileAsync(new ShareId(small), null, "big.bin", new byte[5000], Ct));
        Assert.Equal(ScaiDriveErrorKind.QuotaExceeded, quota.Kind);
        Assert.Equal("QUOTA_EXCEEDED", quota.ErrorCode);

        Assert.DoesNotContain(loggers.Events, e => e.Id.Id == 3001);
    }

    [Fact]
    public async Task Unauthorized_WithRefreshToken_RefreshesOnceAndContinues()
    {
        var (_, refresh) = await _server.MintTokenAsync(_server.OwnerUserId, TimeSpan.FromHours(1));
        var loggers = new CapturingLoggerFactory();
        using var client = Clients.For(_server, token: "not-a-valid-token", refreshToken: refresh, loggers: loggers);

        // Concurrent callers all get 401 and share one refresh; a second refresh would spend the rotated-away token and fail.
        var profiles = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => client.GetMeAsync(Ct)));
        Assert.All(profiles, p => Assert.Equal(_server.OwnerUserId, p.Id));
        Assert.Single(loggers.Events, e => e.Id.Id == 3002);

        // The old refresh token was rotated away by the server.
        using var raw = _server.CreateHttpClient(null);
        using var response = await raw.PostAsync(
            "api/v1/auth/token",
            new FormUrlEncodedContent([new("grant_type", "refresh_token"), new("refresh_token", refresh)]),
            Ct);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Unauthorized_WithoutRefreshToken_FailsWithoutLeakingTheToken()
    {
        using var client = Clients.For(_server, token: "tok-secret-garbage-123");
        var ex = await Assert.ThrowsAsync<ScaiDriveApiException>(() => client.GetMeAsync(Ct));
        Assert.Equal(ScaiDriveErrorKind.Unauthorized, ex.Kind);
        Assert.DoesNotContain("tok-secret-garbage-123", ex.ToString());
    }
}
