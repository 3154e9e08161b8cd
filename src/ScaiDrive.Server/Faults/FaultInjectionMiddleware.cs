using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using ScaiDrive.Server.Infrastructure;

namespace ScaiDrive.Server.Faults;

/// <summary>
/// Injects the faults of <see cref="FaultSettings"/> into <c>/api/v1</c> requests (not health, not the sync socket):
/// latency first, then at most one of 503, 429 or a connection reset part-way through the response body.
/// </summary>
internal sealed class FaultInjectionMiddleware
{
    private readonly RequestDelegate _next;
    private readonly FaultSettings _faults;

    public FaultInjectionMiddleware(RequestDelegate next, FaultSettings faults)
    {
        _next = next;
        _faults = faults;
    }

    public async Task InvokeAsync(HttpContext context)
    {
        PathString path = context.Request.Path;
        if (!path.StartsWithSegments("/api/v1") || path.StartsWithSegments("/api/v1/health") || path.StartsWithSegments("/api/v1/sync/ws"))
        {
            await _next(context);
            return;
        }

        int latency = _faults.LatencyMs;
        if (latency > 0)
        {
            await Task.Delay(latency, context.RequestAborted);
        }

        double roll = Random.Shared.NextDouble();
        double error = _faults.ErrorRate;
        double rate429 = _faults.Rate429;
        double reset = _faults.ResetRate;
        if (roll < error)
        {
            throw new ApiException(503, "UPSTREAM_UNAVAILABLE", "Injected fault: service unavailable");
        }

        if (roll < error + rate429)
        {
            throw new ApiException(429, "RATE_LIMITED", "Injected fault: rate limited", new Dictionary<string, object> { ["dimension"] = "token", ["injected"] = true })
            {
                RetryAfterSeconds = 1,
            };
        }

        if (roll < error + rate429 + reset)
        {
            IHttpResponseBodyFeature original = context.Features.Get<IHttpResponseBodyFeature>()!;
            var cutting = new ResetAfterFirstBytesStream(original.Stream, context);
            context.Features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(cutting, original));
            await _next(context);
            // A body that was never written (204, tiny answers flushed at the end) is cut here instead.
            context.Abort();
            return;
        }

        await _next(context);
    }

    /// <summary>Lets about half of the first write through, flushes it, then aborts the connection.</summary>
    private sealed class ResetAfterFirstBytesStream : Stream
    {
        private readonly Stream _inner;
        private readonly HttpContext _context;

        public ResetAfterFirstBytesStream(Stream inner, HttpContext context)
        {
            _inner = inner;
            _context = context;
        }

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            int keep = buffer.Length / 2;
            if (keep > 0)
            {
                await _inner.WriteAsync(buffer[..keep], cancellationToken);
                await _inner.FlushAsync(cancellationToken);
            }

            _context.Abort();
            throw new OperationCanceledException("Injected fault: connection reset");
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer, offset, count).GetAwaiter().GetResult();

        public override void Flush()
        {
        }

        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
