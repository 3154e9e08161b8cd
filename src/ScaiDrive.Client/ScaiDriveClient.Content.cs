using System.Buffers;
using System.Net;
using System.Net.Http.Headers;
using ScaiDrive.Client.Http;

namespace ScaiDrive.Client;

public sealed partial class ScaiDriveClient
{
    /// <summary>
    /// Reads <c>destination.Length</c> bytes from <paramref name="offset"/> with one ranged GET (retried where it broke off),
    /// returning the bytes read (short only at end of file). When <paramref name="expectedETag"/> is given and the server's
    /// ETag differs, throws <see cref="ScaiDriveErrorKind.ContentChanged"/>.
    /// </summary>
    /// <remarks>
    /// The body is read straight into <paramref name="destination"/>: no intermediate buffer. When the connection
    /// drops mid-body, the next attempt asks only for the bytes not yet received and checks that the ETag is the
    /// one the first attempt saw, so a read never stitches two versions together.
    /// </remarks>
    public async Task<int> ReadRangeAsync(FileId fileId, long offset, Memory<byte> destination, long? version = null, string? expectedETag = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (destination.IsEmpty)
        {
            return 0;
        }

        var state = new RangeState(ContentRanges.NormalizeETag(expectedETag));
        return await RunAsync(_pipelines.Transfer, async ct =>
        {
            try
            {
                await ReadRangeAttemptAsync(fileId, offset, destination, version, state, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (state.Filled > 0 && Resilience.Transience.IsTransient(ex))
            {
                Log.ReadResuming(_logger, fileId.Value, offset + state.Filled, Describe(ex));
                throw;
            }

            return state.Filled;
        }, cancellationToken).ConfigureAwait(false);
    }

    private async Task ReadRangeAttemptAsync(FileId fileId, long offset, Memory<byte> destination, long? version, RangeState state, CancellationToken cancellationToken)
    {
        if (state.AtEnd || state.Filled == destination.Length)
        {
            return;
        }

        long start = offset + state.Filled;
        long last = offset + destination.Length - 1;
        HttpResponseMessage response;
        try
        {
            response = await SendAsync(() => ContentRequest(fileId, version, start, last), HttpCompletionOption.ResponseHeadersRead, cancellationToken)
                .ConfigureAwait(false);
        }
        catch (ScaiDriveApiException ex) when (ex.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
        {
            // The range starts at or past the end of the file.
            state.AtEnd = true;
            return;
        }

        using (response)
        {
            state.CheckETag(response, fileId);
            long expected = ContentRanges.ExpectedBodyLength(response, start, last, out long skip);
            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            if (skip > 0)
            {
                await ContentRanges.SkipAsync(body, skip, cancellationToken).ConfigureAwait(false);
            }

            long end = state.Filled + expected;
            while (state.Filled < end)
            {
                int n = await body.ReadAsync(destination[state.Filled..(int)end], cancellationToken).ConfigureAwait(false);
                if (n == 0)
                {
                    throw new IOException($"The response ended after {state.Filled} of {destination.Length} bytes.");
                }

                state.Filled += n;
            }

            if (start + expected <= last)
            {
                state.AtEnd = true;
            }
        }
    }

    private HttpRequestMessage ContentRequest(FileId fileId, long? version, long start, long? last)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, Url($"api/v1/files/{Esc(fileId.Value)}/content" + (version is { } v ? $"?version={v}" : string.Empty)));
        request.Headers.Range = new RangeHeaderValue(start, last);
        return request;
    }

    /// <summary>Streams the content from <paramref name="offset"/> (to the end when <paramref name="length"/> is null). Verifies Content-Range.</summary>
    /// <remarks>The stream resumes by itself after a dropped connection (a new ranged GET from the position reached, same ETag).</remarks>
    public async Task<Stream> OpenReadAsync(FileId fileId, long offset = 0, long? length = null, long? version = null, string? expectedETag = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (length is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(length));
        }

        var stream = new ContentStream(this, fileId, offset, length is { } l ? offset + l : null, version, ContentRanges.NormalizeETag(expectedETag));
        try
        {
            await stream.OpenAsync(cancellationToken).ConfigureAwait(false);
            return stream;
        }
        catch
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Opens the content from <paramref name="offset"/> to the end as a <see cref="DirectContentStream"/>: one ranged GET
    /// on a plain-HTTP connection of its own, read with blocking calls (see that type for why). Blocks for the round
    /// trip. Null when the base URL is not plain HTTP or the server answers anything but the expected partial body
    /// (an error, another ETag, an expired token): use the ordinary calls then, which retry and map errors.
    /// </summary>
    /// <summary>True when <see cref="TryOpenDirectContent"/> may succeed: the base URL is plain HTTP.</summary>
    public bool CanOpenDirectContent => _baseUrl.Scheme == Uri.UriSchemeHttp;

    public DirectContentStream? TryOpenDirectContent(FileId fileId, long offset, long? version = null, string? expectedETag = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (!CanOpenDirectContent)
        {
            return null;
        }

        Uri url = Url($"api/v1/files/{Esc(fileId.Value)}/content" + (version is { } v ? $"?version={v}" : string.Empty));
        return DirectContentStream.TryOpen(
            url, _tokens.GetAccessToken(), _options.UserAgent, offset, expectedETag, _options.TransferAttemptTimeout,
            reason => Log.DirectContentDeclined(_logger, fileId.Value, offset, _tokens.Scrub(reason)), cancellationToken);
    }

    /// <summary>Progress of one ranged read, kept across attempts.</summary>
    private sealed class RangeState(string? etag)
    {
        public int Filled;
        public bool AtEnd;

        public string? ETag { get; private set; } = etag;

        public void CheckETag(HttpResponseMessage response, FileId fileId)
        {
            string? seen = ContentRanges.NormalizeETag(response.Headers.ETag?.Tag);
            if (seen is null)
            {
                return;
            }

            if (ETag is null)
            {
                ETag = seen;
            }
            else if (!string.Equals(ETag, seen, StringComparison.Ordinal))
            {
                throw new ScaiDriveApiException(
                    ScaiDriveErrorKind.ContentChanged,
                    $"The content of {fileId} changed during the read (ETag {ETag} became {seen}).",
                    response.StatusCode,
                    requestId: ApiErrors.HeaderValue(response.Headers, "X-Request-ID"));
            }
        }
    }

    /// <summary>
    /// A read-only stream over a file's content that resumes after a dropped connection. Not thread-safe (like any stream).
    /// </summary>
    private sealed class ContentStream : Stream
    {
        private readonly ScaiDriveClient _client;
        private readonly FileId _fileId;
        private readonly long? _end;
        private readonly long? _version;
        private readonly RangeState _state;
        private readonly long _start;
        private long _position;
        private HttpResponseMessage? _response;
        private Stream? _body;
        private long _bodyRemaining;
        private int _resumes;

        public ContentStream(ScaiDriveClient client, FileId fileId, long start, long? end, long? version, string? etag)
        {
            _client = client;
            _fileId = fileId;
            _start = start;
            _position = start;
            _end = end;
            _version = version;
            _state = new RangeState(etag);
        }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => _position - _start;
            set => throw new NotSupportedException();
        }

        public Task OpenAsync(CancellationToken cancellationToken) =>
            _client.RunAsync(_client._pipelines.Transfer, async ct =>
            {
                await OpenAttemptAsync(ct).ConfigureAwait(false);
                return true;
            }, cancellationToken);

        private async Task OpenAttemptAsync(CancellationToken cancellationToken)
        {
            CloseBody();
            if (_end is { } e && _position >= e)
            {
                _state.AtEnd = true;
                return;
            }

            long? last = _end - 1;
            HttpResponseMessage response;
            try
            {
                response = await _client.SendAsync(() => _client.ContentRequest(_fileId, _version, _position, last), HttpCompletionOption.ResponseHeadersRead, cancellationToken)
                    .ConfigureAwait(false);
            }
            catch (ScaiDriveApiException ex) when (ex.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
            {
                _state.AtEnd = true;
                return;
            }

            try
            {
                _state.CheckETag(response, _fileId);
                _bodyRemaining = ContentRanges.ExpectedBodyLength(response, _position, last, out long skip);
                _body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
                if (skip > 0)
                {
                    await ContentRanges.SkipAsync(_body, skip, cancellationToken).ConfigureAwait(false);
                }

                _response = response;
            }
            catch
            {
                response.Dispose();
                throw;
            }
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            while (true)
            {
                if (buffer.IsEmpty || _state.AtEnd)
                {
                    return 0;
                }

                if (_body is null)
                {
                    await OpenAsync(cancellationToken).ConfigureAwait(false);
                    continue;
                }

                if (_bodyRemaining == 0)
                {
                    // The server sent all it had for this range: end of file or end of the requested range.
                    _state.AtEnd = true;
                    return 0;
                }

                int want = (int)Math.Min(buffer.Length, _bodyRemaining);
                int n;
                try
                {
                    n = await _body.ReadAsync(buffer[..want], cancellationToken).ConfigureAwait(false);
                    if (n == 0)
                    {
                        throw new IOException("The response ended early.");
                    }
                }
                catch (Exception ex) when (ex is IOException or HttpRequestException && !cancellationToken.IsCancellationRequested)
                {
                    if (++_resumes > Math.Max(1, _client._options.MaxRetries))
                    {
                        throw new ScaiDriveApiException(ScaiDriveErrorKind.Unavailable, "The download broke off too often.", innerException: ex);
                    }

                    Log.ReadResuming(_client._logger, _fileId.Value, _position, Describe(ex));
                    CloseBody();
                    continue;
                }

                _position += n;
                _bodyRemaining -= n;
                return n;
            }
        }

        public override int Read(byte[] buffer, int offset, int count) =>
            ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        private void CloseBody()
        {
            _body?.Dispose();
            _response?.Dispose();
            _body = null;
            _response = null;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                CloseBody();
            }

            base.Dispose(disposing);
        }
    }
}

/// <summary>Content-Range checks shared by ranged reads and content streams.</summary>
internal static class ContentRanges
{
    /// <summary>The ETag's opaque value without quotes or the weak prefix, so <c>"abc"</c>, <c>W/"abc"</c> and <c>abc</c> compare equal.</summary>
    public static string? NormalizeETag(string? etag)
    {
        if (string.IsNullOrWhiteSpace(etag))
        {
            return null;
        }

        var span = etag.AsSpan().Trim();
        if (span.StartsWith("W/", StringComparison.Ordinal))
        {
            span = span[2..];
        }

        return span.Trim('"').ToString();
    }

    /// <summary>
    /// How many body bytes belong to [<paramref name="start"/>, <paramref name="last"/>]. A 206 must start exactly at
    /// <paramref name="start"/> and end within the range; a 200 (range ignored) is the whole file, and
    /// <paramref name="skip"/> says how much of it to drop first.
    /// </summary>
    public static long ExpectedBodyLength(HttpResponseMessage response, long start, long? last, out long skip)
    {
        skip = 0;
        if (response.StatusCode == HttpStatusCode.PartialContent)
        {
            var range = response.Content.Headers.ContentRange;
            if (range is not { HasRange: true, From: { } from, To: { } to } || !string.Equals(range.Unit, "bytes", StringComparison.OrdinalIgnoreCase))
            {
                throw Bad($"206 without a usable Content-Range ('{range}').", response);
            }

            if (from != start || to < from || (last is { } l && to > l) || (range.Length is { } total && to >= total))
            {
                throw Bad($"Content-Range '{range}' does not match the requested bytes {start}-{last}.", response);
            }

            long count = to - from + 1;
            if (response.Content.Headers.ContentLength is { } cl && cl != count)
            {
                throw Bad($"Content-Length {cl} disagrees with Content-Range '{range}'.", response);
            }

            return count;
        }

        if (response.StatusCode == HttpStatusCode.OK)
        {
            long size = response.Content.Headers.ContentLength ?? throw Bad("200 without Content-Length for a ranged read.", response);
            if (start >= size)
            {
                return 0;
            }

            skip = start;
            long end = last is { } l ? Math.Min(l + 1, size) : size;
            return end - start;
        }

        throw Bad($"Unexpected status {(int)response.StatusCode} for a content read.", response);
    }

    public static async Task SkipAsync(Stream body, long count, CancellationToken cancellationToken)
    {
        byte[] scratch = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            while (count > 0)
            {
                int n = await body.ReadAsync(scratch.AsMemory(0, (int)Math.Min(scratch.Length, count)), cancellationToken).ConfigureAwait(false);
                if (n == 0)
                {
                    throw new IOException("The response ended early.");
                }

                count -= n;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    private static ScaiDriveApiException Bad(string message, HttpResponseMessage response) =>
        new(ScaiDriveErrorKind.Other, message, response.StatusCode, requestId: ApiErrors.HeaderValue(response.Headers, "X-Request-ID"));
}
