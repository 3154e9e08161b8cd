using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ScaiDrive.Server.Auth;
using ScaiDrive.Server.Domain;
using ScaiDrive.Server.Endpoints;
using ScaiDrive.Server.Faults;
using ScaiDrive.Server.Hosting;
using ScaiDrive.Server.Infrastructure;
using ScaiDrive.Server.RateLimiting;
using ScaiDrive.Server.Sync;

namespace ScaiDrive.Server;

/// <summary>
/// The local ScaiDrive server: the documented REST API over Kestrel, persistent under
/// <see cref="DataDirectory"/>. On first start it creates a tenant, a default user and its personal share
/// "My Files", and writes that user's long-lived token to <see cref="TokenFile"/> (mode 0600); later starts reuse them.
/// </summary>
public sealed class ScaiDriveServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Drive _drive;
    private int _stopped;

    private ScaiDriveServer(WebApplication app, Drive drive, Uri baseUrl, string dataDirectory, string adminToken, FaultSettings faults)
    {
        _app = app;
        _drive = drive;
        BaseUrl = baseUrl;
        DataDirectory = dataDirectory;
        AdminToken = adminToken;
        Faults = faults;
    }

    /// <summary>Root URL, e.g. <c>http://127.0.0.1:8421/</c>; the API is under <c>api/v1/</c>.</summary>
    public Uri BaseUrl { get; }

    public string DataDirectory { get; }

    /// <summary><c>DIR/token</c>: the default user's long-lived access token.</summary>
    public string TokenFile => Path.Combine(DataDirectory, "token");

    /// <summary>Secret for the <c>/_admin</c> endpoints, also kept in <c>DIR/admin-token</c> (0600).</summary>
    public string AdminToken { get; }

    /// <summary>Fault injection, changeable while the server runs.</summary>
    public FaultSettings Faults { get; }

    /// <summary>Validates the options, opens (or creates) the data directory and starts listening.</summary>
    /// <exception cref="ScaiDriveServerException">Bad options, an unusable data directory or a busy port.</exception>
    public static async Task<ScaiDriveServer> StartAsync(ScaiDriveServerOptions options, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.DataDirectory))
        {
            throw new ScaiDriveServerException("--data must name a directory");
        }

        IPEndPoint endpoint = ListenAddress.Parse(options.Listen);
        var faults = new FaultSettings();
        try
        {
            faults.ErrorRate = options.FaultErrorRate;
            faults.Rate429 = options.Fault429Rate;
            faults.ResetRate = options.FaultResetRate;
            faults.LatencyMs = options.FaultLatencyMs;
        }
        catch (ArgumentOutOfRangeException)
        {
            throw new ScaiDriveServerException("fault rates must be between 0 and 1 and the latency must be >= 0 ms");
        }

        if (options.RateLimitPerTokenPerMinute <= 0 || options.RateLimitPerUserPerMinute <= 0 || options.MaxFileSizeBytes <= 0 ||
            options.UploadSessionLifetime <= TimeSpan.Zero || options.AccessTokenLifetime <= TimeSpan.Zero)
        {
            throw new ScaiDriveServerException("rate limits, the file size cap and lifetimes must be positive");
        }

        string dataDirectory = Path.GetFullPath(options.DataDirectory);
        Drive drive;
        string adminToken;
        try
        {
            Directory.CreateDirectory(dataDirectory);
            drive = new Drive(dataDirectory, options, new ChangeHub());
            adminToken = ReadOrCreateSecret(Path.Combine(dataDirectory, "admin-token"), () => Ids.Secret());
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or Microsoft.Data.Sqlite.SqliteException)
        {
            throw new ScaiDriveServerException($"Cannot use data directory '{dataDirectory}': {ex.Message}", ex);
        }

        var tokens = new JwtTokens(drive.SigningKey, options.TimeProvider);
        ReadOrCreateSecret(Path.Combine(dataDirectory, "token"), () =>
        {
            UserRow owner = drive.FindUser(drive.OwnerUserId)!;
            return tokens.Issue(owner.Id, owner.TenantId, owner.Email, owner.Name, AdminEndpoints.LongLivedToken);
        });

        WebApplication app = Build(options, endpoint, drive, tokens, faults, adminToken);
        try
        {
            await app.StartAsync(ct);
        }
        catch (Exception ex) when (IsAddressInUse(ex))
        {
            await app.DisposeAsync();
            drive.Dispose();
            throw new ScaiDriveServerException($"Cannot listen on {options.Listen}: the address is already in use", ex);
        }
        catch
        {
            await app.DisposeAsync();
            drive.Dispose();
            throw;
        }

        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var baseUrl = new Uri(address.EndsWith('/') ? address : address + "/");
        return new ScaiDriveServer(app, drive, baseUrl, dataDirectory, adminToken, faults);
    }

    private static WebApplication Build(ScaiDriveServerOptions options, IPEndPoint endpoint, Drive drive, JwtTokens tokens, FaultSettings faults, string adminToken)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(ScaiDriveServer).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(options.LoggerFactory ?? NullLoggerFactory.Instance);
        builder.WebHost.UseKestrel(kestrel =>
        {
            kestrel.Listen(endpoint);
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = null;
            kestrel.Limits.MinRequestBodyDataRate = null;
            kestrel.Limits.MinResponseDataRate = null;
        });
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(drive);
        builder.Services.AddSingleton(tokens);
        builder.Services.AddSingleton(faults);
        builder.Services.AddSingleton<Authenticator>();
        builder.Services.AddSingleton<ChangeHub>(_ => drive.Hub);

        WebApplication app = builder.Build();
        app.UseMiddleware<ErrorEnvelopeMiddleware>();
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(30) });
        app.UseMiddleware<FaultInjectionMiddleware>();
        app.UseMiddleware<AuthenticationMiddleware>();
        app.UseMiddleware<RateLimitMiddleware>();
        SystemEndpoints.Map(app, options);
        UserAndShareEndpoints.Map(app);
        FolderEndpoints.Map(app);
        FileEndpoints.Map(app);
        UploadEndpoints.Map(app);
        SyncEndpoints.Map(app);
        LinkEndpoints.Map(app);
        SyncSocket.Map(app);
        AdminEndpoints.Map(app, adminToken, faults);
        app.MapFallback((HttpContext context) =>
        {
            throw new ApiException(404, "NOT_FOUND", $"No endpoint {context.Request.Method} {context.Request.Path}");
        });
        return app;
    }

    private static bool IsAddressInUse(Exception ex)
    {
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            if (e is IOException && e.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }

            if (e is SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse or SocketError.AccessDenied })
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Reads a secret file, or writes a new one with mode 0600 (created with that mode, never widened).</summary>
    private static string ReadOrCreateSecret(string path, Func<string> create)
    {
        if (File.Exists(path))
        {
            return File.ReadAllText(path).Trim();
        }

        string value = create();
        var fileOptions = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            fileOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var writer = new StreamWriter(path, new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: false), fileOptions))
        {
            writer.Write(value + "\n");
        }

        return value;
    }

    /// <summary>Stops listening (in-flight requests get a short grace period) and closes the database.</summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await _app.StopAsync(grace.Token);
        }
        finally
        {
            await _app.DisposeAsync();
            _drive.Dispose();
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync();
}
