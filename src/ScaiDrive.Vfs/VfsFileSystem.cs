using Microsoft.Extensions.Logging;
using ScaiDrive.Client;

namespace ScaiDrive.Vfs;

/// <summary>
/// The platform-neutral filesystem: the one entry point of the adapters (FUSE, WinFsp) and of the in-process tests.
/// Inode-based, like the FUSE low-level API; path helpers serve WinFsp. Every method is thread-safe and may be
/// called concurrently; failures are <see cref="VfsException"/> (or <see cref="OperationCanceledException"/>).
/// </summary>
public sealed partial class VfsFileSystem : IAsyncDisposable
{
    /// <summary>Inode of the mount root.</summary>
    public const ulong RootInode = 1;

    /// <summary>
    /// Builds the core over a client: loads the cache directory, replays the write journal (pending uploads resume),
    /// and starts following the change feed when <see cref="VfsOptions.FollowChanges"/>.
    /// </summary>
    public static Task<VfsFileSystem> CreateAsync(ScaiDriveClient client, VfsOptions options, ILoggerFactory? loggerFactory = null, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    public VfsOptions Options => throw new NotImplementedException();

    /// <summary>Set by the adapter once the kernel side is live; the core sends invalidations through it.</summary>
    public IKernelCacheNotifier? KernelNotifier { get; set; }

    // ---- namespace -------------------------------------------------------------------------------

    /// <summary>Looks up a child. Each success is one kernel reference to the returned inode (see <see cref="Forget"/>).</summary>
    public ValueTask<VfsEntry> LookupAsync(ulong parentInode, string name, bool ignoreCase = false, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    /// <summary>Drops <paramref name="count"/> kernel references; an inode with none left and no open handle may be forgotten.</summary>
    public void Forget(ulong inode, ulong count) => throw new NotImplementedException();

    /// <summary>Resolves a '/'-separated path from the root (WinFsp; tests). Case-insensitive when asked.</summary>
    public ValueTask<VfsEntry> ResolvePathAsync(string path, bool ignoreCase = false, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    public ValueTask<VfsAttributes> GetAttributesAsync(ulong inode, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    /// <summary>Size (truncate), mode and times. Mode and times live in the mount's local overlay (docs/SEMANTICS.md).</summary>
    public ValueTask<VfsAttributes> SetAttributesAsync(ulong inode, VfsSetAttributes changes, ulong? handle = null, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    /// <summary>The whole listing, sorted by name; entries carry attributes and count as lookups only when the adapter says so.</summary>
    public ValueTask<IReadOnlyList<VfsDirectoryEntry>> ReadDirectoryAsync(ulong inode, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    /// <summary>Tells the core that an adapter handed <paramref name="inode"/> to the kernel from a listing (readdirplus): one more reference.</summary>
    public void AddLookupReference(ulong inode) => throw new NotImplementedException();

    public ValueTask<VfsEntry> CreateDirectoryAsync(ulong parentInode, string name, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    public ValueTask RemoveDirectoryAsync(ulong parentInode, string name, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    /// <summary>Deletes a file (to the server's trash). Open handles keep working on what is cached or staged.</summary>
    public ValueTask UnlinkAsync(ulong parentInode, string name, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    /// <summary>
    /// Renames or moves a file or directory, within or across folders and shares. Replacing an existing file keeps the
    /// target's file ID and gives it a new version with the source's content (atomic saves).
    /// </summary>
    public ValueTask RenameAsync(ulong parentInode, string name, ulong newParentInode, string newName, VfsRenameFlags flags = VfsRenameFlags.None, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    // ---- files -----------------------------------------------------------------------------------

    /// <summary>Opens a file; returns a handle. Write access stages the file locally; Truncate empties it.</summary>
    public ValueTask<ulong> OpenAsync(ulong inode, VfsOpenFlags flags, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    /// <summary>Creates a file (local first; it reaches the server after close and the write-back delay) and opens it.</summary>
    public ValueTask<(VfsEntry Entry, ulong Handle)> CreateFileAsync(ulong parentInode, string name, uint mode, VfsOpenFlags flags, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    /// <summary>Reads into <paramref name="destination"/>; returns bytes read (0 at end of file). Sees this mount's writes at once.</summary>
    public ValueTask<int> ReadAsync(ulong handle, long offset, Memory<byte> destination, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    /// <summary>Writes into the staged copy; returns bytes written. <paramref name="data"/> is only valid during the call's synchronous part: the core copies what it keeps.</summary>
    public ValueTask<int> WriteAsync(ulong handle, long offset, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    /// <summary>close() of one descriptor: the staged data is made durable in the local journal (fsync'd).</summary>
    public ValueTask FlushAsync(ulong handle, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    /// <summary>fsync(): waits until the file's content is on the server; throws the upload's error.</summary>
    public ValueTask FsyncAsync(ulong handle, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    /// <summary>The last close of a handle.</summary>
    public ValueTask ReleaseAsync(ulong handle, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    public ValueTask<VfsStatFs> StatFsAsync(ulong inode, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    // ---- extended attributes (read-only) ---------------------------------------------------------

    /// <summary>Names of the read-only attributes: user.scaidrive.id, user.scaidrive.version, user.scaidrive.checksum_sha256.</summary>
    public ValueTask<IReadOnlyList<string>> ListExtendedAttributesAsync(ulong inode, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    /// <summary>The value, or null when the node has no such attribute.</summary>
    public ValueTask<byte[]?> GetExtendedAttributeAsync(ulong inode, string name, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    // ---- lifecycle -------------------------------------------------------------------------------

    public VfsStatus GetStatus() => throw new NotImplementedException();

    /// <summary>Waits until every pending upload is on the server (or failed into the recovery folder). Used by unmount and SIGTERM.</summary>
    public Task DrainAsync(IProgress<VfsStatus>? progress = null, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    public ValueTask DisposeAsync() => throw new NotImplementedException();
}
