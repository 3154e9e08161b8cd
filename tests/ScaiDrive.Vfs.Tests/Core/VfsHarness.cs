using ScaiDrive.Client;
using ScaiDrive.TestSupport;

namespace ScaiDrive.Vfs.Tests.Core;

/// <summary>A local server over real HTTP, a client, and a VfsFileSystem over a temp cache directory; all torn down on dispose.</summary>
internal sealed class VfsHarness : IAsyncDisposable
{
    private readonly bool _ownsServer;
    private readonly List<ScaiDriveClient> _clients = new();

    private VfsHarness(LocalServer server, bool ownsServer, ScaiDriveClient client, VfsOptions options, string tempRoot)
    {
        Server = server;
        _ownsServer = ownsServer;
        Client = client;
        Options = options;
        TempRoot = tempRoot;
    }

    public LocalServer Server { get; }

    public ScaiDriveClient Client { get; }

    public VfsOptions Options { get; }

    public string TempRoot { get; }

    public VfsFileSystem Fs { get; private set; } = null!;

    public ShareId ShareId => new(Server.DefaultShareId);

    /// <summary>The last log lines of the core and the upload queue.</summary>
    public RecordingLoggerFactory Logs { get; } = new();

    /// <summary>
    /// Starts a harness. By default the owner's "My Files" share is the root, uploads wait 50 ms, and the change feed is
    /// off (these tests check the core's own caching).
    /// </summary>
    /// <param name="handler">The core's HTTP handler (a test's wrapper around a socket handler); null: the client's own.</param>
    public static async Task<VfsHarness> StartAsync(Func<VfsOptions, VfsOptions>? configure = null, LocalServer? server = null, string? token = null, bool multiShareRoot = false, HttpMessageHandler? handler = null)
    {
        bool owns = server is null;
        server ??= await LocalServer.StartAsync();
        string temp = Path.Combine(Path.GetTempPath(), "sdfs-vfs-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(temp);
        var options = new VfsOptions
        {
            CacheDirectory = Path.Combine(temp, "cache"),
            Share = multiShareRoot ? null : new ShareId(server.DefaultShareId),
            WriteBackDelay = TimeSpan.FromMilliseconds(50),
            FollowChanges = false,
        };
        if (configure is not null)
        {
            options = configure(options);
        }

        ScaiDriveClient client = CreateClient(server, token ?? server.OwnerToken, handler);
        var harness = new VfsHarness(server, owns, client, options, temp);
        harness.Fs = await VfsFileSystem.CreateAsync(client, options, harness.Logs);
        return harness;
    }

    public static ScaiDriveClient CreateClient(LocalServer server, string token, HttpMessageHandler? handler = null)
    {
        var options = new ScaiDriveClientOptions
        {
            BaseUrl = server.BaseUrl,
            Credentials = new ScaiDriveCredentials { AccessToken = token },
            MaxRetries = 2,
            BaseBackoff = TimeSpan.FromMilliseconds(20),
        };
        return handler is null ? new ScaiDriveClient(options) : new ScaiDriveClient(options, handler);
    }

    /// <summary>A second client of the same server (the "colleague" making changes elsewhere).</summary>
    public ScaiDriveClient OtherClient(string? token = null)
    {
        ScaiDriveClient client = CreateClient(Server, token ?? Server.OwnerToken);
        _clients.Add(client);
        return client;
    }

    /// <summary>Disposes the core (after draining when asked) and builds a new one on the same cache directory.</summary>
    public async Task RemountAsync(bool drain = true)
    {
        if (drain)
        {
            await Fs.DrainAsync();
        }

        await Fs.DisposeAsync();
        Fs = await VfsFileSystem.CreateAsync(Client, Options, Logs);
    }

    public async ValueTask DisposeAsync()
    {
        await Fs.DisposeAsync();
        Client.Dispose();
        foreach (ScaiDriveClient client in _clients)
        {
            client.Dispose();
        }

        if (_ownsServer)
        {
            await Server.DisposeAsync();
        }

        try
        {
            Directory.Delete(TempRoot, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
