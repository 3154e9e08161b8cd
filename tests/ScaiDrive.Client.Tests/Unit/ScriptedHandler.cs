using System.Collections.Concurrent;
using System.Net;
using System.Text;
using ScaiDrive.Client;

namespace ScaiDrive.Client.Tests.Unit;

/// <summary>One request as the handler saw it (headers and body copied before the request is disposed).</summary>
internal sealed record SeenRequest(HttpMethod Method, Uri Uri, string? Authorization, string? Range, byte[] Body, IReadOnlyDictionary<string, string> Headers);

/// <summary>An in-process HTTP peer: each request goes to a script. For tests of client logic that need exact failures.</summary>
internal sealed class ScriptedHandler(Func<SeenRequest, int, Task<HttpResponseMessage>> script) : HttpMessageHandler
{
    private static readonly AsyncLocal<CancellationToken> s_requestAborted = new();
    private int _count;

    /// <summary>Inside a script: the token the client passed with the request (cancelled when the client gives up).</summary>
    public static CancellationToken RequestAborted => s_requestAborted.Value;

    public ConcurrentQueue<SeenRequest> Requests { get; } = new();

    public int Count => Volatile.Read(ref _count);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        byte[] body = request.Content is null ? [] : await request.Content.ReadAsByteArrayAsync(cancellationToken);
        var headers = request.Headers.Concat(request.Content?.Headers ?? Enumerable.Empty<KeyValuePair<string, IEnumerable<string>>>())
            .ToDictionary(h => h.Key, h => string.Join(",", h.Value), StringComparer.OrdinalIgnoreCase);
        var seen = new SeenRequest(request.Method, request.RequestUri!, request.Headers.Authorization?.Parameter, request.Headers.Range?.ToString(), body, headers);
        Requests.Enqueue(seen);
        int n = Interlocked.Increment(ref _count);
        s_requestAborted.Value = cancellationToken;
        var response = await script(seen, n);
        response.RequestMessage ??= request;
        return response;
    }

    public static HttpResponseMessage Json(HttpStatusCode status, string json, Action<HttpResponseMessage>? configure = null)
    {
        var response = new HttpResponseMessage(status) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        configure?.Invoke(response);
        return response;
    }

    public static HttpResponseMessage Error(HttpStatusCode status, string code, string message = "failed", string requestId = "req_test") =>
        Json(status, $$$"""{"detail":"{{{message}}}","status":"error","error":{"code":"{{{code}}}","message":"{{{message}}}"},"meta":{"request_id":"{{{requestId}}}"}}""",
            r => r.Headers.Add("X-Request-ID", requestId));

    public static ScaiDriveClient Client(ScriptedHandler handler, Func<ScaiDriveClientOptions, ScaiDriveClientOptions>? configure = null, ScaiDriveCredentials? credentials = null)
    {
        var options = new ScaiDriveClientOptions
        {
            BaseUrl = new Uri("http://scripted.invalid/"),
            Credentials = credentials ?? new ScaiDriveCredentials { AccessToken = "tok_access_1" },
            BaseBackoff = TimeSpan.FromMilliseconds(1),
            MaxBackoff = TimeSpan.FromMilliseconds(20),
            MaxRetries = 4,
        };
        return new ScaiDriveClient(configure?.Invoke(options) ?? options, handler);
    }
}

/// <summary>A body that delivers <c>failAfter</c> bytes of <c>data</c>, then breaks like a reset connection.</summary>
internal sealed class BreakingStream(byte[] data, int failAfter) : Stream
{
    private int _position;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => data.Length;

    public override long Position { get => _position; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (_position >= failAfter && _position < data.Length)
        {
            throw new IOException("Connection reset by peer (scripted).");
        }

        int n = Math.Min(buffer.Length, Math.Min(data.Length, failAfter) - _position);
        if (n <= 0)
        {
            return 0;
        }

        data.AsSpan(_position, n).CopyTo(buffer);
        _position += n;
        return n;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(Read(buffer.Span));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => Task.FromResult(Read(buffer, offset, count));

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
