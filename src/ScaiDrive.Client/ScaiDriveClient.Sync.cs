using System.Buffers;
using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using ScaiDrive.Client.Resilience;
using ScaiDrive.Client.Wire;

namespace ScaiDrive.Client;

public sealed partial class ScaiDriveClient
{
    private static readonly TimeSpan s_socketPingInterval = TimeSpan.FromSeconds(30);
    private static readonly byte[] s_subscribeFrame = """{"type":"subscribe"}"""u8.ToArray();
    private static readonly byte[] s_pingFrame = """{"type":"ping"}"""u8.ToArray();

    /// <summary>Registers the device (201); an existing registration with the same ID counts as success.</summary>
    public Task RegisterDeviceAsync(DeviceRegistration device, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(device);
        var body = new DeviceDto
        {
            DeviceId = device.DeviceId,
            DeviceName = device.DeviceName,
            Platform = device.Platform,
            ClientVersion = device.ClientVersion,
        };
        byte[] payload = JsonSerializer.SerializeToUtf8Bytes(body, WireJsonContext.Default.DeviceDto);
        // Keyed by the client's device ID, so a repeat is harmless: retried like an idempotent call.
        return RunAsync(_pipelines.Metadata, async ct =>
        {
            try
            {
                using var response = await SendAsync(
                    () => new HttpRequestMessage(HttpMethod.Post, Url("api/v1/sync/devices")) { Content = new ByteArrayContent(payload) { Headers = { ContentType = s_jsonType } } },
                    HttpCompletionOption.ResponseContentRead,
                    ct).ConfigureAwait(false);
            }
            catch (ScaiDriveApiException ex) when (ex.Kind is ScaiDriveErrorKind.NameConflict or ScaiDriveErrorKind.Conflict)
            {
            }
        }, cancellationToken);
    }

    public async Task<SyncStatus> GetSyncStatusAsync(ShareId shareId, string deviceId, CancellationToken cancellationToken = default)
    {
        var dto = await GetJsonAsync(
            "api/v1/sync/status" + Query(("share_id", shareId.Value), ("device_id", deviceId)), WireJsonContext.Default.SyncStatusDto, cancellationToken).ConfigureAwait(false);
        return new SyncStatus(
            new ChangeCursor(WireMapping.CursorText(dto.CursorPosition) ?? "0"),
            dto.LastSyncAt,
            dto.PendingChanges ?? 0,
            dto.HasConflicts ?? false);
    }

    /// <summary>One batch of changes after <paramref name="cursor"/> (null = from head). Gone (410 CURSOR_EXPIRED) means: rescan.</summary>
    public async Task<ChangeBatch> GetChangesAsync(ShareId shareId, ChangeCursor? cursor, int limit = 1000, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        var dto = await GetJsonAsync(
            "api/v1/sync/changes" + Query(("share_id", shareId.Value), ("cursor", cursor?.Value), ("limit", Math.Min(limit, 5000).ToString(System.Globalization.CultureInfo.InvariantCulture))),
            WireJsonContext.Default.ChangesDto,
            cancellationToken).ConfigureAwait(false);
        var changes = (dto.Changes ?? []).Select(c => c.ToModel(shareId)).ToArray();
        // §21.4: with no changes the cursor is the input; keep ours when the server omits it.
        string next = WireMapping.CursorText(dto.Cursor) ?? cursor?.Value ?? (changes.Length > 0 ? changes[^1].Position.ToString(System.Globalization.CultureInfo.InvariantCulture) : "0");
        return new ChangeBatch(changes, new ChangeCursor(next), dto.HasMore ?? false);
    }

    /// <summary>POST /sync/cursor with its parameters in the query (§1.3); setting a position is idempotent.</summary>
    public Task SetCursorAsync(ShareId shareId, string deviceId, ChangeCursor position, CancellationToken cancellationToken = default) =>
        RunAsync(_pipelines.Metadata, ct => SendNoContentAsync(
            HttpMethod.Post,
            "api/v1/sync/cursor" + Query(("share_id", shareId.Value), ("device_id", deviceId), ("position", position.Value)),
            ct), cancellationToken);

    /// <summary>
    /// Connects the sync WebSocket of <paramref name="deviceId"/>, subscribes, and calls <paramref name="onNudge"/> for each
    /// change/force_sync frame until cancelled; reconnects with backoff when the socket drops.
    /// <paramref name="onConnectionChanged"/> is told when the socket goes up (true) or down (false), so a caller can poll meanwhile.
    /// </summary>
    /// <remarks>
    /// The token goes in the upgrade request's Authorization header, never in the URL (§1.2 allows both), so it
    /// cannot end up in a proxy's access log. A close with 4401 refreshes the token when that is possible.
    /// Returns only when cancelled (as a completed task, not an exception); a 4403 close (device of another user)
    /// is permanent and throws Forbidden.
    /// </remarks>
    public async Task RunSyncSocketAsync(string deviceId, Func<SyncNudge, ValueTask> onNudge, Action<bool>? onConnectionChanged = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(deviceId);
        ArgumentNullException.ThrowIfNull(onNudge);
        var wsBase = new UriBuilder(_baseUrl) { Scheme = _baseUrl.Scheme == Uri.UriSchemeHttps ? "wss" : "ws" }.Uri;
        var uri = new Uri(wsBase, $"api/v1/sync/ws/{Esc(deviceId)}");
        int failures = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            string reason;
            bool connected = false;
            try
            {
                using var socket = new ClientWebSocket();
                string? token = _tokens.GetAccessToken();
                if (token is not null)
                {
                    socket.Options.SetRequestHeader("Authorization", "Bearer " + token);
                }

                socket.Options.KeepAliveInterval = s_socketPingInterval;
                socket.Options.CollectHttpResponseDetails = true;
                try
                {
                    await socket.ConnectAsync(uri, cancellationToken).ConfigureAwait(false);
                }
                catch (WebSocketException) when (socket.HttpStatusCode == HttpStatusCode.Unauthorized && _tokens.CanRefresh)
                {
                    // The upgrade was refused for the token: refresh (shared with HTTP callers) and reconnect.
                    await _tokens.RefreshAsync(token, RefreshTokenAsync, cancellationToken).ConfigureAwait(false);
                    throw;
                }

                connected = true;
                failures = 0;
                Log.SocketConnected(_logger, deviceId);
                onConnectionChanged?.Invoke(true);
                await socket.SendAsync(s_subscribeFrame, WebSocketMessageType.Text, endOfMessage: true, cancellationToken).ConfigureAwait(false);
                reason = await PumpSocketAsync(socket, onNudge, cancellationToken).ConfigureAwait(false);
                if (socket.CloseStatus is { } status && (int)status == 4401 && _tokens.CanRefresh)
                {
                    await _tokens.RefreshAsync(token, RefreshTokenAsync, cancellationToken).ConfigureAwait(false);
                }
                else if (socket.CloseStatus is { } forbidden && (int)forbidden == 4403)
                {
                    throw new ScaiDriveApiException(ScaiDriveErrorKind.Forbidden, $"The sync socket of device {deviceId} was refused (4403).");
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                reason = "cancelled";
            }
            catch (Exception ex) when (ex is WebSocketException or IOException or HttpRequestException or ScaiDriveApiException { IsTransient: true }
                or ScaiDriveApiException { Kind: ScaiDriveErrorKind.Unauthorized })
            {
                reason = _tokens.Scrub(ex.Message);
            }
            finally
            {
                if (connected)
                {
                    onConnectionChanged?.Invoke(false);
                }
            }

            if (cancellationToken.IsCancellationRequested)
            {
                return;
            }

            TimeSpan delay = Backoff.Exponential(failures++, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60), Random.Shared.NextDouble());
            Log.SocketDropped(_logger, reason, delay);
            try
            {
                await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Reads frames until the socket closes; sends an application ping every 30 s. Returns why it stopped.</summary>
    private async Task<string> PumpSocketAsync(ClientWebSocket socket, Func<SyncNudge, ValueTask> onNudge, CancellationToken cancellationToken)
    {
        using var pumpCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var pinger = PingLoopAsync(socket, pumpCts.Token);
        var message = new ArrayBufferWriter<byte>(4096);
        try
        {
            while (socket.State == WebSocketState.Open)
            {
                message.Clear();
                ValueWebSocketReceiveResult result;
                do
                {
                    result = await socket.ReceiveAsync(message.GetMemory(4096), cancellationToken).ConfigureAwait(false);
                    message.Advance(result.Count);
                }
                while (!result.EndOfMessage);

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return $"closed by server ({socket.CloseStatus} {socket.CloseStatusDescription})";
                }

                if (ParseFrame(message.WrittenSpan) is { } nudge)
                {
                    await onNudge(nudge).ConfigureAwait(false);
                }
            }

            return $"socket {socket.State}";
        }
        finally
        {
            await pumpCts.CancelAsync().ConfigureAwait(false);
            try
            {
                await pinger.ConfigureAwait(false);
            }
            catch (Exception)
            {
                // The pinger's failure is the socket's failure, already reported by the receive loop.
            }
        }
    }

    private async Task PingLoopAsync(ClientWebSocket socket, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(s_socketPingInterval, _time);
        while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false) && socket.State == WebSocketState.Open)
        {
            await socket.SendAsync(s_pingFrame, WebSocketMessageType.Text, endOfMessage: true, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>A change or force_sync frame as a nudge; null for pongs, acknowledgements and anything unreadable.</summary>
    internal static SyncNudge? ParseFrame(ReadOnlySpan<byte> frame)
    {
        SocketFrameDto? dto;
        try
        {
            dto = JsonSerializer.Deserialize(frame, WireJsonContext.Default.SocketFrameDto);
        }
        catch (JsonException)
        {
            return null;
        }

        string? type = dto?.EventType ?? dto?.Type;
        if (dto is null || type is null || type is "pong" or "subscribed" or "ping")
        {
            return null;
        }

        ShareId? share = dto.ShareId is { } s ? new ShareId(s) : dto.Data?.ShareId is { } ds ? new ShareId(ds) : null;
        return new SyncNudge(type, share, dto.Data?.ToModel(share));
    }

    // ---- external links --------------------------------------------------------------------------

    /// <summary>
    /// Creates an external link. Not checkable after a lost answer (links have no natural key), and a stray extra
    /// link is a security surface, so it is retried only when the server certainly did nothing.
    /// </summary>
    public Task<ExternalLink> CreateLinkAsync(CreateLinkRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var body = new CreateLinkDto
        {
            ResourceType = request.ResourceType,
            ResourceId = request.ResourceId,
            ShareId = request.ShareId.Value,
            LinkType = request.LinkType,
            Password = request.Password,
            ExpiresAt = request.ExpiresAt,
            MaxDownloads = request.MaxDownloads,
        };
        return RunAsync(_pipelines.CreateUnchecked, async ct =>
            (await SendJsonAsync(HttpMethod.Post, "api/v1/external/links", body, WireJsonContext.Default.CreateLinkDto, WireJsonContext.Default.LinkDto, ct)
                .ConfigureAwait(false)).ToModel(), cancellationToken);
    }

    public Task RevokeLinkAsync(LinkId linkId, CancellationToken cancellationToken = default) =>
        DeleteByIdAsync($"api/v1/external/links/{Esc(linkId.Value)}", cancellationToken);
}
