namespace ScaiDrive.Fuse.Session;

/// <summary>File type bits of st_mode.</summary>
internal static class FileTypeBits
{
    public const uint Mask = 0xF000;
    public const uint Directory = 0x4000;
    public const uint Regular = 0x8000;
    public const uint Symlink = 0xA000;
}

/// <summary>What stat shows; <see cref="Mode"/> includes the type bits. Owner and group are the session's.</summary>
internal readonly record struct FuseAttributes(
    ulong Inode,
    uint Mode,
    uint LinkCount,
    long Size,
    DateTimeOffset AccessedAt,
    DateTimeOffset ModifiedAt,
    DateTimeOffset ChangedAt)
{
    public bool IsDirectory => (Mode & FileTypeBits.Mask) == FileTypeBits.Directory;
}

/// <summary>One directory entry; <see cref="Name"/> is the raw bytes handed to the kernel (no NUL).</summary>
internal readonly record struct FuseDirectoryEntry(byte[] Name, FuseAttributes Attributes);

/// <summary>What an open or create answers besides the handle.</summary>
internal readonly record struct FuseOpenResult(ulong Handle, bool KeepCache = false, bool DirectIo = false);

/// <summary>setattr: null fields are not to be changed. Times already resolved (UTIME_NOW → now).</summary>
internal sealed record FuseSetAttributes
{
    public long? Size { get; init; }
    public uint? Mode { get; init; }
    public uint? Uid { get; init; }
    public uint? Gid { get; init; }
    public DateTimeOffset? AccessedAt { get; init; }
    public DateTimeOffset? ModifiedAt { get; init; }
}

internal readonly record struct FuseStatFs(
    ulong BlockSize,
    ulong TotalBlocks,
    ulong FreeBlocks,
    ulong AvailableBlocks,
    ulong TotalFiles,
    ulong FreeFiles,
    ulong MaxNameLength);

/// <summary>How long the kernel may cache what we answer (0 = ask every time).</summary>
internal sealed record FuseCacheTimeouts(TimeSpan Entry, TimeSpan Attribute, TimeSpan NegativeEntry)
{
    public static FuseCacheTimeouts Default { get; } = new(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1), TimeSpan.Zero);
}

/// <summary>open(2) flags as they arrive in fuse_file_info.flags (Linux x86_64 values).</summary>
internal static class OpenFlags
{
    public const int AccessModeMask = 3;
    public const int ReadOnly = 0;
    public const int WriteOnly = 1;
    public const int ReadWrite = 2;
    public const int Create = 0x40;
    public const int Exclusive = 0x80;
    public const int Truncate = 0x200;
    public const int Append = 0x400;
}

/// <summary>renameat2 flags.</summary>
internal static class RenameFlags
{
    public const uint NoReplace = 1;
    public const uint Exchange = 2;
    public const uint Whiteout = 4;
}

/// <summary>access(2) mask bits.</summary>
internal static class AccessMode
{
    public const int Exists = 0;
    public const int Execute = 1;
    public const int Write = 2;
    public const int Read = 4;
}
