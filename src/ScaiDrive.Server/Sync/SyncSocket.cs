using System.Net.WebSockets;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using ScaiDrive.Server.Auth;
using ScaiDrive.Server.Domain;
using ScaiDrive.Server.Infrastructure;

namespace ScaiDrive.Server.Sync;

/// <summary>
/// <c>WS /api/v1/sync/ws/{device_id}</c> (§12.1). The token comes from <c>?token=</c> or the Authorization header;
/// a bad one closes with 4401. After <c>{"type":"subscribe"}</c> the server answers <c>{"type":"subscribed"}</c>
/// and pushes <c>{"event_type":"change","share_id","data":&lt;change&gt;}</c> for every committed change in a share
/// the user can read. Pings get <c>{"type":"pong","event_type":"pong"}</c>.
/// </summary>
internal static partial class SyncSocket
{
    public static void Map(IEndpointRouteBuilder app) => app.Map("/api/v1/sync/ws/{deviceId}", RunAsync);

    private static async Task RunAsync(HttpContext context, string deviceId, Authenticator auth, Drive drive, ChangeHub hub, ILogger<ChangeHub> logger)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            throw ApiException.BadRequest("WEBSOCKET_REQUIRED", "This endpoint needs a WebSocket upgrade");
        }

        string? token = context.Request.Query("token");
        string? header = context.Request.Headers.Authorization;
        if (token is null && header is not null && header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            token = header["Bearer ".Length..].Trim();
        }

        using WebSocket socket = await context.WebSockets.AcceptWebSocketAsync();
        Caller caller;
        try
        {
            caller = auth.Authenticate(token ?? throw ApiException.Unauthorized("AUTH_TOKEN_MISSING", "token required"));
        }
        catch (ApiException)
        {
            await socket.CloseAsync((WebSocketCloseStatus)4401, "unauthorized", context.RequestAborted);
            return;
        }

        LogConnected(logger, caller.UserId, deviceId);
        using var sending = new SemaphoreSlim(1, 1);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        ChangeHub.Subscription? subscription = null;
        Task? pump = null;
        try
        {
            byte[] buffer = new byte[16 * 1024];
            while (socket.State == WebSocketState.Open)
            {
                WebSocketReceiveResult result = await socket.ReceiveAsync(buffer, stop.Token);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                    break;
                }

                if (!result.EndOfMessage || result.MessageType != WebSocketMessageType.Text)
                {
                    continue;
                }

                string? type = ReadType(buffer.AsSpan(0, result.Count));
                if (type == "subscribe" && subscription is null)
                {
                    subscription = hub.Subscribe(caller.UserId);
                    await SendAsync(socket, sending, new { type = "subscribed", event_type = "subscribed" }, stop.Token);
                    pump = PumpAsync(socket, sending, subscription, drive, caller, stop.Token);
                }
                else if (type == "subscribe")
                {
                    await SendAsync(socket, sending, new { type = "subscribed", event_type = "subscribed" }, stop.Token);
                }
                else if (type == "ping")
                {
                    await SendAsync(socket, sending, new { type = "pong", event_type = "pong" }, stop.Token);
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
            // The peer went away.
        }
        finally
        {
            subscription?.Dispose();
            await stop.CancelAsync();
            if (pump is not null)
            {
                await pump.ContinueWith(static _ => { }, TaskScheduler.Default);
            }

            LogDisconnected(logger, caller.UserId, deviceId);
        }
    }

    private static async Task PumpAsync(WebSocket socket, SemaphoreSlim sending, ChangeHub.Subscription subscription, Drive drive, Caller caller, CancellationToken cancellationToken)
    {
        await foreach (ChangeDto change in subscription.Queue.Reader.ReadAllAsync(cancellationToken))
        {
            if (drive.CanRead(caller.UserId, change.ShareId))
            {
                await SendAsync(socket, sending, new { event_type = "change", type = "change", share_id = change.ShareId, data = change }, cancellationToken);
            }
        }
    }

    private static async Task SendAsync(WebSocket socket, SemaphoreSlim sending, object frame, CancellationToken cancellationToken)
    {
        byte[] bytes = JsonSerializer.SerializeToUtf8Bytes(frame, Json.Options);
        await sending.WaitAsync(cancellationToken);
        try
        {
            await socket.SendAsync(bytes, WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
        }
        finally
        {
            sending.Release();
        }
    }

    private static string? ReadType(ReadOnlySpan<byte> frame)
    {
        try
        {
            var reader = new Utf8JsonReader(frame);
            using JsonDocument document = JsonDocument.ParseValue(ref reader);
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            if (root.TryGetProperty("type", out JsonElement type) && type.ValueKind == JsonValueKind.String)
            {
                return type.GetString();
            }

            return root.TryGetProperty("action", out JsonElement action) && action.ValueKind == JsonValueKind.String ? action.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    [LoggerMessage(EventId = 20, Level = LogLevel.Debug, Message = "Sync socket of {UserId} device {DeviceId} connected")]
    private static partial void LogConnected(ILogger logger, string userId, string deviceId);

    [LoggerMessage(EventId = 21, Level = LogLevel.Debug, Message = "Sync socket of {UserId} device {DeviceId} closed")]
    private static partial void LogDisconnected(ILogger logger, string userId, string deviceId);
}
