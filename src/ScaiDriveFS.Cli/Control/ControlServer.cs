using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace ScaiDriveFS.Cli.Control;

/// <summary>
/// The daemon's control socket (a Unix domain socket only the mounting user can open): `status` and `unmount`
/// requests, one JSON line each, answered by JSON lines.
/// </summary>
internal sealed partial class ControlServer : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly string _path;
    private readonly Func<MountStatusReport> _status;
    private readonly Func<Func<UnmountProgress, ValueTask>, CancellationToken, Task> _unmount;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;

    private ControlServer(string path, Socket listener, Func<MountStatusReport> status, Func<Func<UnmountProgress, ValueTask>, CancellationToken, Task> unmount, ILogger logger)
    {
        _path = path;
        _listener = listener;
        _status = status;
        _unmount = unmount;
        _logger = logger;
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    public static ControlServer Start(string path, Func<MountStatusReport> status, Func<Func<UnmountProgress, ValueTask>, CancellationToken, Task> unmount, ILogger logger)
    {
        if (File.Exists(path))
        {
            // A socket file left by a daemon that died: nothing listens on it any more.
            File.Delete(path);
        }

        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        listener.Listen(8);
        return new ControlServer(path, listener, status, unmount, logger);
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException ex)
            {
                LogAcceptFailed(_logger, ex.SocketErrorCode.ToString());
                continue;
            }

            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(Socket client)
    {
        await using var stream = new NetworkStream(client, ownsSocket: true);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        await using var writer = new StreamWriter(stream, new UTF8Encoding(false)) { AutoFlush = true, NewLine = "\n" };
        try
        {
            string? line = await reader.ReadLineAsync(_stop.Token);
            ControlRequest? request = line is null ? null : JsonSerializer.Deserialize(line, ControlJsonContext.Default.ControlRequest);
            switch (request?.Command)
            {
                case "status":
                    await writer.WriteLineAsync(JsonSerializer.Serialize(_status(), ControlJsonContext.Default.MountStatusReport));
                    break;
                case "unmount":
                    await _unmount(
                        async progress => await writer.WriteLineAsync(JsonSerializer.Serialize(progress, ControlJsonContext.Default.UnmountProgress)),
                        CancellationToken.None);
                    break;
                default:
                    await writer.WriteLineAsync(JsonSerializer.Serialize(new UnmountProgress("error", 0, 0, "unknown command"), ControlJsonContext.Default.UnmountProgress));
                    break;
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or JsonException or OperationCanceledException)
        {
            // The requesting command went away or sent garbage; the daemon carries on.
            LogRequestFailed(_logger, ex.GetType().Name);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Dispose();
        try
        {
            await _acceptLoop;
        }
        catch (OperationCanceledException)
        {
        }

        try
        {
            File.Delete(_path);
        }
        catch (IOException)
        {
        }

        _stop.Dispose();
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Warning, Message = "Control socket accept failed: {Error}")]
    private static partial void LogAcceptFailed(ILogger logger, string error);

    [LoggerMessage(EventId = 2, Level = LogLevel.Debug, Message = "Control request failed: {Error}")]
    private static partial void LogRequestFailed(ILogger logger, string error);
}
