using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using ScaiDrive.Client;
using ScaiDrive.Fuse;
using ScaiDrive.Server;
using ScaiDrive.Vfs;
using ScaiDriveFS.Cli.Control;
using ScaiDriveFS.Cli.Logging;

namespace ScaiDriveFS.Cli.Hosting;

/// <summary>
/// Runs one mount in this process until it ends: connects (or starts the embedded server), builds the VFS core,
/// mounts it through FUSE, serves the control socket, and on unmount, SIGTERM or SIGINT waits for pending uploads
/// before the kernel mount goes away.
/// </summary>
internal sealed partial class MountHost
{
    private readonly MountSettings _settings;
    private readonly Action<string> _ready;

    public MountHost(MountSettings settings, Action<string> ready)
    {
        _settings = settings;
        _ready = ready;
    }

    public async Task<int> RunAsync(bool logToConsole, CancellationToken cancellationToken)
    {
        string mountPoint = PlatformMount.NormalizeMountPoint(_settings.MountPoint);
        if (!OperatingSystem.IsWindows())
        {
            CheckMountPoint(mountPoint);
        }

        ScaiDriveServer? embedded = null;
        FileStream? cacheLock = null;
        ILoggerFactory? loggerFactory = null;
        try
        {
            Uri url;
            ScaiDriveCredentials credentials;
            string remoteKey;
            if (_settings.Url is null)
            {
                embedded = await StartEmbeddedServerAsync(cancellationToken);
                url = embedded.BaseUrl;
                credentials = new ScaiDriveCredentials { TokenFile = embedded.TokenFile };
                remoteKey = "embedded:" + embedded.DataDirectory;
            }
            else
            {
                url = _settings.Url;
                credentials = ResolveCredentials();
                remoteKey = url.AbsoluteUri;
            }

            remoteKey += "|" + (_settings.Share ?? "*");
            string cacheDirectory = Path.GetFullPath(_settings.CacheDirectory ?? UserPaths.DefaultCacheDirectory(remoteKey));
            Directory.CreateDirectory(cacheDirectory);
            cacheLock = LockCacheDirectory(cacheDirectory);

            loggerFactory = LoggerFactory.Create(builder =>
            {
                builder.SetMinimumLevel(_settings.Debug ? LogLevel.Debug : LogLevel.Information);
                builder.AddProvider(new FileLoggerProvider(Path.Combine(cacheDirectory, "logs", "scaidrivefs.log"), _settings.Debug ? LogLevel.Debug : LogLevel.Information));
                if (logToConsole)
                {
                    builder.AddSimpleConsole(o => o.SingleLine = true);
                }
            });
            ILogger logger = loggerFactory.CreateLogger("ScaiDriveFS.Mount");

            using var client = new ScaiDriveClient(new ScaiDriveClientOptions { BaseUrl = url, Credentials = credentials, LoggerFactory = loggerFactory });
            ShareInfo? share = await ResolveShareAsync(client, cancellationToken);

            var vfsOptions = new VfsOptions
            {
                CacheDirectory = cacheDirectory,
                Share = share?.Id,
                ReadOnly = _settings.ReadOnly,
                ListenForChangeNudges = _settings.Push,
            };
            if (_settings.CacheMaxBytes is { } max)
            {
                vfsOptions = vfsOptions with { CacheMaxBytes = max };
            }

            if (_settings.WriteBackDelay is { } delay)
            {
                vfsOptions = vfsOptions with { WriteBackDelay = delay };
            }

            if (_settings.ReadAheadStreams is { } streams)
            {
                vfsOptions = vfsOptions with { ReadAheadStreams = streams };
            }

            if (PlatformMount.CanSpliceReads(_settings, logger))
            {
                vfsOptions = vfsOptions with { StreamedReadsFromBytes = _settings.StreamedReadsFrom };
            }

            if (_settings.PollInterval is { } poll)
            {
                vfsOptions = vfsOptions with { ChangePollInterval = poll };
            }

            if (_settings.MetadataTimeout is { } ttl)
            {
                vfsOptions = vfsOptions with { AttributeTimeout = ttl, EntryTimeout = ttl, NegativeEntryTimeout = ttl };
            }

            await using VfsFileSystem fs = await VfsFileSystem.CreateAsync(client, vfsOptions, loggerFactory, cancellationToken);
            PlatformMount mount = await PlatformMount.MountAsync(fs, _settings, mountPoint, share?.Name, loggerFactory, cancellationToken);
            LogMounted(logger, mountPoint, url.GetLeftPart(UriPartial.Authority), cacheDirectory);

            var session = new MountSession(mountPoint, url, share?.Name, cacheDirectory, fs, mount, logger);
            try
            {
                await using ControlServer control = ControlServer.Start(UserPaths.ControlSocket(mountPoint), session.GetStatus, session.UnmountAsync, logger);
                using PosixSignalRegistration sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx => { ctx.Cancel = true; session.RequestUnmount("SIGTERM"); });
                using PosixSignalRegistration sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, ctx => { ctx.Cancel = true; session.RequestUnmount("SIGINT"); });
                _ready(mountPoint);
                await session.RunUntilUnmountedAsync();
            }
            finally
            {
                // Whatever failed above, never leave the kernel mount behind this process.
                if (!mount.Completion.IsCompleted)
                {
                    await mount.UnmountAsync();
                }
            }

            LogUnmounted(logger, mountPoint);
            return 0;
        }
        finally
        {
            if (embedded is not null)
            {
                await embedded.DisposeAsync();
            }

            loggerFactory?.Dispose();
            cacheLock?.Dispose();
        }
    }

    private static void CheckMountPoint(string mountPoint)
    {
        if (FuseEnvironment.CheckAvailable() is { } problem)
        {
            throw new CliException(problem);
        }

        if (FuseEnvironment.IsMountPoint(mountPoint))
        {
            if (!FuseEnvironment.TryCleanStaleMount(mountPoint))
            {
                throw new CliException($"{mountPoint} is already a mount point; unmount it first (scaidrivefs unmount {mountPoint}).");
            }
        }

        if (!Directory.Exists(mountPoint))
        {
            throw new CliException(File.Exists(mountPoint)
                ? $"mount point {mountPoint} is not a directory."
                : $"mount point {mountPoint} does not exist; create it first (mkdir -p {mountPoint}).");
        }
    }

    private ScaiDriveCredentials ResolveCredentials()
    {
        if (_settings.TokenFile is { } file)
        {
            if (!File.Exists(file))
            {
                throw new CliException($"token file {file} does not exist.");
            }

            return new ScaiDriveCredentials { TokenFile = Path.GetFullPath(file), RefreshToken = Environment.GetEnvironmentVariable("SCAIDRIVE_REFRESH_TOKEN") };
        }

        ScaiDriveCredentials fromEnvironment = ScaiDriveCredentials.FromEnvironment();
        if (string.IsNullOrWhiteSpace(fromEnvironment.AccessToken))
        {
            throw new CliException("no token: set SCAIDRIVE_TOKEN or pass --token-file FILE (tokens are never taken from the command line).");
        }

        return fromEnvironment;
    }

    private static async Task<ScaiDriveServer> StartEmbeddedServerAsync(CancellationToken cancellationToken)
    {
        string data = UserPaths.EmbeddedServerData;
        Directory.CreateDirectory(data);
        return await ScaiDriveServer.StartAsync(new ScaiDriveServerOptions { DataDirectory = data, Listen = "127.0.0.1:0" }, cancellationToken);
    }

    private async Task<ShareInfo?> ResolveShareAsync(ScaiDriveClient client, CancellationToken cancellationToken)
    {
        IReadOnlyList<ShareInfo> shares;
        try
        {
            shares = await client.ListMySharesAsync(cancellationToken);
        }
        catch (ScaiDriveApiException ex)
        {
            throw new CliException(ex.Kind switch
            {
                ScaiDriveErrorKind.Unauthorized => "the server rejected the token (401): check SCAIDRIVE_TOKEN or the token file.",
                ScaiDriveErrorKind.Unavailable => $"cannot reach the server: {ex.Message}",
                _ => $"the server refused to list shares: {ex.Message}",
            });
        }

        if (_settings.Share is not { } wanted)
        {
            return null;
        }

        ShareInfo? match = shares.FirstOrDefault(s => s.Id.Value == wanted)
            ?? shares.FirstOrDefault(s => string.Equals(s.Name, wanted, StringComparison.Ordinal))
            ?? shares.FirstOrDefault(s => string.Equals(s.Name, wanted, StringComparison.OrdinalIgnoreCase));
        return match ?? throw new CliException(
            $"no share named or with ID '{wanted}'; shares: {string.Join(", ", shares.Select(s => $"{s.Name} ({s.Id})"))}");
    }

    private static FileStream LockCacheDirectory(string cacheDirectory)
    {
        string lockPath = Path.Combine(cacheDirectory, "lock");
        try
        {
            // FileShare.None takes an advisory lock that the kernel drops when this process dies, even by kill -9.
            return new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            throw new CliException($"the cache directory {cacheDirectory} is in use by another mount; pass --cache-dir DIR.");
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Mounted {MountPoint} from {Server} (cache {CacheDirectory})")]
    private static partial void LogMounted(ILogger logger, string mountPoint, string server, string cacheDirectory);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Unmounted {MountPoint}")]
    private static partial void LogUnmounted(ILogger logger, string mountPoint);
}
