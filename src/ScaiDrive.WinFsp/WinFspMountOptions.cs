namespace ScaiDrive.WinFsp;

/// <summary>How <see cref="WinFspMount"/> presents the core to Windows.</summary>
public sealed record WinFspMountOptions
{
    /// <summary>A drive letter ("S:"), "*" for the next free letter counting down from Z:, or an empty directory path (not in network mode).</summary>
    public required string MountPoint { get; init; }

    /// <summary>What Explorer shows as the volume name (at most 32 characters).</summary>
    public string VolumeLabel { get; init; } = "ScaiDrive";

    /// <summary>
    /// Mount as a network drive (WinFsp.Net device with a UNC prefix <c>\scaidrive\&lt;label&gt;</c>) instead of a disk.
    /// Explorer then treats the volume as remote: no thumbnail cache files written into folders, fewer background probes.
    /// Directory mount points are not possible in this mode (a Windows rule for network file systems).
    /// </summary>
    public bool NetworkDrive { get; init; } = true;

    /// <summary>Overrides the UNC prefix of network mode (<c>\server\share</c>); null derives it from the label.</summary>
    public string? VolumePrefix { get; init; }

    /// <summary>How long the kernel may answer file information and security from its cache (FileInfoTimeout).</summary>
    public TimeSpan FileInfoTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How long the kernel may cache directory listings (DirInfoTimeout).</summary>
    public TimeSpan DirInfoTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How long total and free space may be reused before the quota is asked again.</summary>
    public TimeSpan VolumeInfoTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Upper bound of one operation on a dispatcher thread or of one pending read/write, below WinFsp's IRP timeout.</summary>
    public TimeSpan OperationTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Dispatcher threads; 0 lets WinFsp choose (one per processor, at least two).</summary>
    public int DispatcherThreads { get; init; }

    /// <summary>Refuse to create Thumbs.db and ehthumbs.db, which Explorer would otherwise upload into every picture folder.</summary>
    public bool BlockThumbnailCaches { get; init; } = true;
}
