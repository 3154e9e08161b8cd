using ScaiDrive.Vfs;

namespace ScaiDrive.WinFsp;

/// <summary>
/// One open instance (WinFsp's "file descriptor"; our FileContext is its <see cref="Id"/>). A Create or Open makes
/// one, Close drops it. It holds one kernel reference on <see cref="Inode"/> in the core (taken by the lookup that
/// found it) and at most one core handle, opened lazily by the first operation that needs data.
/// </summary>
internal sealed class OpenFile(ulong id, ulong inode, bool isDirectory, string path, uint grantedAccess, bool holdsLookupReference)
{
    public ulong Id { get; } = id;

    public ulong Inode { get; } = inode;

    public bool IsDirectory { get; } = isDirectory;

    public uint GrantedAccess { get; } = grantedAccess;

    /// <summary>False for the root, which needs no lookup and is never forgotten.</summary>
    public bool HoldsLookupReference { get; } = holdsLookupReference;

    /// <summary>Serializes opening, upgrading and releasing <see cref="Handle"/> (async: held across core calls).</summary>
    public SemaphoreSlim HandleGate { get; } = new(1, 1);

    /// <summary>The core handle, or null before the first data operation. Guarded by <see cref="HandleGate"/>.</summary>
    public ulong? Handle { get; set; }

    /// <summary>Whether <see cref="Handle"/> was opened for writing. Guarded by <see cref="HandleGate"/>.</summary>
    public bool HandleWritable { get; set; }

    /// <summary>Stored-case path from the root, '\'-separated ("\Reports\Q1.docx"). Changes on rename.</summary>
    public string Path
    {
        get => Volatile.Read(ref _path);
        set => Volatile.Write(ref _path, value);
    }

    private string _path = path;

    /// <summary>Written through this instance since open: Cleanup then makes the staged data durable.</summary>
    public volatile bool Modified;

    /// <summary>SetDelete(true) was accepted; the deletion itself happens in Cleanup with FspCleanupDelete.</summary>
    public volatile bool DeletePending;

    /// <summary>The listing ReadDirectory serves markers from; replaced when a scan restarts (no marker).</summary>
    public volatile DirectorySnapshot? Listing;
}

/// <summary>A directory listing in the order we promise WinFsp: ".", ".." (not at the root), then names case-insensitively.</summary>
internal sealed record DirectorySnapshot(IReadOnlyList<VfsDirectoryEntry> Entries, bool IncludeDotEntries, VfsAttributes Self, VfsAttributes Parent);
