using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using ScaiDrive.Client.Wire;

namespace ScaiDrive.Client.Http;

/// <summary>
/// Turns an error response into a <see cref="ScaiDriveApiException"/>. The HTTP status decides the kind and
/// <c>error.code</c> only refines it (§1.7: some deployments send no code at all).
/// </summary>
internal static class ApiErrors
{
    // Error bodies are small; a server that sends megabytes of HTML on a 502 is cut here.
    private const int MaxErrorBodyBytes = 64 * 1024;

    public static ScaiDriveErrorKind KindOf(HttpStatusCode status, string? code)
    {
        switch ((int)status)
        {
            case 400: return ScaiDriveErrorKind.InvalidRequest;
            case 401: return ScaiDriveErrorKind.Unauthorized;
            case 403: return ScaiDriveErrorKind.Forbidden;
            case 404: return ScaiDriveErrorKind.NotFound;
            case 408: return ScaiDriveErrorKind.Unavailable;
            case 409:
                return code switch
                {
                    "NAME_CONFLICT" or "ALREADY_EXISTS" => ScaiDriveErrorKind.NameConflict,
                    "SYNC_CONFLICT" => ScaiDriveErrorKind.VersionConflict,
                    _ => ScaiDriveErrorKind.Conflict,
                };
            case 410: return ScaiDriveErrorKind.Gone;
            case 412: return ScaiDriveErrorKind.VersionConflict;
            case 413: return ScaiDriveErrorKind.PayloadTooLarge;
            case 416: return ScaiDriveErrorKind.InvalidRequest;
            case 422: return ScaiDriveErrorKind.InvalidRequest;
            case 429: return ScaiDriveErrorKind.RateLimited;
            case 507: return ScaiDriveErrorKind.QuotaExceeded;
            case 500 or 502 or 503 or 504: return ScaiDriveErrorKind.Unavailable;
            default:
                return code switch
                {
                    "QUOTA_EXCEEDED" => ScaiDriveErrorKind.QuotaExceeded,
                    "RATE_LIMITED" => ScaiDriveErrorKind.RateLimited,
                    _ => ScaiDriveErrorKind.Other,
                };
        }
    }

    /// <summary>Reads the body (bounded) and builds the exception. Never throws for a malformed body.</summary>
    public static async Task<ScaiDriveApiException> FromResponseAsync(
        HttpResponseMessage response, TimeProvider timeProvider, Auth.TokenScrubber scrubber, CancellationToken cancellationToken)
    {
        byte[] body;
        try
        {
            body = await ReadBoundedAsync(response.Content, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException)
        {
            body = [];
        }

        return FromParts(
            response.StatusCode,
            body,
            HeaderValue(response.Headers, "X-Request-ID"),
            ParseRetryAfter(response.Headers.RetryAfter, timeProvider.GetUtcNow()),
            response.RequestMessage,
            scrubber);
    }

    public static ScaiDriveApiException FromParts(
        HttpStatusCode status,
        ReadOnlySpan<byte> body,
        string? requestIdHeader,
        TimeSpan? retryAfterHeader,
        HttpRequestMessage? request,
        Auth.TokenScrubber scrubber)
    {
        var (code, message, retryAfterBody, requestIdBody) = ParseBody(body);
        string? requestId = requestIdHeader ?? requestIdBody;
        TimeSpan? retryAfter = retryAfterHeader ?? (retryAfterBody is { } s && s >= 0 ? TimeSpan.FromSeconds(s) : null);
        var kind = KindOf(status, code);

        var text = new StringBuilder();
        if (request is not null)
        {
            // Path only: IDs and names, never the query (kept short) and never a header.
            text.Append(request.Method.Method).Append(' ').Append(request.RequestUri?.AbsolutePath).Append(": ");
        }

        text.Append((int)status).Append(' ').Append(code ?? status.ToString());
        if (!string.IsNullOrEmpty(message))
        {
            text.Append(": ").Append(message);
        }

        if (requestId is not null)
        {
            text.Append(" (request ").Append(requestId).Append(')');
        }

        return new ScaiDriveApiException(kind, scrubber.Scrub(text.ToString()), status, code, requestId, retryAfter);
    }

    internal static (string? Code, string? Message, double? RetryAfter, string? RequestId) ParseBody(ReadOnlySpan<byte> body)
    {
        if (body.IsEmpty)
        {
            return default;
        }

        ErrorBodyDto? dto;
        try
        {
            dto = JsonSerializer.Deserialize(body, WireJsonContext.Default.ErrorBodyDto);
        }
        catch (JsonException)
        {
            // Not JSON (a proxy's HTML page): keep a short excerpt as the message.
            string excerpt = Encoding.UTF8.GetString(body[..Math.Min(body.Length, 200)]).Trim();
            return (null, excerpt.Length == 0 ? null : excerpt, null, null);
        }

        if (dto is null)
        {
            return default;
        }

        string? message = dto.Error?.Message;
        if (message is null && dto.Detail is { } detail)
        {
            message = detail.ValueKind switch
            {
                JsonValueKind.String => detail.GetString(),
                JsonValueKind.Array => DescribeValidation(detail),
                _ => null,
            };
        }

        return (dto.Error?.Code, message, dto.Error?.RetryAfter, dto.Meta?.RequestId);
    }

    private static string DescribeValidation(JsonElement detail)
    {
        var parts = new List<string>();
        foreach (var entry in detail.EnumerateArray())
        {
            if (entry.ValueKind == JsonValueKind.Object && entry.TryGetProperty("msg", out var msg) && msg.ValueKind == JsonValueKind.String)
            {
                string loc = entry.TryGetProperty("loc", out var l) && l.ValueKind == JsonValueKind.Array
                    ? string.Join('.', l.EnumerateArray().Select(x => x.ToString()))
                    : string.Empty;
                parts.Add(loc.Length > 0 ? $"{loc}: {msg.GetString()}" : msg.GetString()!);
            }
        }

        return parts.Count == 0 ? "validation failed" : string.Join("; ", parts);
    }

    /// <summary>Retry-After as delta-seconds or an HTTP date (relative to <paramref name="now"/>); never negative.</summary>
    public static TimeSpan? ParseRetryAfter(RetryConditionHeaderValue? header, DateTimeOffset now)
    {
        if (header is null)
        {
            return null;
        }

        if (header.Delta is { } delta)
        {
            return delta < TimeSpan.Zero ? TimeSpan.Zero : delta;
        }

        if (header.Date is { } date)
        {
            var wait = date - now;
            return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
        }

        return null;
    }

    /// <summary>Parses a raw Retry-After value; used where no typed header is at hand (tests, WebSocket).</summary>
    public static TimeSpan? ParseRetryAfter(string? value, DateTimeOffset now) =>
        value is not null && RetryConditionHeaderValue.TryParse(value, out var parsed) ? ParseRetryAfter(parsed, now) : null;

    public static string? HeaderValue(HttpResponseHeaders headers, string name) =>
        headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;

    public static bool TryHeaderLong(HttpResponseHeaders headers, string name, out long value)
    {
        value = 0;
        return headers.TryGetValues(name, out var values)
            && long.TryParse(values.FirstOrDefault(), NumberStyles.Integer, CultureInfo.InvariantCulture, out value);
    }

    private static async Task<byte[]> ReadBoundedAsync(HttpContent content, CancellationToken cancellationToken)
    {
        await using var stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        var buffer = new byte[MaxErrorBodyBytes];
        int total = 0;
        while (total < buffer.Length)
        {
            int n = await stream.ReadAsync(buffer.AsMemory(total), cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                break;
            }

            total += n;
        }

        return buffer.AsSpan(0, total).ToArray();
    }
}
