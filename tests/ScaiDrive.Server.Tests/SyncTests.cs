using System.Diagnostics;
using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using ScaiDrive.TestSupport;
using Xunit;

namespace ScaiDrive.Server.Tests;

public sealed class SyncTests : ServerTest
{
    private string Share => Server.DefaultShareId;

    private async Task<JsonElement> ChangesAsync(long cursor, int limit = 1000) =>
        await Api.OkAsync(Owner, HttpMethod.Get, $"api/v1/sync/changes?share_id={Share}&cursor={cursor}&limit={limit}");

    [Fact]
    public async Task FeedRecordsEveryKindOfChange()
    {
        JsonElement status = await Api.OkAsync(Owner, HttpMethod.Get, $"api/v1/sync/status?share_id={Share}&device_id=dev1");
        long cursor = status.Long("cursor_position");
        JsonElement head = await Api.OkAsync(Owner, HttpMethod.Get, $"api/v1/sync/changes?share_id={Share}");
        Assert.Equal(cursor, head.Long("cursor"));
        Assert.Empty(head.GetProperty("changes").EnumerateArray());

        JsonElement folder = await Api.CreateFolderAsync(Owner, Share, null, "F");
        JsonElement file = await Api.UploadAsync(Owner, Share, null, "a.txt", "1"u8.ToArray());
        await Api.OkAsync(Owner, HttpMethod.Patch, $"api/v1/files/{file.Id()}", new { name = "b.txt" });
        await Api.OkAsync(Owner, HttpMethod.Post, $"api/v1/files/{file.Id()}/move", new { target_folder_id = folder.Id() });
        JsonElement session = await Api.OkAsync(Owner, HttpMethod.Post, "api/v1/uploads",
            new { share_id = Share, file_name = "b.txt", file_size = 1, chunk_size = 65536, replace_file_id = file.Id() }, HttpStatusCode.Created);
        using (var chunk = new ByteArrayContent("2"u8.ToArray()))
        {
            using HttpResponseMessage put = await Owner.PutAsync($"api/v1/uploads/{session.Str("session_id")}/chunks/0", chunk, TestContext.Current.CancellationToken);
        }

        JsonElement v2 = await Api.OkAsync(Owner, HttpMethod.Post, $"api/v1/uploads/{session.Str("session_id")}/complete", expected: HttpStatusCode.Created);
        await Api.OkAsync(Owner, HttpMethod.Delete, $"api/v1/folders/{folder.Id()}", expected: HttpStatusCode.NoContent);

        JsonElement page = await ChangesAsync(cursor);
        JsonElement[] changes = [.. page.GetProperty("changes").EnumerateArray()];
        Assert.Equal(["created", "created", "renamed", "moved", "updated", "deleted"], changes.Select(c => c.Str("change_type")));
        Assert.Equal(["folder", "file", "file", "file", "file", "folder"], changes.Select(c => c.Str("resource_type")));
        Assert.Equal(changes.Select(c => c.Long("position")).Order(), changes.Select(c => c.Long("position")));
        Assert.Equal(changes[^1].Long("position"), page.Long("cursor"));
        Assert.False(page.GetProperty("has_more").GetBoolean());
        Assert.Equal("/a.txt", changes[2].Str("old_path"));
        Assert.Equal("/b.txt", changes[2].Str("new_path"));
        Assert.Equal("/F/b.txt", changes[3].Str("new_path"));
        Assert.Equal(folder.Id(), changes[3].GetProperty("metadata").Str("folder_id"));
        Assert.Equal(v2.Str("version_id"), changes[4].Str("version_id"));
        Assert.Equal(2, changes[4].GetProperty("metadata").Long("version"));
        Assert.Equal(Api.Sha256("2"u8.ToArray()), changes[4].GetProperty("metadata").Str("checksum_sha256"));
        Assert.Equal(JsonValueKind.Null, changes[0].GetProperty("metadata").GetProperty("parent_id").ValueKind);

        JsonElement firstTwo = await ChangesAsync(cursor, limit: 2);
        Assert.True(firstTwo.GetProperty("has_more").GetBoolean());
        Assert.Equal(changes[1].Long("position"), firstTwo.Long("cursor"));
        JsonElement rest = await ChangesAsync(firstTwo.Long("cursor"));
        Assert.Equal(4, rest.GetProperty("changes").GetArrayLength());

        JsonElement saved = await Api.OkAsync(Owner, HttpMethod.Post, $"api/v1/sync/cursor?share_id={Share}&device_id=dev1&position={page.Long("cursor")}");
        Assert.Equal(page.Long("cursor"), saved.Long("cursor_position"));
        JsonElement after = await Api.OkAsync(Owner, HttpMethod.Get, $"api/v1/sync/status?share_id={Share}&device_id=dev1");
        Assert.Equal(page.Long("cursor"), after.Long("cursor_position"));
        Assert.Equal(0, after.Long("pending_changes"));
    }

    [Fact]
    public async Task UnknownOrCompactedCursorsAre410()
    {
        await Api.ErrorAsync(Owner, HttpMethod.Get, $"api/v1/sync/changes?share_id={Share}&cursor=abc", HttpStatusCode.Gone, "CURSOR_EXPIRED");
        await Api.ErrorAsync(Owner, HttpMethod.Get, $"api/v1/sync/changes?share_id={Share}&cursor=999999", HttpStatusCode.Gone, "CURSOR_EXPIRED");
        await Api.CreateFolderAsync(Owner, Share, null, "X");
        await Api.CreateFolderAsync(Owner, Share, null, "Y");
        await ChangesAsync(0);
        await Server.CompactChangesAsync();
        await Api.ErrorAsync(Owner, HttpMethod.Get, $"api/v1/sync/changes?share_id={Share}&cursor=0", HttpStatusCode.Gone, "CURSOR_EXPIRED");
    }

    [Fact]
    public async Task DevicesRegisterAndList()
    {
        JsonElement device = await Api.OkAsync(Owner, HttpMethod.Post, "api/v1/sync/devices",
            new { device_id = "d-1", device_name = "laptop", platform = "linux", client_version = "1.0" }, HttpStatusCode.Created);
        Assert.Equal("d-1", device.Str("device_id"));
        JsonElement list = await Api.OkAsync(Owner, HttpMethod.Get, "api/v1/sync/devices");
        Assert.Equal("laptop", Assert.Single(list.EnumerateArray()).Str("device_name"));
    }

    [Fact]
    public async Task SocketPushesChangesOfReachableSharesOnly()
    {
        TestUser other = await Server.CreateUserAsync("other");
        using var socket = new ClientWebSocket();
        var uri = new Uri(new Uri(Server.BaseUrl.ToString().Replace("http", "ws", StringComparison.Ordinal)), $"api/v1/sync/ws/dev1?token={Server.OwnerToken}");
        await socket.ConnectAsync(uri, TestContext.Current.CancellationToken);
        await SendAsync(socket, """{"type":"subscribe"}""");
        Assert.Equal("subscribed", (await ReceiveAsync(socket)).Str("type"));
        await SendAsync(socket, """{"type":"ping"}""");
        Assert.Equal("pong", (await ReceiveAsync(socket)).Str("type"));

        using HttpClient otherClient = Server.CreateHttpClient(other.Token);
        await Api.UploadAsync(otherClient, other.PersonalShareId, null, "private.txt", [1]);
        JsonElement mine = await Api.UploadAsync(Owner, Share, null, "mine.txt", [2]);
        var sinceCommit = Stopwatch.StartNew();
        JsonElement frame = await ReceiveAsync(socket);
        TestContext.Current.SendDiagnosticMessage($"change frame {sinceCommit.ElapsedMilliseconds} ms after the upload answered");

        // The frame is pushed at commit, before the HTTP answer is even written; a generous bound for a loaded machine.
        Assert.True(sinceCommit.Elapsed < TimeSpan.FromSeconds(1), $"frame took {sinceCommit.ElapsedMilliseconds} ms");
        Assert.Equal("change", frame.Str("event_type"));
        Assert.Equal(Share, frame.Str("share_id"));
        Assert.Equal(mine.Id(), frame.GetProperty("data").Str("resource_id"));
        Assert.Equal("created", frame.GetProperty("data").Str("change_type"));
        Assert.True(frame.GetProperty("data").Long("position") > 0);
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task SocketWithBadTokenClosesWith4401()
    {
        using var socket = new ClientWebSocket();
        var uri = new Uri(new Uri(Server.BaseUrl.ToString().Replace("http", "ws", StringComparison.Ordinal)), "api/v1/sync/ws/dev1?token=bogus");
        await socket.ConnectAsync(uri, TestContext.Current.CancellationToken);
        var result = await socket.ReceiveAsync(new byte[256], TestContext.Current.CancellationToken);
        Assert.Equal(WebSocketMessageType.Close, result.MessageType);
        Assert.Equal(4401, (int)socket.CloseStatus!.Value);
    }

    private static Task SendAsync(ClientWebSocket socket, string text) =>
        socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, TestContext.Current.CancellationToken);

    private static async Task<JsonElement> ReceiveAsync(ClientWebSocket socket)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        byte[] buffer = new byte[64 * 1024];
        int count = 0;
        WebSocketReceiveResult result;
        do
        {
            result = await socket.ReceiveAsync(buffer.AsMemory(count), timeout.Token).AsTask().ContinueWith(t => new WebSocketReceiveResult(t.Result.Count, t.Result.MessageType, t.Result.EndOfMessage), TaskScheduler.Default);
            count += result.Count;
        }
        while (!result.EndOfMessage);
        return JsonDocument.Parse(buffer.AsMemory(0, count)).RootElement.Clone();
    }
}
