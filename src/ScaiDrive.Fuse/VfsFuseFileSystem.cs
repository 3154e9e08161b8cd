using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using ScaiDrive.Fuse.Session;
using ScaiDrive.Vfs;
using ScaiDrive.Vfs.Reading;

namespace ScaiDrive.Fuse;

/// <summary>
/// The translation from FUSE requests to <see cref="VfsFileSystem"/>: names through <see cref="FuseNames"/>, modes and
/// link counts for stat, open flags, rename flags, the read-only extended attributes, and keep_cache. Errors stay
/// <see cref="VfsException"/>s; the session maps them once through <see cref="ErrnoMap"/>.
/// </summary>
internal sealed class VfsFuseFileSystem : IFuseFileSystem
{
    private const uint PermissionMask = 0xFFF;
    private const string AttributePrefix = "user.scaidrive.";

    private readonly VfsFileSystem _fs;
    private readonly ILogger _logger;
    private readonly uint _uid;
    private readonly uint _gid;
    private readonly FuseCacheTimeouts _shortTimeouts;
    private readonly FuseCacheTimeouts _followedTimeouts;

    // What each inode looked like at its last open: an open that finds the same size and mtime keeps the kernel's
    // page cache (keep_cache); any difference, or an invalidation from the core, drops it. Entries go at forget.
    private readonly ConcurrentDictionary<ulong, (long Size, DateTimeOffset ModifiedAt)> _lastOpened = new();

    /// <summary>See <see cref="FuseMountOptions.DirectIoReads"/>.</summary>
    public bool DirectIoReads { get; init; }

    public VfsFuseFileSystem(VfsFileSystem fs, ILogger logger, uint uid, uint gid)
    {
        _fs = fs;
        _logger = logger;
        _uid = uid;
        _gid = gid;
        VfsOptions options = fs.Options;
        _shortTimeouts = new FuseCacheTimeouts(options.EntryTimeout, options.AttributeTimeout, options.NegativeEntryTimeout);
        _followedTimeouts = new FuseCacheTimeouts(options.FollowedMetadataTimeout, options.FollowedMetadataTimeout, options.NegativeEntryTimeout);
    }

    /// <summary>
    /// Read at every reply: long while remote changes are pushed (each is invalidated in the kernel as it arrives, so
    /// a warm `ls -l` never reaches the daemon), short while they are only polled. Same choice as the core's TTLs.
    /// </summary>
    public FuseCacheTimeouts Timeouts => _fs.RemoteChangesPushed ? _followedTimeouts : _shortTimeouts;

    internal static FuseAttributes ToFuse(in VfsAttributes a)
    {
        bool directory = a.Kind == VfsNodeKind.Directory;
        uint mode = (directory ? FileTypeBits.Directory : FileTypeBits.Regular) | (a.Mode & PermissionMask);
        uint links = directory ? 2u + (uint)Math.Max(0, a.SubdirectoryCount) : 1u;
        return new FuseAttributes(a.Inode, mode, links, a.Size, a.AccessedAt, a.ModifiedAt, a.ChangedAt);
    }

    internal static VfsOpenFlags ToVfs(int flags)
    {
        VfsOpenFlags result = (flags & OpenFlags.AccessModeMask) switch
        {
            OpenFlags.WriteOnly => VfsOpenFlags.Write,
            OpenFlags.ReadWrite => VfsOpenFlags.ReadWrite,
            _ => VfsOpenFlags.Read,
        };
        if ((flags & OpenFlags.Truncate) != 0)
        {
            result |= VfsOpenFlags.Truncate;
        }

        if ((flags & OpenFlags.Append) != 0)
        {
            result |= VfsOpenFlags.Append;
        }

        if ((flags & OpenFlags.Exclusive) != 0)
        {
            result |= VfsOpenFlags.Exclusive;
        }

        return result;
    }

    internal static VfsRenameFlags ToVfsRename(uint flags)
    {
        // RENAME_EXCHANGE and RENAME_WHITEOUT cannot be done atomically on the server: EINVAL is rename(2)'s answer
        // for "flags not supported by this filesystem" (tmpfs before exchange support answered the same).
        if ((flags & ~RenameFlags.NoReplace) != 0)
        {
            throw new FuseErrnoException(Errno.EINVAL, "only RENAME_NOREPLACE is supported");
        }

        return (flags & RenameFlags.NoReplace) != 0 ? VfsRenameFlags.NoReplace : VfsRenameFlags.None;
    }

    public async ValueTask<FuseAttributes> LookupAsync(ulong parent, byte[] name, CancellationToken cancellationToken)
    {
        VfsEntry entry = await _fs.LookupAsync(parent, FuseNames.Existing(name), ignoreCase: false, cancellationToken).ConfigureAwait(false);
        return ToFuse(entry.Attributes);
    }

    public void Forget(ulong inode, ulong count)
    {
        _lastOpened.TryRemove(inode, out _);
        _fs.Forget(inode, count);
    }

    public async ValueTask<FuseAttributes> GetAttributesAsync(ulong inode, ulong? handle, CancellationToken cancellationToken) =>
        ToFuse(await _fs.GetAttributesAsync(inode, cancellationToken).ConfigureAwait(false));

    public async ValueTask<FuseAttributes> SetAttributesAsync(ulong inode, FuseSetAttributes changes, ulong? handle, CancellationToken cancellationToken)
    {
        // Every file shows the mounting user as owner; there is no other owner to give it.
        if ((changes.Uid is { } uid && uid != _uid) || (changes.Gid is { } gid && gid != _gid))
        {
            throw new FuseErrnoException(Errno.EPERM, "ownership cannot change");
        }

        if (changes.Size is null && changes.Mode is null && changes.ModifiedAt is null && changes.AccessedAt is null)
        {
            return await GetAttributesAsync(inode, handle, cancellationToken).ConfigureAwait(false);
        }

        var vfsChanges = new VfsSetAttributes
        {
            Size = changes.Size,
            Mode = changes.Mode is { } mode ? mode & PermissionMask : null,
            ModifiedAt = changes.ModifiedAt,
            AccessedAt = changes.AccessedAt,
        };
        return ToFuse(await _fs.SetAttributesAsync(inode, vfsChanges, handle, cancellationToken).ConfigureAwait(false));
    }

    public async ValueTask<IReadOnlyList<FuseDirectoryEntry>> ReadDirectoryAsync(ulong inode, CancellationToken cancellationToken)
    {
        IReadOnlyList<VfsDirectoryEntry> entries = await _fs.ReadDirectoryAsync(inode, cancellationToken).ConfigureAwait(false);
        var result = new FuseDirectoryEntry[entries.Count];
        for (int i = 0; i < entries.Count; i++)
        {
            result[i] = new FuseDirectoryEntry(FuseNames.Encode(entries[i].Name), ToFuse(entries[i].Attributes));
        }

        return result;
    }

    public void AddLookupReference(ulong inode) => _fs.AddLookupReference(inode);

    public async ValueTask<FuseAttributes> MakeDirectoryAsync(ulong parent, byte[] name, uint mode, CancellationToken cancellationToken)
    {
        // The core gives directories its own mode (docs/SEMANTICS.md); mkdir's mode is not kept.
        VfsEntry entry = await _fs.CreateDirectoryAsync(parent, FuseNames.New(name), cancellationToken).ConfigureAwait(false);
        return ToFuse(entry.Attributes);
    }

    public ValueTask RemoveDirectoryAsync(ulong parent, byte[] name, CancellationToken cancellationToken) =>
        _fs.RemoveDirectoryAsync(parent, FuseNames.Existing(name), cancellationToken);

    public ValueTask UnlinkAsync(ulong parent, byte[] name, CancellationToken cancellationToken) =>
        _fs.UnlinkAsync(parent, FuseNames.Existing(name), cancellationToken);

    public ValueTask RenameAsync(ulong parent, byte[] name, ulong newParent, byte[] newName, uint flags, CancellationToken cancellationToken) =>
        _fs.RenameAsync(parent, FuseNames.Existing(name), newParent, FuseNames.New(newName), ToVfsRename(flags), cancellationToken);

    public async ValueTask<FuseOpenResult> OpenAsync(ulong inode, int flags, CancellationToken cancellationToken)
    {
        VfsOpenFlags vfsFlags = ToVfs(flags);
        ulong handle = await _fs.OpenAsync(inode, vfsFlags, cancellationToken).ConfigureAwait(false);
        bool keepCache = false;
        try
        {
            VfsAttributes now = await _fs.GetAttributesAsync(inode, cancellationToken).ConfigureAwait(false);
            var key = (now.Size, now.ModifiedAt);
            keepCache = (vfsFlags & VfsOpenFlags.Truncate) == 0
                && _lastOpened.TryGetValue(inode, out var previous) && previous == key;
            _lastOpened[inode] = key;
        }
        catch (VfsException)
        {
            // Without fresh attributes the cache cannot be trusted; the open itself stands.
            _lastOpened.TryRemove(inode, out _);
        }

        if (DirectIoReads && (flags & OpenFlags.AccessModeMask) == OpenFlags.ReadOnly)
        {
            return new FuseOpenResult(handle, DirectIo: true);
        }

        return new FuseOpenResult(handle, KeepCache: keepCache);
    }

    public async ValueTask<(FuseAttributes Attributes, FuseOpenResult Open)> CreateAsync(ulong parent, byte[] name, uint mode, int flags, CancellationToken cancellationToken)
    {
        (VfsEntry entry, ulong handle) = await _fs.CreateFileAsync(parent, FuseNames.New(name), mode & PermissionMask, ToVfs(flags), cancellationToken).ConfigureAwait(false);
        _lastOpened.TryRemove(entry.Inode, out _);
        return (ToFuse(entry.Attributes), new FuseOpenResult(handle));
    }

    public ValueTask<int> ReadAsync(ulong inode, ulong handle, long offset, Memory<byte> destination, CancellationToken cancellationToken) =>
        _fs.ReadAsync(handle, offset, destination, cancellationToken);

    public ValueTask<bool> TryReadInPlaceAsync<TArg>(ulong inode, ulong handle, long offset, int size, System.Buffers.ReadOnlySpanAction<byte, TArg> reply, TArg replyArgument, CancellationToken cancellationToken) =>
        _fs.TryReadInPlaceAsync(handle, offset, size, reply, replyArgument, cancellationToken);

    public bool TryReadStreamed<TArg>(ulong inode, ulong handle, long offset, int size, FuseStreamedReply<TArg> reply, TArg replyArgument) =>
        _fs.TryReadStreamed(handle, offset, size, StreamedBridge<TArg>.Reply, (reply, replyArgument));

    /// <summary>The core's streamed reply in the session's terms: the session takes the bytes from the descriptor.</summary>
    private static class StreamedBridge<TArg>
    {
        public static readonly StreamedReply<(FuseStreamedReply<TArg> Reply, TArg Argument)> Reply = static (source, count, state) =>
        {
            if (!state.Reply(source.Handle, count, state.Argument))
            {
                return false;
            }

            source.Consumed(count);
            return true;
        };
    }

    public ValueTask<int> WriteAsync(ulong inode, ulong handle, long offset, ReadOnlyMemory<byte> data, CancellationToken cancellationToken) =>
        _fs.WriteAsync(handle, offset, data, cancellationToken);

    public ValueTask FlushAsync(ulong inode, ulong handle, CancellationToken cancellationToken) => _fs.FlushAsync(handle, cancellationToken);

    public ValueTask FsyncAsync(ulong inode, ulong handle, bool dataOnly, CancellationToken cancellationToken) => _fs.FsyncAsync(handle, cancellationToken);

    public ValueTask ReleaseAsync(ulong inode, ulong handle, CancellationToken cancellationToken) =>
        // A release must reach the core even while the session shuts down, or the handle leaks.
        _fs.ReleaseAsync(handle, CancellationToken.None);

    public async ValueTask<FuseStatFs> StatFsAsync(ulong inode, CancellationToken cancellationToken)
    {
        VfsStatFs s = await _fs.StatFsAsync(inode, cancellationToken).ConfigureAwait(false);
        ulong blockSize = s.BlockSize > 0 ? (ulong)s.BlockSize : 4096;
        ulong total = (ulong)Math.Max(0, s.TotalBytes) / blockSize;
        ulong free = Math.Min(total, (ulong)Math.Max(0, s.FreeBytes) / blockSize);
        return new FuseStatFs(blockSize, total, free, free, (ulong)Math.Max(0, s.TotalFiles), (ulong)Math.Max(0, s.FreeFiles),
            (ulong)(s.MaxNameLength > 0 ? s.MaxNameLength : FuseNames.MaxNameBytes));
    }

    public async ValueTask<byte[]?> GetExtendedAttributeAsync(ulong inode, byte[] name, CancellationToken cancellationToken)
    {
        string text;
        try
        {
            text = FuseNames.Existing(name);
        }
        catch (FuseErrnoException)
        {
            return null;
        }

        // The kernel asks for security.capability on writes and ls asks for ACLs: answer those without the core.
        if (!text.StartsWith(AttributePrefix, StringComparison.Ordinal))
        {
            return null;
        }

        return await _fs.GetExtendedAttributeAsync(inode, text, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<IReadOnlyList<byte[]>> ListExtendedAttributesAsync(ulong inode, CancellationToken cancellationToken)
    {
        IReadOnlyList<string> names = await _fs.ListExtendedAttributesAsync(inode, cancellationToken).ConfigureAwait(false);
        return names.Select(FuseNames.Encode).ToArray();
    }

    /// <summary>The attributes are computed from server metadata and nothing else is stored: ENOTSUP.</summary>
    public ValueTask SetExtendedAttributeAsync(ulong inode, byte[] name, byte[] value, int flags, CancellationToken cancellationToken) =>
        throw new FuseErrnoException(Errno.EOPNOTSUPP, "extended attributes are read-only");

    public ValueTask RemoveExtendedAttributeAsync(ulong inode, byte[] name, CancellationToken cancellationToken) =>
        throw new FuseErrnoException(Errno.EOPNOTSUPP, "extended attributes are read-only");

    /// <summary>
    /// Permission bits are checked by the kernel (default_permissions); this only answers existence and the
    /// read-only mount. The kernel sends access only without default_permissions, so this is a fallback.
    /// </summary>
    public async ValueTask AccessAsync(ulong inode, int mask, CancellationToken cancellationToken)
    {
        await _fs.GetAttributesAsync(inode, cancellationToken).ConfigureAwait(false);
        if ((mask & AccessMode.Write) != 0 && _fs.Options.ReadOnly)
        {
            throw new FuseErrnoException(Errno.EROFS, "read-only mount");
        }
    }

    /// <summary>The core dropped this inode's content: the next open must not keep the kernel's pages.</summary>
    public void OnContentInvalidated(ulong inode) => _lastOpened.TryRemove(inode, out _);
}
