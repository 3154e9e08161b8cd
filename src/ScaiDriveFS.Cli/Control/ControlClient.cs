using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using ScaiDriveFS.Cli.Hosting;

namespace ScaiDriveFS.Cli.Control;

/// <summary>Talks to the daemon that serves a mount point, through its control socket.</summary>
internal static class ControlClient
{
    public static async Task<MountStatusReport?> TryGetStatusAsync(string mountPoint, CancellationToken cancellationToken)
    {
        await using NetworkStream? stream = await TryConnectAsync(mountPoint, cancellationToken);
        if (stream is null)
        {
            return null;
        }

        await SendAsync(stream, "status", cancellationToken);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        string? line = await reader.ReadLineAsync(cancellationToken);
        return line is null ? null : JsonSerializer.Deserialize(line, ControlJsonContext.Default.MountStatusReport);
    }

    /// <summary>Asks the daemon to drain and unmount; yields its progress lines. Null when no daemon answers.</summary>
    public static async Task<IAsyncEnumerable<UnmountProgress>?> TryUnmountAsync(string mountPoint, CancellationToken cancellationToken)
    {
        NetworkStream? stream = await TryConnectAsync(mountPoint, cancellationToken);
        if (stream is null)
        {
            return null;
        }

        await SendAsync(stream, "unmount", cancellationToken);
        return ReadProgressAsync(stream, cancellationToken);
    }

    private static async IAsyncEnumerable<UnmountProgress> ReadProgressAsync(NetworkStream stream, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using (stream)
        {
            using var reader = new StreamReader(stream, Encoding.UTF8);
            while (await reader.ReadLineAsync(cancellationToken) is { } line)
            {
                UnmountProgress? progress = JsonSerializer.Deserialize(line, ControlJsonContext.Default.UnmountProgress);
                if (progress is not null)
                {
                    yield return progress;
                }
            }
        }
    }

    private static async Task<NetworkStream?> TryConnectAsync(string mountPoint, CancellationToken cancellationToken)
    {
        string path = UserPaths.ControlSocket(mountPoint);
        if (!File.Exists(path))
        {
            return null;
        }

        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch (SocketException)
        {
            socket.Dispose();
            return null;
        }
    }

    private static async Task SendAsync(NetworkStream stream, string command, CancellationToken cancellationToken)
    {
        string json = JsonSerializer.Serialize(new ControlRequest(command), ControlJsonContext.Default.ControlRequest) + "\n";
        await stream.WriteAsync(Encoding.UTF8.GetBytes(json), cancellationToken);
    }
}
