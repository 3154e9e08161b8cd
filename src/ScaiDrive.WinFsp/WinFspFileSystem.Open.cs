using ScaiDrive.Vfs;
using ScaiDrive.WinFsp.Interop;

namespace ScaiDrive.WinFsp;

internal sealed partial class WinFspFileSystem
{
    private const uint NewFileMode = 0b110_100_100;
    private const uint ReadOnlyFileMode = 0b100_100_100;

    /// <summary>
    /// Create: a new file or (with FILE_DIRECTORY_FILE) folder. The FSD calls it after Open reported the name missing,
    /// so a name that exists in any case is a collision (the server keeps names case-insensitively unique).
    /// <paramref name="normalizedName"/> receives the path in stored case for the FSD.
    /// </summary>
    public int Create(string fileName, uint createOptions, uint grantedAccess, uint fileAttributes, ulong allocationSize,
        out ulong fileContext, out FspFileInfo fileInfo, out string? normalizedName)
    {
        ulong context = 0;
        FspFileInfo info = default;
        string? normalized = null;
        int status = RunSync(async ct =>
        {
            (string parentPath, string name) = SplitParent(fileName);
            bool isDirectory = (createOptions & Win32.FileDirectoryFile) != 0;
            if (!isDirectory && _options.BlockThumbnailCaches && IsThumbnailCache(name))
            {
                return NtStatus.AccessDenied;
            }

            Resolved parent;
            try
            {
                parent = await ResolveAsync(parentPath, ct).ConfigureAwait(false);
            }
            catch (VfsException ex) when (ex.Code == VfsErrorCode.NotFound)
            {
                return NtStatus.ObjectPathNotFound;
            }

            try
            {
                if (parent.Entry.Attributes.Kind != VfsNodeKind.Directory)
                {
                    return NtStatus.ObjectPathNotFound;
                }

                IReadOnlyList<VfsDirectoryEntry> siblings = await _vfs.ReadDirectoryAsync(parent.Entry.Inode, ct).ConfigureAwait(false);
                if (FindStoredName(siblings, name) is not null)
                {
                    return NtStatus.ObjectNameCollision;
                }

                string path = Combine(parent.Path, name);
                OpenFile file;
                VfsAttributes attributes;
                if (isDirectory)
                {
                    VfsEntry created = await _vfs.CreateDirectoryAsync(parent.Entry.Inode, name, ct).ConfigureAwait(false);
                    attributes = created.Attributes;
                    file = AddOpenFile(created.Inode, isDirectory: true, path, grantedAccess, holdsReference: true);
                }
                else
                {
                    (VfsEntry created, ulong handle) = await _vfs.CreateFileAsync(
                        parent.Entry.Inode, name, NewFileMode, VfsOpenFlags.ReadWrite | VfsOpenFlags.Exclusive, ct).ConfigureAwait(false);
                    attributes = created.Attributes;
                    file = AddOpenFile(created.Inode, isDirectory: false, path, grantedAccess, holdsReference: true);
                    file.Handle = handle;
                    file.HandleWritable = true;
                    file.Modified = true;
                }

                context = file.Id;
                info = ToFileInfo(attributes);
                normalized = path;
                return NtStatus.Success;
            }
            finally
            {
                ReleaseLookup(parent);
            }
        });
        fileContext = context;
        fileInfo = info;
        normalizedName = normalized;
        return status;
    }

    /// <summary>
    /// Open an existing file or folder. No core handle is opened yet: many opens only read attributes, rename or
    /// delete, and an open for writing that is followed by Overwrite must not fetch content it is about to discard.
    /// FILE_DELETE_ON_CLOSE is checked here, since the FSD does not call CanDelete for it.
    /// </summary>
    public int Open(string fileName, uint createOptions, uint grantedAccess, out ulong fileContext, out FspFileInfo fileInfo, out string? normalizedName)
    {
        ulong context = 0;
        FspFileInfo info = default;
        string? normalized = null;
        int status = RunSync(async ct =>
        {
            Resolved resolved = await ResolveAsync(fileName, ct).ConfigureAwait(false);
            bool keep = false;
            try
            {
                VfsAttributes attributes = resolved.Entry.Attributes;
                bool isDirectory = attributes.Kind == VfsNodeKind.Directory;
                if (isDirectory && (createOptions & Win32.FileNonDirectoryFile) != 0)
                {
                    return NtStatus.FileIsADirectory;
                }

                if (!isDirectory && (createOptions & Win32.FileDirectoryFile) != 0)
                {
                    return NtStatus.NotADirectory;
                }

                if ((createOptions & Win32.FileDeleteOnClose) != 0)
                {
                    int canDelete = await CheckCanDeleteAsync(resolved.Entry.Inode, attributes, resolved.Path, ct).ConfigureAwait(false);
                    if (!NtStatus.IsSuccess(canDelete))
                    {
                        return canDelete;
                    }
                }

                OpenFile file = AddOpenFile(resolved.Entry.Inode, isDirectory, resolved.Path, grantedAccess, resolved.HoldsLookupReference);
                keep = true;
                context = file.Id;
                info = ToFileInfo(attributes);
                normalized = resolved.Path;
                return NtStatus.Success;
            }
            finally
            {
                if (!keep)
                {
                    ReleaseLookup(resolved);
                }
            }
        });
        fileContext = context;
        fileInfo = info;
        normalizedName = normalized;
        return status;
    }

    /// <summary>Overwrite (FILE_OVERWRITE / FILE_SUPERSEDE / CREATE_ALWAYS on an existing file): truncate to zero.</summary>
    public int Overwrite(ulong fileContext, uint fileAttributes, bool replaceFileAttributes, ulong allocationSize, out FspFileInfo fileInfo)
    {
        FspFileInfo info = default;
        int status = WithFile(fileContext, async (file, ct) =>
        {
            if (file.IsDirectory)
            {
                return NtStatus.FileIsADirectory;
            }

            await EnsureHandleAsync(file, write: true, truncate: true, ct).ConfigureAwait(false);
            file.Modified = true;
            VfsAttributes attributes = await _vfs.GetAttributesAsync(file.Inode, ct).ConfigureAwait(false);
            uint? mode = ModeForAttributes(attributes, fileAttributes, replaceFileAttributes);
            if (mode is not null)
            {
                attributes = await _vfs.SetAttributesAsync(file.Inode, new VfsSetAttributes { Mode = mode }, file.Handle, ct).ConfigureAwait(false);
            }

            info = ToFileInfo(attributes);
            return NtStatus.Success;
        });
        fileInfo = info;
        return status;
    }

    /// <summary>
    /// Cleanup: the last handle of this open instance was closed. Written data is made durable in the local journal
    /// (the upload follows after Close and the write-back delay). With FspCleanupDelete the node is deleted now: a
    /// file goes to the server's trash, a folder is removed. Windows has no way to report a failure here; it is logged.
    /// </summary>
    public void Cleanup(ulong fileContext, string? fileName, uint flags)
    {
        if (!_openFiles.TryGetValue(fileContext, out OpenFile? file))
        {
            return;
        }

        int status = RunSync(async ct =>
        {
            if (file.Modified)
            {
                await file.HandleGate.WaitAsync(ct).ConfigureAwait(false);
                try
                {
                    if (file.Handle is { } handle)
                    {
                        await _vfs.FlushAsync(handle, ct).ConfigureAwait(false);
                    }
                }
                finally
                {
                    file.HandleGate.Release();
                }
            }

            if ((flags & Win32.FspCleanupDelete) != 0)
            {
                await DeleteAsync(file, ct).ConfigureAwait(false);
            }

            return NtStatus.Success;
        });
        if (!NtStatus.IsSuccess(status))
        {
            Log.CleanupFailed(_logger, file.Path, status);
        }
    }

    private async ValueTask DeleteAsync(OpenFile file, CancellationToken cancellationToken)
    {
        (string parentPath, string name) = SplitParent(file.Path);
        Resolved parent = await ResolveAsync(parentPath, cancellationToken).ConfigureAwait(false);
        try
        {
            if (file.IsDirectory)
            {
                await _vfs.RemoveDirectoryAsync(parent.Entry.Inode, name, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await _vfs.UnlinkAsync(parent.Entry.Inode, name, cancellationToken).ConfigureAwait(false);
            }

            _knownPaths.TryRemove(file.Inode, out _);
        }
        finally
        {
            ReleaseLookup(parent);
        }
    }

    /// <summary>Close: the open instance is gone. Releases the core handle (which starts the write-back delay) and the lookup reference.</summary>
    public void Close(ulong fileContext)
    {
        if (!_openFiles.TryRemove(fileContext, out OpenFile? file))
        {
            return;
        }

        int status = RunSync(async ct =>
        {
            await file.HandleGate.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                if (file.Handle is { } handle)
                {
                    file.Handle = null;
                    await _vfs.ReleaseAsync(handle, ct).ConfigureAwait(false);
                }
            }
            finally
            {
                file.HandleGate.Release();
            }

            return NtStatus.Success;
        });
        if (file.HoldsLookupReference)
        {
            _vfs.Forget(file.Inode, 1);
        }

        if (!NtStatus.IsSuccess(status))
        {
            Log.CloseFailed(_logger, file.Path, status);
        }
    }

    /// <summary>
    /// Opens (or upgrades) the core handle of <paramref name="file"/>. A read handle is replaced by a read-write one
    /// when a write arrives; <paramref name="truncate"/> empties the file without fetching its content.
    /// </summary>
    private async ValueTask<ulong> EnsureHandleAsync(OpenFile file, bool write, bool truncate, CancellationToken cancellationToken)
    {
        if (write && (file.GrantedAccess & (Win32.FileWriteData | Win32.FileAppendData)) == 0)
        {
            throw new NtStatusException(NtStatus.AccessDenied, "The file was not opened for writing.");
        }

        await file.HandleGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (file.Handle is { } existing && (file.HandleWritable || !write))
            {
                if (truncate)
                {
                    await _vfs.SetAttributesAsync(file.Inode, new VfsSetAttributes { Size = 0 }, existing, cancellationToken).ConfigureAwait(false);
                }

                return existing;
            }

            VfsOpenFlags flags = write ? VfsOpenFlags.ReadWrite : VfsOpenFlags.Read;
            if (truncate)
            {
                flags |= VfsOpenFlags.Truncate;
            }

            ulong handle = await _vfs.OpenAsync(file.Inode, flags, cancellationToken).ConfigureAwait(false);
            if (file.Handle is { } readOnly)
            {
                await _vfs.ReleaseAsync(readOnly, cancellationToken).ConfigureAwait(false);
            }

            file.Handle = handle;
            file.HandleWritable = write;
            return handle;
        }
        finally
        {
            file.HandleGate.Release();
        }
    }

    /// <summary>Runs an operation on an open file; an unknown context is STATUS_INVALID_PARAMETER.</summary>
    private int WithFile(ulong fileContext, Func<OpenFile, CancellationToken, ValueTask<int>> operation) =>
        _openFiles.TryGetValue(fileContext, out OpenFile? file)
            ? RunSync(ct => operation(file, ct))
            : NtStatus.InvalidParameter;

    /// <summary>The mode that carries FILE_ATTRIBUTE_READONLY, or null when nothing changes.</summary>
    private static uint? ModeForAttributes(in VfsAttributes current, uint fileAttributes, bool replace)
    {
        if (fileAttributes == Win32.InvalidFileAttributes || current.Kind == VfsNodeKind.Directory)
        {
            return null;
        }

        bool wantReadOnly = (fileAttributes & Win32.FileAttributeReadOnly) != 0;
        bool isReadOnly = !IsWritableMode(current.Mode);
        if (!replace && !wantReadOnly)
        {
            return null; // merging (OR) with no READONLY bit leaves the file as it is
        }

        return wantReadOnly == isReadOnly ? null : wantReadOnly ? ReadOnlyFileMode : NewFileMode;
    }

    private static bool IsThumbnailCache(string name) =>
        name.Equals("Thumbs.db", StringComparison.OrdinalIgnoreCase) || name.Equals("ehthumbs.db", StringComparison.OrdinalIgnoreCase);
}
