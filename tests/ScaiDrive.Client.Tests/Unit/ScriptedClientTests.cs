using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using ScaiDrive.TestSupport;

namespace ScaiDrive.Client.Tests.Unit;

/// <summary>Client behaviour against a scripted in-process peer: retries, permanent errors, refresh, resume, probes.</summary>
public sealed class ScriptedClientTests
{
    private const string FileJson = """{"id":"fil_1","share_id":"shr_1","folder_id":null,"name":"a.txt","size":3,"version":1,"version_id":"ver_1","checksum_sha256":"abc","created_at":"2026-01-01T00:00:00Z","modified_at":"2026-01-01T00:00:00Z"}""";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task TransientFailures_AreRetriedThenSucceed()
    {
        var handler = new ScriptedHandler((req, n) => Task.FromResult(n switch
        {
            1 => ScriptedHandler.Error(HttpStatusCode.ServiceUnavailable, "UPSTREAM_UNAVAILABLE"),
            2 => throw new HttpRequestException("reset", new IOException("reset")),
            _ => ScriptedHandler.Json(HttpStatusCode.OK, FileJson),
        }));
        using var client = ScriptedHandler.Client(handler);
        var file = await client.GetFileAsync(new FileId("fil_1"), Ct);
        Assert.Equal("a.txt", file.Name);
        Assert.Equal(new VersionId("ver_1"), file.VersionId);
        Assert.Equal(3, handler.Count);
    }

    [Theory]
    [InlineData(403, "AUTHZ_PERMISSION_DENIED", ScaiDriveErrorKind.Forbidden)]
    [InlineData(409, "NAME_CONFLICT", ScaiDriveErrorKind.NameConflict)]
    [InlineData(507, "QUOTA_EXCEEDED", ScaiDriveErrorKind.QuotaExceeded)]
    [InlineData(404, "NOT_FOUND", ScaiDriveErrorKind.NotFound)]
    public async Task PermanentErrors_FailAtOnceWithTheirCode(int status, string code, ScaiDriveErrorKind kind)
    {
        var handler = new ScriptedHandler((_, _) => Task.FromResult(ScriptedHandler.Error((HttpStatusCode)status, code, requestId: "req_42")));
        using var client = ScriptedHandler.Client(handler);
        var ex = await Assert.ThrowsAsync<ScaiDriveApiException>(() => client.UploadSmallFileAsync(new ShareId("shr_1"), null, "a.txt", new byte[] { 1, 2, 3 }, Ct));
        Assert.Equal(kind, ex.Kind);
        Assert.Equal(code, ex.ErrorCode);
        Assert.Equal((HttpStatusCode)status, ex.StatusCode);
        Assert.Equal("req_42", ex.RequestId);
        Assert.Equal(1, handler.Count);
    }

    [Fact]
    public async Task RetriesRunOut_AsUnavailable()
    {
        var handler = new ScriptedHandler((_, _) => Task.FromResult(ScriptedHandler.Error(HttpStatusCode.ServiceUnavailable, "UPSTREAM_UNAVAILABLE")));
        using var client = ScriptedHandler.Client(handler, o => o with { MaxRetries = 2 });
        var ex = await Assert.ThrowsAsync<ScaiDriveApiException>(() => client.GetFileAsync(new FileId("fil_1"), Ct));
        Assert.Equal(ScaiDriveErrorKind.Unavailable, ex.Kind);
        Assert.Equal(3, handler.Count);
    }

    [Fact]
    public async Task TooManyRequests_WaitsRetryAfterWithJitterOnTheInjectedClock()
    {
        var time = new ManualTimeProvider();
        var handler = new ScriptedHandler((_, n) => Task.FromResult(n == 1
            ? ScriptedHandler.Json(HttpStatusCode.TooManyRequests, """{"error":{"code":"RATE_LIMITED","retry_after":10}}""", r => r.Headers.RetryAfter = new RetryConditionHeaderValue(TimeSpan.FromSeconds(10)))
            : ScriptedHandler.Json(HttpStatusCode.OK, FileJson)));
        using var client = ScriptedHandler.Client(handler, o => o with
        {
            TimeProvider = time,
            BaseBackoff = TimeSpan.FromMilliseconds(200),
            MaxBackoff = TimeSpan.FromSeconds(60),
            AttemptTimeout = TimeSpan.FromHours(1),
            OperationDeadline = TimeSpan.FromHours(2),
        });

        var call = client.GetFileAsync(new FileId("fil_1"), Ct);
        // The deadline timer plus the retry delay.
        await time.WaitForTimersAsync(2);
        Assert.Equal(1, handler.Count);
        var wait = time.NextDueAt!.Value - time.GetUtcNow();
        Assert.InRange(wait.TotalSeconds, 8, 12);

        time.Advance(wait - TimeSpan.FromMilliseconds(1));
        await Task.Delay(50, Ct);
        Assert.Equal(1, handler.Count);
        Assert.False(call.IsCompleted);

        time.Advance(TimeSpan.FromMilliseconds(1));
        var file = await call.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        Assert.Equal("a.txt", file.Name);
        Assert.Equal(2, handler.Count);
    }

    [Fact]
    public async Task Unauthorized_RefreshesOnceForConcurrentCallersThenContinues()
    {
        int refreshes = 0;
        var handler = new ScriptedHandler(async (req, _) =>
        {
            if (req.Uri.AbsolutePath == "/api/v1/auth/token")
            {
                Interlocked.Increment(ref refreshes);
                string form = Encoding.UTF8.GetString(req.Body);
                Assert.Contains("grant_type=refresh_token", form);
                Assert.Contains("refresh_token=rt_1", form);
                Assert.Null(req.Authorization);
                await Task.Delay(50);
                return ScriptedHandler.Json(HttpStatusCode.OK, """{"access_token":"tok_access_2","token_type":"Bearer","expires_in":3600,"refresh_token":"rt_2"}""");
            }

            return req.Authorization == "tok_access_2"
                ? ScriptedHandler.Json(HttpStatusCode.OK, FileJson)
                : ScriptedHandler.Error(HttpStatusCode.Unauthorized, "AUTH_TOKEN_INVALID", "expired");
        });
        using var client = ScriptedHandler.Client(handler, credentials: new ScaiDriveCredentials { AccessToken = "tok_access_1", RefreshToken = "rt_1" });

        var files = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => client.GetFileAsync(new FileId("fil_1"), Ct)));
        Assert.All(files, f => Assert.Equal("a.txt", f.Name));
        Assert.Equal(1, refreshes);
    }

    [Fact]
    public async Task Unauthorized_WhenRefreshFails_IsUnauthorizedWithoutTokens()
    {
        var handler = new ScriptedHandler((req, _) => Task.FromResult(req.Uri.AbsolutePath == "/api/v1/auth/token"
            ? ScriptedHandler.Error(HttpStatusCode.Unauthorized, "AUTH_TOKEN_INVALID", "refresh token rt_secret_1 revoked")
            : ScriptedHandler.Error(HttpStatusCode.Unauthorized, "AUTH_TOKEN_INVALID", "token tok_secret_1 expired")));
        using var client = ScriptedHandler.Client(handler, credentials: new ScaiDriveCredentials { AccessToken = "tok_secret_1", RefreshToken = "rt_secret_1" });
        var ex = await Assert.ThrowsAsync<ScaiDriveApiException>(() => client.GetFileAsync(new FileId("fil_1"), Ct));
        Assert.Equal(ScaiDriveErrorKind.Unauthorized, ex.Kind);
        Assert.DoesNotContain("secret", ex.ToString());
        // One request, one refresh: no loop.
        Assert.Equal(2, handler.Count);
    }

    [Fact]
    public async Task Unauthorized_WhenTokenEndpointIsDown_IsUnavailableNotUnauthorized()
    {
        var handler = new ScriptedHandler((req, _) => Task.FromResult(req.Uri.AbsolutePath == "/api/v1/auth/token"
            ? ScriptedHandler.Error(HttpStatusCode.ServiceUnavailable, "UPSTREAM_UNAVAILABLE")
            : ScriptedHandler.Error(HttpStatusCode.Unauthorized, "AUTH_TOKEN_INVALID")));
        using var client = ScriptedHandler.Client(handler, o => o with { MaxRetries = 1 }, new ScaiDriveCredentials { AccessToken = "tok_1", RefreshToken = "rt_1" });
        var ex = await Assert.ThrowsAsync<ScaiDriveApiException>(() => client.GetFileAsync(new FileId("fil_1"), Ct));
        Assert.Equal(ScaiDriveErrorKind.Unavailable, ex.Kind);
    }

    [Fact]
    public async Task ReadRange_ResumesWhereTheConnectionDropped()
    {
        byte[] content = RandomNumberGenerator.GetBytes(100_000);
        var handler = new ScriptedHandler((req, n) =>
        {
            var range = RangeHeaderValue.Parse(req.Range!).Ranges.Single();
            long from = range.From!.Value, to = range.To!.Value;
            byte[] slice = content[(int)from..(int)(to + 1)];
            var response = new HttpResponseMessage(HttpStatusCode.PartialContent)
            {
                // The first two responses break part-way through their body.
                Content = new StreamContent(new BreakingStream(slice, n <= 2 ? slice.Length / 3 : int.MaxValue)),
            };
            response.Content.Headers.ContentLength = slice.Length;
            response.Content.Headers.ContentRange = new ContentRangeHeaderValue(from, to, content.Length);
            response.Headers.ETag = new EntityTagHeaderValue("\"sha-v1\"");
            return Task.FromResult(response);
        });
        using var client = ScriptedHandler.Client(handler);
        var buffer = new byte[60_000];
        int read = await client.ReadRangeAsync(new FileId("fil_1"), 30_000, buffer, cancellationToken: Ct);

        Assert.Equal(60_000, read);
        Assert.True(buffer.AsSpan().SequenceEqual(content.AsSpan(30_000, 60_000)));
        var ranges = handler.Requests.Select(r => r.Range).ToArray();
        Assert.Equal(3, ranges.Length);
        Assert.Equal("bytes=30000-89999", ranges[0]);
        Assert.Equal("bytes=50000-89999", ranges[1]);
        Assert.Equal($"bytes={50_000 + (40_000 / 3)}-89999", ranges[2]);
    }

    [Fact]
    public async Task ReadRange_ShortAtEndOfFile()
    {
        byte[] content = RandomNumberGenerator.GetBytes(1000);
        var handler = new ScriptedHandler((req, _) =>
        {
            var range = RangeHeaderValue.Parse(req.Range!).Ranges.Single();
            long from = range.From!.Value;
            if (from >= content.Length)
            {
                var r416 = ScriptedHandler.Json(HttpStatusCode.RequestedRangeNotSatisfiable, "{}");
                r416.Content.Headers.ContentRange = new ContentRangeHeaderValue(content.Length);
                return Task.FromResult(r416);
            }

            long to = Math.Min(range.To!.Value, content.Length - 1);
            var response = new HttpResponseMessage(HttpStatusCode.PartialContent) { Content = new ByteArrayContent(content[(int)from..(int)(to + 1)]) };
            response.Content.Headers.ContentRange = new ContentRangeHeaderValue(from, to, content.Length);
            return Task.FromResult(response);
        });
        using var client = ScriptedHandler.Client(handler);
        var buffer = new byte[4096];
        Assert.Equal(200, await client.ReadRangeAsync(new FileId("fil_1"), 800, buffer, cancellationToken: Ct));
        Assert.True(buffer.AsSpan(0, 200).SequenceEqual(content.AsSpan(800)));
        Assert.Equal(0, await client.ReadRangeAsync(new FileId("fil_1"), 1000, buffer, cancellationToken: Ct));
    }

    [Fact]
    public async Task ReadRange_ETagChangeOnResume_IsContentChanged()
    {
        byte[] content = RandomNumberGenerator.GetBytes(10_000);
        var handler = new ScriptedHandler((req, n) =>
        {
            var range = RangeHeaderValue.Parse(req.Range!).Ranges.Single();
            long from = range.From!.Value, to = range.To!.Value;
            byte[] slice = content[(int)from..(int)(to + 1)];
            var response = new HttpResponseMessage(HttpStatusCode.PartialContent) { Content = new StreamContent(new BreakingStream(slice, n == 1 ? 100 : int.MaxValue)) };
            response.Content.Headers.ContentLength = slice.Length;
            response.Content.Headers.ContentRange = new ContentRangeHeaderValue(from, to, content.Length);
            response.Headers.ETag = new EntityTagHeaderValue(n == 1 ? "\"v1\"" : "\"v2\"");
            return Task.FromResult(response);
        });
        using var client = ScriptedHandler.Client(handler);
        var ex = await Assert.ThrowsAsync<ScaiDriveApiException>(() => client.ReadRangeAsync(new FileId("fil_1"), 0, new byte[10_000], cancellationToken: Ct));
        Assert.Equal(ScaiDriveErrorKind.ContentChanged, ex.Kind);
        Assert.Equal(2, handler.Count);
    }

    [Fact]
    public async Task ReadRange_ExpectedETagMismatch_IsContentChangedAtOnce()
    {
        var handler = new ScriptedHandler((_, _) =>
        {
            var response = new HttpResponseMessage(HttpStatusCode.PartialContent) { Content = new ByteArrayContent(new byte[10]) };
            response.Content.Headers.ContentRange = new ContentRangeHeaderValue(0, 9, 100);
            response.Headers.ETag = new EntityTagHeaderValue("\"new\"");
            return Task.FromResult(response);
        });
        using var client = ScriptedHandler.Client(handler);
        var ex = await Assert.ThrowsAsync<ScaiDriveApiException>(() => client.ReadRangeAsync(new FileId("fil_1"), 0, new byte[10], expectedETag: "old", cancellationToken: Ct));
        Assert.Equal(ScaiDriveErrorKind.ContentChanged, ex.Kind);
        Assert.Equal(1, handler.Count);
    }

    [Fact]
    public async Task ReadRange_WrongContentRange_IsRejected()
    {
        var handler = new ScriptedHandler((_, _) =>
        {
            var response = new HttpResponseMessage(HttpStatusCode.PartialContent) { Content = new ByteArrayContent(new byte[10]) };
            response.Content.Headers.ContentRange = new ContentRangeHeaderValue(5, 14, 100);
            return Task.FromResult(response);
        });
        using var client = ScriptedHandler.Client(handler);
        var ex = await Assert.ThrowsAsync<ScaiDriveApiException>(() => client.ReadRangeAsync(new FileId("fil_1"), 0, new byte[10], cancellationToken: Ct));
        Assert.Equal(ScaiDriveErrorKind.Other, ex.Kind);
    }

    [Fact]
    public async Task OpenRead_StreamResumesAfterADrop()
    {
        byte[] content = RandomNumberGenerator.GetBytes(50_000);
        var handler = new ScriptedHandler((req, n) =>
        {
            var range = RangeHeaderValue.Parse(req.Range!).Ranges.Single();
            long from = range.From!.Value;
            long to = range.To ?? content.Length - 1;
            byte[] slice = content[(int)from..(int)(to + 1)];
            var response = new HttpResponseMessage(HttpStatusCode.PartialContent) { Content = new StreamContent(new BreakingStream(slice, n == 1 ? 12_345 : int.MaxValue)) };
            response.Content.Headers.ContentLength = slice.Length;
            response.Content.Headers.ContentRange = new ContentRangeHeaderValue(from, to, content.Length);
            response.Headers.ETag = new EntityTagHeaderValue("\"v1\"");
            return Task.FromResult(response);
        });
        using var client = ScriptedHandler.Client(handler);
        await using var stream = await client.OpenReadAsync(new FileId("fil_1"), 1000, cancellationToken: Ct);
        var copy = new MemoryStream();
        await stream.CopyToAsync(copy, Ct);
        Assert.True(copy.ToArray().AsSpan().SequenceEqual(content.AsSpan(1000)));
        Assert.Equal(2, handler.Count);
        Assert.Equal($"bytes={1000 + 12_345}-", handler.Requests.Last().Range);
    }

    [Fact]
    public async Task Multipart_LostResponse_ProbesInsteadOfPostingTwice()
    {
        byte[] content = "hello"u8.ToArray();
        string sha = Convert.ToHexStringLower(SHA256.HashData(content));
        int posts = 0;
        var handler = new ScriptedHandler((req, _) =>
        {
            if (req.Method == HttpMethod.Post)
            {
                Interlocked.Increment(ref posts);
                // The server stored it, but the answer never arrived.
                throw new HttpRequestException("The response ended prematurely.", new IOException("reset"));
            }

            Assert.Equal("/api/v1/folders/fld_9/children", req.Uri.AbsolutePath);
            return Task.FromResult(ScriptedHandler.Json(HttpStatusCode.OK,
                $$"""{"items":[{"id":"fld_x","type":"folder","name":"sub"},{"id":"fil_new","type":"file","name":"greeting.txt","size":5,"checksum_sha256":"{{sha}}","version":1}],"path":"/d","total":2}"""));
        });
        using var client = ScriptedHandler.Client(handler);
        var file = await client.UploadSmallFileAsync(new ShareId("shr_1"), new FolderId("fld_9"), "greeting.txt", content, Ct);
        Assert.Equal(new FileId("fil_new"), file.Id);
        Assert.Equal(1, posts);
    }

    [Fact]
    public async Task CreateFolder_RefusedConnection_IsRetriedWithoutProbe()
    {
        var handler = new ScriptedHandler((req, n) => n == 1
            ? throw new HttpRequestException(HttpRequestError.ConnectionError, "refused")
            : Task.FromResult(ScriptedHandler.Json(HttpStatusCode.Created, """{"id":"fld_2","share_id":"shr_1","parent_id":null,"name":"docs"}""")));
        using var client = ScriptedHandler.Client(handler);
        var folder = await client.CreateFolderAsync(new ShareId("shr_1"), null, "docs", Ct);
        Assert.Equal(new FolderId("fld_2"), folder.Id);
        Assert.All(handler.Requests, r => Assert.Equal(HttpMethod.Post, r.Method));
    }

    [Fact]
    public async Task Delete_LostResponseThenGone_CountsAsDone()
    {
        var handler = new ScriptedHandler((_, n) => n == 1
            ? throw new HttpRequestException("reset", new IOException("reset"))
            : Task.FromResult(ScriptedHandler.Error(HttpStatusCode.Gone, "RESOURCE_DELETED")));
        using var client = ScriptedHandler.Client(handler);
        await client.DeleteFileAsync(new FileId("fil_1"), cancellationToken: Ct);
        Assert.Equal(2, handler.Count);
    }

    [Fact]
    public async Task ListChildren_PagesUntilTotal()
    {
        var handler = new ScriptedHandler((req, _) =>
        {
            var query = System.Web.HttpUtility.ParseQueryString(req.Uri.Query);
            Assert.Equal("shr_1", query["share_id"]);
            Assert.Equal("5000", query["limit"]); // the largest page the API allows (§21): fewest round trips
            int offset = int.Parse(query["offset"]!, System.Globalization.CultureInfo.InvariantCulture);
            string items = offset == 0
                ? """[{"id":"fld_a","type":"folder","name":"A"},{"id":"fil_b","type":"file","name":"b","size":1}]"""
                : """[{"id":"fil_c","type":"file","name":"c","size":2}]""";
            return Task.FromResult(ScriptedHandler.Json(HttpStatusCode.OK, $$"""{"items":{{items}},"path":"/","total":3}"""));
        });
        using var client = ScriptedHandler.Client(handler);
        var listing = await client.ListChildrenAsync(new ShareId("shr_1"), null, cancellationToken: Ct);
        Assert.Equal(["A"], listing.Folders.Select(f => f.Name));
        Assert.Equal(["b", "c"], listing.Files.Select(f => f.Name));
        Assert.All(handler.Requests, r => Assert.StartsWith("/api/v1/folders/root/children", r.Uri.AbsolutePath));
        Assert.Equal(2, handler.Count);
    }

    [Theory]
    [InlineData("1045000")]
    [InlineData("\"1045000\"")]
    public async Task Changes_CursorMayBeNumberOrString(string cursorJson)
    {
        var handler = new ScriptedHandler((_, _) => Task.FromResult(ScriptedHandler.Json(HttpStatusCode.OK,
            $$$"""{"changes":[{"id":"chg_1","share_id":"shr_1","resource_type":"file","resource_id":"fil_1","change_type":"renamed","changed_at":"2026-04-23T10:15:02Z","position":1045000,"metadata":{"size":5,"name":"b"}}],"cursor":{{{cursorJson}}},"has_more":true}""")));
        using var client = ScriptedHandler.Client(handler);
        var batch = await client.GetChangesAsync(new ShareId("shr_1"), new ChangeCursor("7"), cancellationToken: Ct);
        Assert.Equal("1045000", batch.Cursor.Value);
        Assert.True(batch.HasMore);
        var change = Assert.Single(batch.Changes);
        Assert.Equal(ChangeType.Renamed, change.ChangeType);
        Assert.Equal(ResourceType.File, change.ResourceType);
        Assert.Equal(1045000, change.Position);
        Assert.Equal("b", change.Metadata!.Name);
        Assert.Contains("cursor=7", handler.Requests.Single().Uri.Query);
    }

    [Fact]
    public async Task Changes_ExpiredCursor_IsGone()
    {
        var handler = new ScriptedHandler((_, _) => Task.FromResult(ScriptedHandler.Error(HttpStatusCode.Gone, "CURSOR_EXPIRED")));
        using var client = ScriptedHandler.Client(handler);
        var ex = await Assert.ThrowsAsync<ScaiDriveApiException>(() => client.GetChangesAsync(new ShareId("shr_1"), new ChangeCursor("1"), cancellationToken: Ct));
        Assert.Equal(ScaiDriveErrorKind.Gone, ex.Kind);
        Assert.Equal("CURSOR_EXPIRED", ex.ErrorCode);
    }

    [Fact]
    public void SocketFrames_ChangeAndForceSyncAreNudgesPongIsNot()
    {
        var change = ScaiDriveClient.ParseFrame("""{"event_type":"change","share_id":"shr_1","data":{"id":"chg_9","resource_type":"folder","resource_id":"fld_1","change_type":"created","position":9}}"""u8);
        Assert.NotNull(change);
        Assert.Equal("change", change.EventType);
        Assert.Equal(new ShareId("shr_1"), change.ShareId);
        Assert.Equal(9, change.Change!.Position);

        var force = ScaiDriveClient.ParseFrame("""{"event_type":"force_sync","share_id":"shr_2"}"""u8);
        Assert.Equal("force_sync", force!.EventType);
        Assert.Null(force.Change);

        Assert.Null(ScaiDriveClient.ParseFrame("""{"type":"pong","event_type":"pong"}"""u8));
        Assert.Null(ScaiDriveClient.ParseFrame("""{"type":"subscribed"}"""u8));
        Assert.Null(ScaiDriveClient.ParseFrame("not json"u8));
    }

    [Fact]
    public async Task ResumableUpload_SendsOnlyMissingChunksWithChecksums()
    {
        const int chunk = 64 * 1024;
        byte[] content = RandomNumberGenerator.GetBytes((chunk * 4) + 100);
        var handler = new ScriptedHandler((req, _) =>
        {
            string path = req.Uri.AbsolutePath;
            if (req.Method == HttpMethod.Get && path == "/api/v1/uploads/ups_1")
            {
                return Task.FromResult(ScriptedHandler.Json(HttpStatusCode.OK,
                    $$"""{"session_id":"ups_1","id":"ups_1","share_id":"shr_1","file_name":"big","file_size":{{content.Length}},"chunk_size":{{chunk}},"total_chunks":5,"status":"active","received_chunks":[0,2],"missing_chunks":[1,3,4],"bytes_received":{{2 * chunk}}}"""));
            }

            if (req.Method == HttpMethod.Put)
            {
                int index = int.Parse(path[(path.LastIndexOf('/') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
                var expected = content.AsSpan(index * chunk, Math.Min(chunk, content.Length - (index * chunk)));
                Assert.True(req.Body.AsSpan().SequenceEqual(expected), $"chunk {index} bytes");
                Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(expected)), req.Headers["X-Chunk-SHA256"]);
                return Task.FromResult(ScriptedHandler.Json(HttpStatusCode.OK, $$$"""{"index":{{{index}}},"size":{{{expected.Length}}},"sha256":"x","received_chunks_count":3}"""));
            }

            Assert.Equal("/api/v1/uploads/ups_1/complete", path);
            return Task.FromResult(ScriptedHandler.Json(HttpStatusCode.Created, FileJson.Replace("\"size\":3", $"\"size\":{content.Length}", StringComparison.Ordinal)));
        });
        using var client = ScriptedHandler.Client(handler);
        UploadSession? ready = null;
        var reports = new List<long>();
        var file = await client.UploadResumableAsync(
            new CreateUploadSessionRequest(new ShareId("shr_1"), null, "big", content.Length) { ChunkSize = chunk },
            new MemoryUploadSource(content),
            new ResumableUploadOptions { ExistingSessionId = new UploadSessionId("ups_1"), OnSessionReady = (s, _) => { ready = s; return ValueTask.CompletedTask; } },
            new SyncProgress(reports),
            Ct);

        Assert.Equal(content.Length, file.Size);
        Assert.Equal(new UploadSessionId("ups_1"), ready!.Id);
        var puts = handler.Requests.Where(r => r.Method == HttpMethod.Put).Select(r => r.Uri.AbsolutePath[(r.Uri.AbsolutePath.LastIndexOf('/') + 1)..]).Order().ToArray();
        Assert.Equal(["1", "3", "4"], puts);
        Assert.Equal(2 * chunk, reports[0]);
        Assert.Equal(content.Length, reports.Max());
    }

    /// <summary>IProgress that records synchronously (Progress&lt;T&gt; posts to the thread pool, too late for asserts).</summary>
    private sealed class SyncProgress(List<long> reports) : IProgress<long>
    {
        public void Report(long value)
        {
            lock (reports)
            {
                reports.Add(value);
            }
        }
    }
}
