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
    /// --streamed-reads-from when not given: 64 MiB, where the disk cache stops keeping a sequential run anyway. Measured
    /// on the benchmark VM with freshly freed memory: the cold 1 GiB read 1,354–1,424 MB/s against 981–1,152 with block
    /// read-ahead, and less CPU for both the daemon and the server (docs/BENCHMARKS.md).
    /// </summary>
    public const long DefaultStreamedReadsFrom = 64L * 1024 * 1024;

    /// <summary>--streamed-reads-from; null ('off'): block read-ahead for whole files.</summary>
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
