using Microsoft.Extensions.Logging;

namespace ScaiDrive.Client;

/// <summary>Where the bearer token comes from. Never from a command line, so it never shows in <c>ps</c>.</summary>
public sealed record ScaiDriveCredentials
{
    /// <summary>A token held in memory (from the environment or a caller).</summary>
    public string? AccessToken { get; init; }

    /// <summary>A file holding the token; re-read when it changes on disk.</summary>
    public string? TokenFile { get; init; }

    /// <summary>A refresh token; on 401 the client refreshes once (shared by concurrent callers) and rotates it.</summary>
    public string? RefreshToken { get; init; }

    /// <summary>Reads <c>SCAIDRIVE_TOKEN</c> (and <c>SCAIDRIVE_REFRESH_TOKEN</c>) from the environment.</summary>
    public static ScaiDriveCredentials FromEnvironment() => new()
    {
        AccessToken = Environment.GetEnvironmentVariable("SCAIDRIVE_TOKEN"),
        RefreshToken = Environment.GetEnvironmentVariable("SCAIDRIVE_REFRESH_TOKEN"),
    };

    public override string ToString() => "ScaiDriveCredentials { *** }";
}

public sealed record ScaiDriveClientOptions
{
    public required Uri BaseUrl { get; init; }

    public required ScaiDriveCredentials Credentials { get; init; }

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    public ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>Connections to the server at once (SocketsHttpHandler.MaxConnectionsPerServer).</summary>
    public int MaxConnectionsPerServer { get; init; } = 32;

    /// <summary>Timeout of one attempt of a metadata call.</summary>
    public TimeSpan AttemptTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Timeout of one attempt of a bulk transfer (a ranged GET of up to 16 MiB, a chunk PUT, a multipart POST,
    /// finalizing an upload). Longer than <see cref="AttemptTimeout"/> because the body is part of the attempt.
    /// </summary>
    public TimeSpan TransferAttemptTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Overall deadline of one operation, all retries included.</summary>
    public TimeSpan OperationDeadline { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Retries after the first attempt for transient failures (5xx, timeouts, resets, 429).</summary>
    public int MaxRetries { get; init; } = 6;

    /// <summary>First backoff delay; doubles per retry, with jitter.</summary>
    public TimeSpan BaseBackoff { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Upper bound of a single backoff or Retry-After wait.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>User-Agent product token.</summary>
    public string UserAgent { get; init; } = "ScaiDriveFS/0.1";
}
