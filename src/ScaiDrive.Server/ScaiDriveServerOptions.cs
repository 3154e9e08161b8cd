using Microsoft.Extensions.Logging;

namespace ScaiDrive.Server;

/// <summary>Everything <c>scaidrivefs serve</c> (and the test fixture) can set. Validated by <see cref="ScaiDriveServer.StartAsync"/>.</summary>
public sealed class ScaiDriveServerOptions
{
    /// <summary>Where the metadata database, blobs, staged uploads and token files live. Created when missing.</summary>
    public required string DataDirectory { get; set; }

    /// <summary><c>host:port</c> to bind; port 0 picks a free one. Only IP literals and <c>localhost</c> are accepted.</summary>
    public string Listen { get; set; } = "127.0.0.1:8421";

    /// <summary>Fraction (0–1) of API requests answered 503 with the error envelope.</summary>
    public double FaultErrorRate { get; set; }

    /// <summary>Fraction (0–1) of API requests answered 429 with <c>Retry-After: 1</c>.</summary>
    public double Fault429Rate { get; set; }

    /// <summary>Fraction (0–1) of API requests whose connection is dropped in the middle of the response body.</summary>
    public double FaultResetRate { get; set; }

    /// <summary>Delay added before every API request is handled.</summary>
    public int FaultLatencyMs { get; set; }

    /// <summary>Rate-limit units per minute per token (§1.8). Generous by default so tests are not throttled.</summary>
    public int RateLimitPerTokenPerMinute { get; set; } = 1_000_000;

    /// <summary>Rate-limit units per minute per user, across all of the user's tokens.</summary>
    public int RateLimitPerUserPerMinute { get; set; } = 5_000_000;

    /// <summary>Per-file size cap (413 PAYLOAD_TOO_LARGE above it). The documented tenant default is 5 GiB.</summary>
    public long MaxFileSizeBytes { get; set; } = 5L * 1024 * 1024 * 1024;

    /// <summary>
    /// Serves our <c>PATCH /api/v1/uploads/{session}</c> extension (resize an active session). False answers 405 like a
    /// real ScaiDrive, so tests can exercise the client's fallback.
    /// </summary>
    public bool UploadResizeEnabled { get; set; } = true;

    /// <summary>An upload session expires after this much inactivity (410 UPLOAD_SESSION_EXPIRED).</summary>
    public TimeSpan UploadSessionLifetime { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Lifetime of access tokens issued by <c>POST /api/v1/auth/token</c>.</summary>
    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Clock for token expiry, upload-session expiry, rate-limit windows and timestamps.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    public ILoggerFactory? LoggerFactory { get; set; }
}
