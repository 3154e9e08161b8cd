namespace ScaiDrive.Fuse;

/// <summary>How to mount. Defaults suit a desktop user mount.</summary>
public sealed record FuseMountOptions
{
    /// <summary>An existing, empty directory that is not a mount point (a stale FUSE mount there is cleaned).</summary>
    public required string MountPoint { get; init; }

    /// <summary>Let other users see the mount (needs user_allow_other in /etc/fuse.conf unless root).</summary>
    public bool AllowOther { get; init; }

    /// <summary>Mount read-only: the kernel answers EROFS to every change.</summary>
    public bool ReadOnly { get; init; }

    /// <summary>The "device" column of mount(8) and /proc/mounts. No commas or backslashes.</summary>
    public string FsName { get; init; } = "scaidrivefs";

    /// <summary>libfuse's -d: every request is traced to stderr.</summary>
    public bool Debug { get; init; }

    /// <summary>
    /// Files opened read-only bypass the kernel's page cache (FOPEN_DIRECT_IO): each read goes to the daemon, which
    /// serves it from its own block cache, and the bytes are copied once, straight into the reader's buffer. Faster
    /// cold sequential reads where CPU is short, but a shared memory map (MAP_SHARED: Python's mmap, SQLite's mmap_size)
    /// of such a file answers ENODEV, since libfuse 3.14 cannot ask for FUSE_DIRECT_IO_ALLOW_MMAP; private maps
    /// (programs being run, git's pack files) still work. A re-read is served by the daemon, not the page cache.
    /// </summary>
    public bool DirectIoReads { get; init; }

    /// <summary>read_ahead_kb of the mount's backing device, set after mounting (0: keep the kernel's 128 KiB).</summary>
    public int ReadAheadKilobytes { get; init; } = 1024;

    /// <summary>Kernel limit of background requests (readahead, async reads) in flight.</summary>
    public int MaxBackground { get; init; } = 128;

    /// <summary>How long <see cref="FuseMount.MountAsync"/> waits for the kernel's INIT.</summary>
    public TimeSpan InitTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>How long an unmount waits for open files to close before it aborts the connection.</summary>
    public TimeSpan UnmountTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>After the connection ends, how long running requests may finish before the session is destroyed.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Owner shown for every file; null: the mounting user.</summary>
    public uint? Uid { get; init; }

    /// <summary>Group shown for every file; null: the mounting user's group.</summary>
    public uint? Gid { get; init; }

    /// <summary>Use libfuse's single-threaded loop (replies are asynchronous either way).</summary>
    public bool SingleThreaded { get; init; }

    /// <summary>Answer the file system's streamed reads by splicing (see FuseSessionOptions.SpliceReads).</summary>
    public bool SpliceReads { get; init; }
}
