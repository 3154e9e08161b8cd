namespace ScaiDriveFS.Cli.Hosting;

/// <summary>Everything `scaidrivefs mount` was asked, after parsing (no token here: it comes from the environment or a file).</summary>
internal sealed record MountSettings
{
    public required string MountPoint { get; init; }
    public Uri? Url { get; init; }
    public string? TokenFile { get; init; }
    public string? Share { get; init; }
    public string? CacheDirectory { get; init; }
    public long? CacheMaxBytes { get; init; }
    public bool ReadOnly { get; init; }

    /// <summary>--direct-io: read-only opens bypass the kernel's page cache (FUSE only).</summary>
    public bool DirectIo { get; init; }

    /// <summary>--read-ahead-streams; null keeps the core's default.</summary>
    public int? ReadAheadStreams { get; init; }

    /// <summary>
    /// --streamed-reads-from; null (the default): off. Opt-in because on our benchmark VM the server's side of a paced
    /// single stream turned slow (docs/BENCHMARKS.md); 64M is the value to use, where the disk cache stops keeping a
    /// sequential run anyway.
    /// </summary>
    public long? StreamedReadsFrom { get; init; }
    public bool AllowOther { get; init; }
    public TimeSpan? WriteBackDelay { get; init; }
    public TimeSpan? PollInterval { get; init; }

    /// <summary>Keep the server's push connection (sync WebSocket) open for change nudges; false: poll only (--no-push).</summary>
    public bool Push { get; init; } = true;

    /// <summary>Kernel and core metadata timeouts (tests); null keeps the core's defaults.</summary>
    public TimeSpan? MetadataTimeout { get; init; }
    public bool Debug { get; init; }
}
