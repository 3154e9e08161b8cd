using System.Buffers;
using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace ScaiDrive.Client;

// Why a second way to read content: a long sequential read through HttpClient costs the reader's process a thread
// pool hop and an epoll wake-up for every few hundred kilobytes, and its bytes can only land in a managed buffer. This
// stream is one ranged GET on a connection of its own, read with blocking calls on the caller's thread, and its
// socket is exposed so that a caller on Linux can move the body to another file descriptor with splice(2) without
// copying it through user space. It speaks just enough HTTP/1.1 for one request (no redirects, no chunked bodies, no
// TLS): anything unexpected makes TryOpenDirectContent return null and the caller uses the ordinary calls, which
// handle retries, token refresh and errors.

/// <summary>
/// The body of one ranged GET of file content, from <see cref="Position"/> to the end of the file, over a plain-HTTP
/// connection of its own, read with blocking calls. Not thread-safe. Dispose wakes a reader blocked in it.
/// </summary>
public sealed class DirectContentStream : IDisposable
{
    private const int MaxHeadBytes = 16 * 1024;

    private readonly Socket _socket;
    private int _disposed;

    private DirectContentStream(Socket socket, long position, long end)
    {
        _socket = socket;
        Position = position;
        End = end;
    }

    /// <summary>File offset of the next body byte on the socket.</summary>
    public long Position { get; private set; }

    /// <summary>File offset where the body ends (the file's size).</summary>
    public long End { get; }

    /// <summary>
    /// The connection. A caller may take body bytes from it directly (splice) and must then call
    /// <see cref="Advance"/> with the count; it must not read or write it otherwise.
    /// </summary>
    public SafeHandle Handle => _socket.SafeHandle;

    /// <summary>Blocks until at least one byte arrives; returns 0 at the end of the body. Throws IOException on a broken connection or a timeout.</summary>
    public int Read(Span<byte> destination)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        long left = End - Position;
        if (left <= 0 || destination.IsEmpty)
        {
            return 0;
        }

        if (destination.Length > left)
        {
            destination = destination[..(int)left];
        }

        int n;
        try
        {
            n = _socket.Receive(destination, SocketFlags.None);
        }
        catch (SocketException ex)
        {
            throw new IOException($"The content connection failed at offset {Position}: {ex.SocketErrorCode}.", ex);
        }

        if (n == 0)
        {
            throw new IOException($"The content connection closed at offset {Position}, before {End}.");
        }

        Position += n;
        return n;
    }

    /// <summary>Records <paramref name="count"/> body bytes taken from <see cref="Handle"/> by the caller.</summary>
    public void Advance(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, End - Position);
        Position += count;
    }

    /// <summary>Shuts the connection down (a thread blocked in it returns) and closes it.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
            // Already reset by the peer.
        }

        _socket.Dispose();
    }

    /// <summary>
    /// Opens the stream: connect, send the request, read the response head. Blocks. Null when the server's answer is
    /// anything but the expected partial body (wrong status, version or ETag, a chunked body, an error): the caller
    /// then uses the ordinary calls, which map errors and retry. Throws only on cancellation.
    /// </summary>
    internal static DirectContentStream? TryOpen(
        Uri url, string? accessToken, string userAgent, long offset, string? expectedETag, TimeSpan timeout, Action<string> onDecline, CancellationToken cancellationToken)
    {
        Socket? socket = null;
        try
        {
            socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            int timeoutMs = (int)Math.Clamp(timeout.TotalMilliseconds, 1, int.MaxValue);
            socket.ReceiveTimeout = timeoutMs;
            socket.SendTimeout = timeoutMs;
            using (cancellationToken.Register(static s => ((Socket)s!).Dispose(), socket))
            {
                // A synchronous connect keeps the socket in blocking mode: every later read is one plain recv.
                socket.Connect(url.IdnHost, url.Port);
                var request = new StringBuilder(512)
                    .Append("GET ").Append(url.PathAndQuery).Append(" HTTP/1.1\r\n")
                    .Append("Host: ").Append(url.Authority).Append("\r\n")
                    .Append("User-Agent: ").Append(userAgent).Append("\r\n")
                    .Append("Range: bytes=").Append(offset.ToString(CultureInfo.InvariantCulture)).Append("-\r\n");
                if (accessToken is not null)
                {
                    request.Append("Authorization: Bearer ").Append(accessToken).Append("\r\n");
                }

                request.Append("\r\n");
                byte[] bytes = Encoding.ASCII.GetBytes(request.ToString());
                int sent = 0;
                while (sent < bytes.Length)
                {
                    sent += socket.Send(bytes.AsSpan(sent), SocketFlags.None);
                }

                string? head = ReadHead(socket, timeoutMs);
                if (head is null)
                {
                    onDecline("no complete response head");
                    return Decline(socket);
                }

                if (!TryParse(head, offset, expectedETag, out long end, out string? problem))
                {
                    onDecline(problem!);
                    return Decline(socket);
                }

                var stream = new DirectContentStream(socket, offset, end);
                socket = null;
                return stream;
            }
        }
        catch (Exception ex) when (ex is SocketException or IOException or ObjectDisposedException)
        {
            cancellationToken.ThrowIfCancellationRequested();
            onDecline(ex.Message);
            return Decline(socket);
        }
    }

    private static DirectContentStream? Decline(Socket? socket)
    {
        socket?.Dispose();
        return null;
    }

    /// <summary>
    /// Takes exactly the response head off the socket, leaving the body's first byte next: it peeks, and consumes only
    /// up to the blank line. Null when no complete head arrives within the size limit or the timeout.
    /// </summary>
    private static string? ReadHead(Socket socket, int timeoutMs)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(MaxHeadBytes);
        try
        {
            long deadline = Environment.TickCount64 + timeoutMs;
            int seen = 0;
            while (true)
            {
                // The first peek blocks until bytes arrive; a head split over segments is rare (servers write it in
                // one piece), so a later peek that finds nothing new waits a little before looking again.
                int peeked = socket.Receive(buffer.AsSpan(0, MaxHeadBytes), SocketFlags.Peek);
                if (peeked == 0)
                {
                    return null;
                }

                int end = buffer.AsSpan(0, peeked).IndexOf("\r\n\r\n"u8);
                if (end >= 0)
                {
                    int length = end + 4;
                    int taken = 0;
                    while (taken < length)
                    {
                        int n = socket.Receive(buffer.AsSpan(taken, length - taken), SocketFlags.None);
                        if (n == 0)
                        {
                            return null;
                        }

                        taken += n;
                    }

                    return Encoding.ASCII.GetString(buffer, 0, end);
                }

                if (peeked >= MaxHeadBytes || Environment.TickCount64 > deadline)
                {
                    return null;
                }

                if (peeked == seen)
                {
                    Thread.Sleep(1);
                }

                seen = peeked;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Accepts only "206" for the requested start with a Content-Range total, a Content-Length and the expected ETag.</summary>
    internal static bool TryParse(string head, long offset, string? expectedETag, out long end, out string? problem)
    {
        end = 0;
        string[] lines = head.Split("\r\n");
        string[] status = lines[0].Split(' ', 3);
        if (status.Length < 2 || !status[0].StartsWith("HTTP/1.", StringComparison.Ordinal) || status[1] != "206")
        {
            problem = $"status {(status.Length > 1 ? status[1] : "?")}";
            return false;
        }

        long? contentLength = null;
        string? contentRange = null;
        string? etag = null;
        foreach (string line in lines.AsSpan(1))
        {
            int colon = line.IndexOf(':');
            if (colon <= 0)
            {
                continue;
            }

            string name = line[..colon].Trim();
            string value = line[(colon + 1)..].Trim();
            if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                contentLength = long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out long l) ? l : -1;
            }
            else if (name.Equals("Content-Range", StringComparison.OrdinalIgnoreCase))
            {
                contentRange = value;
            }
            else if (name.Equals("ETag", StringComparison.OrdinalIgnoreCase))
            {
                etag = value;
            }
            else if (name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
            {
                problem = "a transfer-encoded body";
                return false;
            }
        }

        // "bytes first-last/total"
        if (contentRange is null || !contentRange.StartsWith("bytes ", StringComparison.OrdinalIgnoreCase)
            || contentRange[6..].Split('-', '/') is not [var first, var last, var total]
            || !long.TryParse(first, NumberStyles.None, CultureInfo.InvariantCulture, out long firstByte)
            || !long.TryParse(last, NumberStyles.None, CultureInfo.InvariantCulture, out long lastByte)
            || !long.TryParse(total, NumberStyles.None, CultureInfo.InvariantCulture, out long size))
        {
            problem = "no usable Content-Range";
            return false;
        }

        if (firstByte != offset || lastByte != size - 1 || contentLength != size - offset)
        {
            problem = $"range {contentRange} with length {contentLength} for a request from {offset}";
            return false;
        }

        string? expected = ContentRanges.NormalizeETag(expectedETag);
        if (expected is not null && !string.Equals(ContentRanges.NormalizeETag(etag), expected, StringComparison.Ordinal))
        {
            problem = "another ETag (the content changed)";
            return false;
        }

        end = size;
        problem = null;
        return true;
    }
}
