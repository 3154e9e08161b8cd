using ScaiDrive.Client;

namespace ScaiDrive.Vfs;

public sealed record VfsOptions
{
    /// <summary>Cache directory: block cache, staging files, write journal, cursors, overlay. Survives remounts.</summary>
    public required string CacheDirectory { get; init; }

    /// <summary>Disk cache limit (block cache; staged writes are never evicted).</summary>
    public long CacheMaxBytes { get; init; } = 10L * 1024 * 1024 * 1024;

    /// <summary>Memory for cached and read-ahead blocks, all files together.</summary>
    public long MemoryBudgetBytes { get; init; } = 128L * 1024 * 1024;

    /// <summary>
    /// Range requests a sequential reader keeps in flight (its read-ahead window split between them). Two measured
    /// best against a server on the same machine (less CPU on both ends); more helps when the server caps each
    /// connection's bandwidth.
    /// </summary>
    public int ReadAheadStreams { get; init; } = 2;

    /// <summary>
    /// A sequential read that gets this far into a file continues as one stream to its end, answered through
    /// <see cref="VfsFileSystem.TryReadStreamed"/> (null: never). Set it only for an adapter that calls that method.
    /// </summary>
    public long? StreamedReadsFromBytes { get; init; }

    /// <summary>Mount one share as the root; null shows every share of the user as a directory.</summary>
    public ShareId? Share { get; init; }

    public bool ReadOnly { get; init; }

    /// <summary>How long the kernel may keep attributes and entries without asking (also the core's metadata TTL).</summary>
    public TimeSpan AttributeTimeout { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan EntryTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Replaces <see cref="AttributeTimeout"/> and <see cref="EntryTimeout"/> in the kernel while the change feed's
    /// push channel is connected: every remote change then arrives within moments and is invalidated explicitly
    /// (entry, attributes, pages), so the TTL is only a backstop, as rclone's --dir-cache-time. With the push channel
    /// down the short timeouts apply again, since polled changes arrive only every <see cref="ChangePollInterval"/>.
    /// </summary>
    public TimeSpan FollowedMetadataTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>How long a "no such file" answer is cached.</summary>
    public TimeSpan NegativeEntryTimeout { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How long after the last close an upload waits, so that rewrites coalesce.</summary>
    public TimeSpan WriteBackDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>New files up to this size go in one multipart POST; larger ones through resumable sessions.</summary>
    public long SmallUploadThreshold { get; init; } = 8L * 1024 * 1024;

    /// <summary>
    /// Files larger than <see cref="SmallUploadThreshold"/> send their chunks right after close; only the commit (the
    /// new version on the server) waits for <see cref="WriteBackDelay"/>, so rewrites still coalesce into one version.
    /// </summary>
    public bool SendDuringWriteBackDelay { get; init; } = true;

    /// <summary>Poll interval of the change feed when no WebSocket nudge is connected.</summary>
    public TimeSpan ChangePollInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Follow the change feed at all (tests of the bare core may switch it off).</summary>
    public bool FollowChanges { get; init; } = true;

    /// <summary>Listen to the sync WebSocket for change nudges; without it the feed is only polled (tests switch it off).</summary>
    public bool ListenForChangeNudges { get; init; } = true;

    /// <summary>Stable ID of this mount as a sync device; kept in the cache directory when null.</summary>
    public string? DeviceId { get; init; }

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
