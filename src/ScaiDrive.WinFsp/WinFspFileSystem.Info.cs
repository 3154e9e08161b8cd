using ScaiDrive.Vfs;
using ScaiDrive.WinFsp.Interop;

namespace ScaiDrive.WinFsp;

internal sealed partial class WinFspFileSystem
{
    public int GetFileInfo(ulong fileContext, out FspFileInfo fileInfo)
    {
        FspFileInfo info = default;
        int status = WithFile(fileContext, async (file, ct) =>
        {
            info = ToFileInfo(await _vfs.GetAttributesAsync(file.Inode, ct).ConfigureAwait(false));
            return NtStatus.Success;
        });
        fileInfo = info;
        return status;
    }

    /// <summary>
    /// SetBasicInfo: times go to the core's local overlay (the server keeps its own, §21.11 of the API notes);
    /// FILE_ATTRIBUTE_READONLY becomes the owner write bit. Zero times and INVALID_FILE_ATTRIBUTES mean "unchanged".
    /// </summary>
    public int SetBasicInfo(ulong fileContext, uint fileAttributes, ulong creationTime, ulong lastAccessTime, ulong lastWriteTime, ulong changeTime, out FspFileInfo fileInfo)
    {
        FspFileInfo info = default;
        int status = WithFile(fileContext, async (file, ct) =>
        {
            VfsAttributes current = await _vfs.GetAttributesAsync(file.Inode, ct).ConfigureAwait(false);
            VfsSetAttributes changes = new()
            {
                Mode = ModeForAttributes(current, fileAttributes, replace: true),
                ModifiedAt = lastWriteTime == 0 ? null : FromFileTime(lastWriteTime),
                AccessedAt = lastAccessTime == 0 ? null : FromFileTime(lastAccessTime),
            };
            if (changes.Mode is not null || changes.ModifiedAt is not null || changes.AccessedAt is not null)
            {
                current = await _vfs.SetAttributesAsync(file.Inode, changes, file.Handle, ct).ConfigureAwait(false);
            }

            info = ToFileInfo(current);
            return NtStatus.Success;
        });
        fileInfo = info;
        return status;
    }

    /// <summary>
    /// SetFileSize: the end of file (truncate or extend). An allocation size only matters when it is below the file
    /// size, which truncates (the rule of winfsp.h); we keep no preallocation otherwise.
    /// </summary>
    public int SetFileSize(ulong fileContext, ulong newSize, bool setAllocationSize, out FspFileInfo fileInfo)
    {
        FspFileInfo info = default;
        int status = WithFile(fileContext, async (file, ct) =>
        {
            if (file.IsDirectory)
            {
                return NtStatus.FileIsADirectory;
            }

            VfsAttributes current = await _vfs.GetAttributesAsync(file.Inode, ct).ConfigureAwait(false);
            bool change = setAllocationSize ? newSize < (ulong)current.Size : newSize != (ulong)current.Size;
            if (change)
            {
                ulong handle = await EnsureHandleAsync(file, write: true, truncate: false, ct).ConfigureAwait(false);
                current = await _vfs.SetAttributesAsync(file.Inode, new VfsSetAttributes { Size = (long)newSize }, handle, ct).ConfigureAwait(false);
                file.Modified = true;
            }

            info = ToFileInfo(current);
            return NtStatus.Success;
        });
        fileInfo = info;
        return status;
    }

    /// <summary>CanDelete (DeleteFile, RemoveDirectory): folders must be empty, read-only files and the root cannot go.</summary>
    public int CanDelete(ulong fileContext, string fileName) =>
        WithFile(fileContext, async (file, ct) =>
        {
            VfsAttributes attributes = await _vfs.GetAttributesAsync(file.Inode, ct).ConfigureAwait(false);
            return await CheckCanDeleteAsync(file.Inode, attributes, file.Path, ct).ConfigureAwait(false);
        });

    /// <summary>SetDelete: like CanDelete, and remembers the disposition; the deletion happens in Cleanup.</summary>
    public int SetDelete(ulong fileContext, string fileName, bool deleteFile) =>
        WithFile(fileContext, async (file, ct) =>
        {
            if (deleteFile)
            {
                VfsAttributes attributes = await _vfs.GetAttributesAsync(file.Inode, ct).ConfigureAwait(false);
                int status = await CheckCanDeleteAsync(file.Inode, attributes, file.Path, ct).ConfigureAwait(false);
                if (!NtStatus.IsSuccess(status))
                {
                    return status;
                }
            }

            file.DeletePending = deleteFile;
            return NtStatus.Success;
        });

    private async ValueTask<int> CheckCanDeleteAsync(ulong inode, VfsAttributes attributes, string path, CancellationToken cancellationToken)
    {
        if (inode == VfsFileSystem.RootInode || path == "\\")
        {
            return NtStatus.AccessDenied;
        }

        if (_readOnlyMount)
        {
            return NtStatus.MediaWriteProtected;
        }

        if (attributes.Kind == VfsNodeKind.Directory)
        {
            IReadOnlyList<VfsDirectoryEntry> children = await _vfs.ReadDirectoryAsync(inode, cancellationToken).ConfigureAwait(false);
            return children.Count == 0 ? NtStatus.Success : NtStatus.DirectoryNotEmpty;
        }

        return IsWritableMode(attributes.Mode) ? NtStatus.Success : NtStatus.CannotDelete;
    }

    /// <summary>
    /// Rename (MoveFileEx). Without <paramref name="replaceIfExists"/> an existing target in any case is a collision.
    /// With it, an existing file is replaced under its stored name, keeping its server file ID and giving it a new
    /// version (the atomic-save pattern of Office and Photoshop); a folder is never replaced. Renaming to the same
    /// name in another case only changes the case.
    /// </summary>
    public int Rename(ulong fileContext, string fileName, string newFileName, bool replaceIfExists) =>
        WithFile(fileContext, async (file, ct) =>
        {
            (string sourceParentPath, string sourceName) = SplitParent(file.Path);
            (string targetParentPath, string requestedName) = SplitParent(newFileName);
            SplitPath(newFileName);

            Resolved sourceParent = await ResolveAsync(sourceParentPath, ct).ConfigureAwait(false);
            try
            {
                Resolved targetParent;
                try
                {
                    targetParent = await ResolveAsync(targetParentPath, ct).ConfigureAwait(false);
                }
                catch (VfsException ex) when (ex.Code == VfsErrorCode.NotFound)
                {
                    return NtStatus.ObjectPathNotFound;
                }

                try
                {
                    if (targetParent.Entry.Attributes.Kind != VfsNodeKind.Directory)
                    {
                        return NtStatus.ObjectPathNotFound;
                    }

                    IReadOnlyList<VfsDirectoryEntry> targets = await _vfs.ReadDirectoryAsync(targetParent.Entry.Inode, ct).ConfigureAwait(false);
                    string? existingName = FindStoredName(targets, requestedName);
                    VfsDirectoryEntry? existing = existingName is null ? null : targets.First(e => e.Name == existingName);
                    string finalName = requestedName;
                    VfsRenameFlags flags = VfsRenameFlags.NoReplace;
                    if (existing is { } same && same.Attributes.Inode == file.Inode)
                    {
                        // Only the case changes: the target "exists" as the source itself.
                        flags = VfsRenameFlags.None;
                    }
                    else if (existing is { } target)
                    {
                        if (!replaceIfExists)
                        {
                            return NtStatus.ObjectNameCollision;
                        }

                        if (target.Attributes.Kind == VfsNodeKind.Directory)
                        {
                            return NtStatus.AccessDenied;
                        }

                        finalName = target.Name;
                        flags = VfsRenameFlags.None;
                    }

                    if (sourceParent.Entry.Inode == targetParent.Entry.Inode && string.Equals(sourceName, finalName, StringComparison.Ordinal))
                    {
                        return NtStatus.Success;
                    }

                    await _vfs.RenameAsync(sourceParent.Entry.Inode, sourceName, targetParent.Entry.Inode, finalName, flags, ct).ConfigureAwait(false);
                    MovePaths(file.Path, Combine(targetParent.Path, finalName));
                    return NtStatus.Success;
                }
                finally
                {
                    ReleaseLookup(targetParent);
                }
            }
            finally
            {
                ReleaseLookup(sourceParent);
            }
        });

    /// <summary>After a rename, open instances and known paths at or below the old path follow it.</summary>
    private void MovePaths(string oldPath, string newPath)
    {
        foreach (OpenFile open in _openFiles.Values)
        {
            if (RebasePath(open.Path, oldPath, newPath) is { } moved)
            {
                open.Path = moved;
            }
        }

        foreach (KeyValuePair<ulong, string> known in _knownPaths)
        {
            if (RebasePath(known.Value, oldPath, newPath) is { } moved)
            {
                _knownPaths[known.Key] = moved;
            }
        }
    }

    private static string? RebasePath(string path, string oldPath, string newPath)
    {
        if (string.Equals(path, oldPath, StringComparison.OrdinalIgnoreCase))
        {
            return newPath;
        }

        return path.Length > oldPath.Length && path[oldPath.Length] == '\\' && path.StartsWith(oldPath, StringComparison.OrdinalIgnoreCase)
            ? newPath + path[oldPath.Length..]
            : null;
    }
}
