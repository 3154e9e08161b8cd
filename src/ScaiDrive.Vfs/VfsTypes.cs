namespace ScaiDrive.Vfs;

public enum VfsNodeKind
{
    Directory,
    File,
}

/// <summary>
/// What stat shows for a node. <see cref="Mode"/> holds permission bits only (e.g. 0b110_100_100); adapters add the type bits.
/// Times are UTC. Ownership is the adapter's business (the mounting user).
/// </summary>
public readonly record struct VfsAttributes(
    ulong Inode,
    VfsNodeKind Kind,
    long Size,
    uint Mode,
    DateTimeOffset ModifiedAt,
    DateTimeOffset ChangedAt,
    DateTimeOffset CreatedAt,
    DateTimeOffset AccessedAt)
{
    /// <summary>Number of subdirectories, for nlink of directories (2 + this); 0 when unknown.</summary>
    public int SubdirectoryCount { get; init; }
}

/// <summary>The answer of a lookup: the child's attributes. A lookup counts as one kernel reference to the inode (see Forget).</summary>
public readonly record struct VfsEntry(VfsAttributes Attributes)
{
    public ulong Inode => Attributes.Inode;
}

/// <summary>One directory listing entry with full attributes (readdirplus).</summary>
public readonly record struct VfsDirectoryEntry(string Name, VfsAttributes Attributes);

/// <summary>Changes asked of setattr; null fields stay as they are.</summary>
public sealed record VfsSetAttributes
{
    public long? Size { get; init; }
    public uint? Mode { get; init; }
    public DateTimeOffset? ModifiedAt { get; init; }
    public DateTimeOffset? AccessedAt { get; init; }
}

[Flags]
public enum VfsOpenFlags
{
    Read = 1,
    Write = 2,
    ReadWrite = Read | Write,
    Truncate = 4,
    Append = 8,
    /// <summary>With create: fail if the name exists.</summary>
    Exclusive = 16,
}

[Flags]
public enum VfsRenameFlags
{
    None = 0,
    /// <summary>RENAME_NOREPLACE: fail with AlreadyExists instead of replacing the target.</summary>
    NoReplace = 1,
    /// <summary>RENAME_EXCHANGE: swap the two names (not supported: NotSupported).</summary>
    Exchange = 2,
}

/// <summary>statfs: sizes from the share's quota (or the user's when the root shows several shares).</summary>
public readonly record struct VfsStatFs(long TotalBytes, long FreeBytes, long TotalFiles, long FreeFiles, int BlockSize, int MaxNameLength);

/// <summary>What <c>scaidrivefs status</c> shows.</summary>
public sealed record VfsStatus
{
    public required bool Connected { get; init; }
    public required int PendingUploads { get; init; }
    public required long PendingUploadBytes { get; init; }
    public required long UploadedBytesInFlight { get; init; }
    public required int FailedUploads { get; init; }
    public required long CacheBytesUsed { get; init; }
    public required long CacheBytesLimit { get; init; }

    /// <summary>Bytes answered from streamed runs since the mount started (see <see cref="VfsOptions.StreamedReadsFromBytes"/>).</summary>
    public long StreamedReadBytes { get; init; }
    public required IReadOnlyList<VfsStatusError> RecentErrors { get; init; }
}

public sealed record VfsStatusError(DateTimeOffset At, string Path, string Message);
