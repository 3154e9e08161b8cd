using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using ScaiDrive.Server;

namespace ScaiDrive.TestSupport;

/// <summary>
/// A real local ScaiDrive server on 127.0.0.1 (free port) over a fresh temp data directory, for tests. Users,
/// shares, roles, quotas, tokens and faults are set through the server's <c>/_admin</c> endpoints over HTTP, so
/// tests exercise the real wire. Dispose stops the server and deletes the directory.
/// </summary>
public sealed class LocalServer : IAsyncDisposable
{
    private static readonly JsonSerializerOptions s_json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private readonly LocalServerOptions _options;
    private readonly bool _ownsDirectory;
    private HttpClient _admin;

    private LocalServer(LocalServerOptions options, bool ownsDirectory, ScaiDriveServer server, HttpClient admin)
    {
        _options = options;
        _ownsDirectory = ownsDirectory;
        Server = server;
        _admin = admin;
    }

    /// <summary>The running server (replaced by <see cref="RestartAsync"/>).</summary>
    public ScaiDriveServer Server { get; private set; }

    public Uri BaseUrl => Server.BaseUrl;

    public string DataDirectory => Server.DataDirectory;

    /// <summary>Long-lived token of the default user (the content of <c>DIR/token</c>).</summary>
    public string OwnerToken { get; private set; } = string.Empty;

    public string OwnerUserId { get; private set; } = string.Empty;

    /// <summary>The default user's personal share, "My Files".</summary>
    public string DefaultShareId { get; private set; } = string.Empty;

    public static async Task<LocalServer> StartAsync(LocalServerOptions? options = null, CancellationToken ct = default)
    {
        options ??= new LocalServerOptions();
        bool owns = options.DataDirectory is null;
        string directory = options.DataDirectory ?? Path.Combine(Path.GetTempPath(), "scaidrive-test-" + Guid.NewGuid().ToString("N"));
        ScaiDriveServer server;
        try
        {
            server = await ScaiDriveServer.StartAsync(BuildOptions(options, directory, "127.0.0.1:0"), ct);
        }
        catch
        {
            if (owns)
            {
                TryDelete(directory);
            }

            throw;
        }

        var local = new LocalServer(options, owns, server, CreateAdminClient(server));
        try
        {
            await local.LoadIdentityAsync(ct);
        }
        catch
        {
            await local.DisposeAsync();
            throw;
        }

        return local;
    }

    private static ScaiDriveServerOptions BuildOptions(LocalServerOptions options, string directory, string listen)
    {
        var serverOptions = new ScaiDriveServerOptions { DataDirectory = directory, Listen = listen };
        options.Configure?.Invoke(serverOptions);
        serverOptions.Listen = listen;
        return serverOptions;
    }

    private static HttpClient CreateAdminClient(ScaiDriveServer server)
    {
        var client = new HttpClient { BaseAddress = server.BaseUrl, Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", server.AdminToken);
        return client;
    }

    private async Task LoadIdentityAsync(CancellationToken ct)
    {
        OwnerToken = (await File.ReadAllTextAsync(Server.TokenFile, ct)).Trim();
        using JsonDocument info = await AdminAsync(HttpMethod.Get, "_admin/info", null, ct);
        OwnerUserId = info.RootElement.GetProperty("owner_user_id").GetString()!;
        DefaultShareId = info.RootElement.GetProperty("default_share_id").GetString()!;
    }

    /// <summary>Creates a user with its own personal share and a long-lived token.</summary>
    public async Task<TestUser> CreateUserAsync(string name)
    {
        using JsonDocument doc = await AdminAsync(HttpMethod.Post, "_admin/users", new { name }, default);
        JsonElement root = doc.RootElement;
        return new TestUser(root.GetProperty("user_id").GetString()!, root.GetProperty("token").GetString()!, root.GetProperty("personal_share_id").GetString()!);
    }

    /// <summary>Creates a share owned by <paramref name="ownerUserId"/>; returns its ID.</summary>
    public async Task<string> CreateShareAsync(string name, string ownerUserId, long? quotaBytes = null)
    {
        using JsonDocument doc = await AdminAsync(HttpMethod.Post, "_admin/shares", new { name, owner_id = ownerUserId, quota_bytes = quotaBytes }, default);
        return doc.RootElement.GetProperty("share_id").GetString()!;
    }

    /// <summary>Adds (or changes) a membership: viewer, contributor, editor, admin or owner.</summary>
    public async Task AddMemberAsync(string shareId, string userId, string role)
    {
        using JsonDocument _ = await AdminAsync(HttpMethod.Put, $"_admin/shares/{shareId}/members/{userId}", new { role }, default);
    }

    public async Task SetShareQuotaAsync(string shareId, long? quotaBytes)
    {
        using JsonDocument _ = await AdminAsync(HttpMethod.Put, $"_admin/shares/{shareId}/quota", new { quota_bytes = quotaBytes }, default);
    }

    /// <summary>Sets every fault at once (0 switches it off).</summary>
    public async Task SetFaultsAsync(double errorRate = 0, double rate429 = 0, double resetRate = 0, int latencyMs = 0)
    {
        using JsonDocument _ = await AdminAsync(HttpMethod.Put, "_admin/faults",
            new { error_rate = errorRate, rate_429 = rate429, reset_rate = resetRate, latency_ms = latencyMs }, default);
    }

    /// <summary>Mints an access token with the given lifetime (may be tiny, to test expiry) and a refresh token.</summary>
    public async Task<(string AccessToken, string RefreshToken)> MintTokenAsync(string userId, TimeSpan lifetime)
    {
        using JsonDocument doc = await AdminAsync(HttpMethod.Post, "_admin/tokens", new { user_id = userId, lifetime_seconds = (long)lifetime.TotalSeconds }, default);
        return (doc.RootElement.GetProperty("access_token").GetString()!, doc.RootElement.GetProperty("refresh_token").GetString()!);
    }

    /// <summary>Drops change-log entries at or below <paramref name="upToPosition"/> (all when null), so older cursors get 410.</summary>
    public async Task CompactChangesAsync(long? upToPosition = null)
    {
        using HttpResponseMessage response = await _admin.PostAsJsonAsync("_admin/changes/compact", new { up_to = upToPosition }, s_json);
        await EnsureAsync(response);
    }

    /// <summary>Stops the server and starts it again over the same data directory (same port when it is still free).</summary>
    public async Task RestartAsync()
    {
        int port = BaseUrl.Port;
        await Server.StopAsync();
        _admin.Dispose();
        try
        {
            Server = await ScaiDriveServer.StartAsync(BuildOptions(_options, DataDirectory, $"127.0.0.1:{port}"));
        }
        catch (ScaiDriveServerException)
        {
            Server = await ScaiDriveServer.StartAsync(BuildOptions(_options, DataDirectory, "127.0.0.1:0"));
        }

        _admin = CreateAdminClient(Server);
        await LoadIdentityAsync(default);
    }

    /// <summary>A raw HTTP client against <see cref="BaseUrl"/>, with <c>Authorization: Bearer</c> when a token is given.</summary>
    public HttpClient CreateHttpClient(string? token)
    {
        var client = new HttpClient { BaseAddress = BaseUrl, Timeout = TimeSpan.FromSeconds(60) };
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return client;
    }

    /// <summary>A typed API client acting as the owner (the "elsewhere" that mount tests upload from and check with).</summary>
    public ScaiDrive.Client.ScaiDriveClient CreateOwnerClient() =>
        new(new ScaiDrive.Client.ScaiDriveClientOptions { BaseUrl = BaseUrl, Credentials = new ScaiDrive.Client.ScaiDriveCredentials { AccessToken = OwnerToken } });

    private async Task<JsonDocument> AdminAsync(HttpMethod method, string path, object? body, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body, body.GetType(), options: s_json);
        }

        using HttpResponseMessage response = await _admin.SendAsync(request, ct);
        await EnsureAsync(response);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct));
    }

    private static async Task EnsureAsync(HttpResponseMessage response)
    {
        if (!response.IsSuccessStatusCode)
        {
            string text = await response.Content.ReadAsStringAsync();
            throw new HttpRequestException($"admin call {response.RequestMessage?.Method} {response.RequestMessage?.RequestUri} failed: {(int)response.StatusCode} {text}", null, response.StatusCode);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _admin.Dispose();
        await Server.StopAsync();
        if (_ownsDirectory)
        {
            TryDelete(DataDirectory);
        }
    }

    private static void TryDelete(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}

/// <summary>A user created by <see cref="LocalServer.CreateUserAsync"/>, with a long-lived token.</summary>
public sealed record TestUser(string UserId, string Token, string PersonalShareId);

/// <summary>How a <see cref="LocalServer"/> starts.</summary>
public sealed record LocalServerOptions
{
    /// <summary>Reuse this data directory (kept on dispose) instead of a fresh temp one.</summary>
    public string? DataDirectory { get; init; }

    /// <summary>Adjusts the server options (upload expiry, size cap, rate limits, TimeProvider, logging…). Listen is always 127.0.0.1:0.</summary>
    public Action<ScaiDriveServerOptions>? Configure { get; init; }
}
