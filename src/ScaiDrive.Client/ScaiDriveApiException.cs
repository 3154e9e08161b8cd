using System.Net;

namespace ScaiDrive.Client;

/// <summary>
/// The small, closed set of failure kinds the VFS maps to errno / NTSTATUS. The HTTP status decides the kind;
/// <c>error.code</c> refines it when present (§1.7, §21.1).
/// </summary>
public enum ScaiDriveErrorKind
{
    /// <summary>401: missing, bad or expired token that refreshing did not fix.</summary>
    Unauthorized,
    /// <summary>403: authenticated but not allowed.</summary>
    Forbidden,
    /// <summary>404: missing or invisible.</summary>
    NotFound,
    /// <summary>409 NAME_CONFLICT / ALREADY_EXISTS: a sibling has the name.</summary>
    NameConflict,
    /// <summary>409 SYNC_CONFLICT: the base version is stale.</summary>
    VersionConflict,
    /// <summary>Other 409 (UPLOAD_INCOMPLETE …).</summary>
    Conflict,
    /// <summary>410: soft-deleted, or an expired session/link/cursor.</summary>
    Gone,
    /// <summary>413: over the per-file size cap.</summary>
    PayloadTooLarge,
    /// <summary>507: a quota would be exceeded.</summary>
    QuotaExceeded,
    /// <summary>400 / 422: the request was invalid (bad name, missing field, checksum mismatch).</summary>
    InvalidRequest,
    /// <summary>429 after the retries ran out.</summary>
    RateLimited,
    /// <summary>5xx, timeouts, refused or dropped connections after the retries ran out.</summary>
    Unavailable,
    /// <summary>The content changed (ETag/version) while a ranged read was in progress.</summary>
    ContentChanged,
    /// <summary>Anything else.</summary>
    Other,
}

/// <summary>One exception type for every API failure. Its message never contains a token.</summary>
public sealed class ScaiDriveApiException : Exception
{
    public ScaiDriveApiException(
        ScaiDriveErrorKind kind,
        string message,
        HttpStatusCode? statusCode = null,
        string? errorCode = null,
        string? requestId = null,
        TimeSpan? retryAfter = null,
        Exception? innerException = null)
        : base(message, innerException)
    {
        Kind = kind;
        StatusCode = statusCode;
        ErrorCode = errorCode;
        RequestId = requestId;
        RetryAfter = retryAfter;
    }

    public ScaiDriveErrorKind Kind { get; }

    /// <summary>HTTP status, or null when no response arrived.</summary>
    public HttpStatusCode? StatusCode { get; }

    /// <summary>The server's <c>error.code</c> when it sent one (NAME_CONFLICT, QUOTA_EXCEEDED, …).</summary>
    public string? ErrorCode { get; }

    public string? RequestId { get; }

    public TimeSpan? RetryAfter { get; }

    /// <summary>True when retrying the same request later may succeed.</summary>
    public bool IsTransient => Kind is ScaiDriveErrorKind.Unavailable or ScaiDriveErrorKind.RateLimited;
}
