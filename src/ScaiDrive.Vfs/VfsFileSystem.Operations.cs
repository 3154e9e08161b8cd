using Microsoft.Extensions.Caching.Memory;
using ScaiDrive.Client;
using ScaiDrive.Vfs.Errors;
using ScaiDrive.Vfs.Namespace;
using ScaiDrive.Vfs.Writing;

namespace ScaiDrive.Vfs;

// mkdir, rmdir, unlink and rename. Directories exist on the server at once (mkdir is synchronous); files may exist
// only locally until their upload, so every operation here handles both kinds: a server call for what the server
// has, an upload-queue call (retarget, cancel) for what it does not have yet.
public sealed partial class VfsFileSystem
{
    public async ValueTask<VfsEntry> CreateDirectoryAsync(ulong parentInode, string name, CancellationToken cancellationToken = default)
    {
        try
        {
            Node parent = GetDirectory(parentInode);
            string normalized = Names.Validate(name);
            await EnsureWritableAsync(parent, cancellationToken).ConfigureAwait(false);
            await EnsureListingAsync(parent, cancellationToken).ConfigureAwait(false);
            lock (_gate)
            {
                if (FindChildUnsynchronized(parent, normalized, ignoreCase: true) is not null)
                {
                    throw new VfsException(VfsErrorCode.AlreadyExists, $"'{name}' exists");
                }
            }

            using OwnChange own = ExpectOwnPlace(null, parent, normalized);
            FolderItem folder = await _client.CreateFolderAsync(parent.ShareId, parent.FolderId, normalized, cancellationToken).ConfigureAwait(false);
            MarkConnected();
            lock (_gate)
            {
                Node node = NodeForFolderUnsynchronized(folder);
                PlaceUnsynchronized(node, parent, folder.Name, notify: false);
                // A new folder is empty: its listing is known without asking.
                _cache.Set(ListingKey(node.Inode), true, _options.AttributeTimeout);
                node.LookupCount++;
                return new VfsEntry(AttributesOf(node));
            }
        }
        catch (Exception ex) when (ApiErrorMapper.IsTranslatable(ex))
        {
            throw Fail(ex, "mkdir");
        }
    }

    public async ValueTask RemoveDirectoryAsync(ulong parentInode, string name, CancellationToken cancellationToken = default)
    {
        try
        {
            Node parent = GetDirectory(parentInode);
            string normalized = ValidateLookupName(name);
            await EnsureWritableAsync(parent, cancellationToken).ConfigureAwait(false);
            Node child = await FindChildAsync(parent, normalized, ignoreCase: false, cancellationToken).ConfigureAwait(false) ?? throw NotFound(name);
            if (!child.IsDirectory)
            {
                throw new VfsException(VfsErrorCode.NotADirectory, $"'{name}' is not a directory");
            }

            await DeleteEmptyFolderAsync(child, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ApiErrorMapper.IsTranslatable(ex))
        {
            throw Fail(ex, "rmdir");
        }
    }

    /// <summary>
    /// The server's folder delete is recursive, so emptiness is checked against a fresh listing (not the cache) plus
    /// the files that exist only here; only then is the folder sent to the trash.
    /// </summary>
    private async Task DeleteEmptyFolderAsync(Node folder, CancellationToken cancellationToken)
    {
        if (folder.Type != NodeType.Folder || folder.FolderId is not { } folderId)
        {
            throw new VfsException(VfsErrorCode.Busy, "a share's root cannot be removed through the mount");
        }

        long mark;
        lock (_gate)
        {
            mark = _namespaceEpoch;
        }

        FolderListing listing = await _client.ListChildrenAsync(folder.ShareId, folderId, includeDeleted: false, cancellationToken).ConfigureAwait(false);
        lock (_gate)
        {
            bool localChildren = folder.Children!.Values.Any(c => IsLocalOnly(c) || c.PendingRequest is not null);
            if (listing.Folders.Count > 0 || listing.Files.Count > 0 || localChildren)
            {
                ApplyListingUnsynchronized(folder, listing, new EpochWindow(mark, _namespaceEpoch));
                throw new VfsException(VfsErrorCode.NotEmpty, $"'{folder.Name}' is not empty");
            }
        }

        using OwnChange own = ExpectOwnDelete(folder);
        await TrashFolderAsync(folderId, cancellationToken).ConfigureAwait(false);
        MarkConnected();
        lock (_gate)
        {
            DetachUnsynchronized(folder);
            _cache.Remove(ListingKey(folder.Inode));
        }
    }

    /// <summary>Deletes a file (to the server's trash). Open handles keep working on what is cached or staged.</summary>
    public async ValueTask UnlinkAsync(ulong parentInode, string name, CancellationToken cancellationToken = default)
    {
        try
        {
            Node parent = GetDirectory(parentInode);
            string normalized = ValidateLookupName(name);
            await EnsureWritableAsync(parent, cancellationToken).ConfigureAwait(false);
            Node child = await FindChildAsync(parent, normalized, ignoreCase: false, cancellationToken).ConfigureAwait(false) ?? throw NotFound(name);
            if (child.IsDirectory)
            {
                throw new VfsException(VfsErrorCode.IsADirectory, $"'{name}' is a directory");
            }

            await child.ContentGate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await RemoveFileUnsynchronizedAsync(child, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                child.ContentGate.Release();
            }
        }
        catch (Exception ex) when (ApiErrorMapper.IsTranslatable(ex))
        {
            throw Fail(ex, "unlink");
        }
    }

    /// <summary>Trashes the server copy, cancels a pending upload, detaches. The caller holds the node's content gate.</summary>
    private async Task RemoveFileUnsynchronizedAsync(Node node, CancellationToken cancellationToken)
    {
        await KeepContentForOpenHandlesUnsynchronizedAsync(node, cancellationToken).ConfigureAwait(false);
        UploadRequest? pending;
        lock (_gate)
        {
            pending = node.PendingRequest;
        }

        // The upload goes first: deleting the file while a new version of it is being committed makes that upload
        // fail against a deleted file, and the queue would keep its content as a conflict copy nobody asked for.
        // CancelAsync waits for a cancelled run, so no upload of this node is in flight afterwards.
        StagedFileKey? key = pending?.Key ?? node.Staged?.Key;
        FileId? justLanded = null;
        if (key is { } k)
        {
            justLanded = LandedNotReportedYet(node, k);
            await _uploads.CancelAsync(k, cancellationToken).ConfigureAwait(false);
        }

        FileId? fileId;
        lock (_gate)
        {
            fileId = node.FileId ?? node.Landed?.Id ?? justLanded;
        }

        using OwnChange? own = fileId is null ? null : ExpectOwnDelete(node);
        if (fileId is { } id)
        {
            try
            {
                await TrashFileAsync(id, cancellationToken).ConfigureAwait(false);
            }
            catch (ScaiDriveApiException ex) when (ex.Kind is ScaiDriveErrorKind.NotFound or ScaiDriveErrorKind.Gone)
            {
                // Already gone elsewhere: the outcome is the same.
            }
        }

        lock (_gate)
        {
            if (node.FileId is null && key is { } unlinkedKey)
            {
                if (_unlinkedKeys.Count >= 4096)
                {
                    _unlinkedKeys.Clear();
                }

                _unlinkedKeys.Add(unlinkedKey);
            }

            node.Unlinked = true;
            node.PendingRequest = null;
            node.Dirty = false;
            node.NeverEnqueued = false;
            node.Held = false;
            DetachUnsynchronized(node);
        }

        DropStagedIfIdle(node);
    }

    /// <summary>
    /// A file that loses its name while it is open must stay readable and writable through its handles (POSIX: an
    /// unlinked or replaced file lives until its last close). A clean file is read from the server by (file ID,
    /// version), which goes to the trash or gets a new version next: stage it now, while that version is still the
    /// current one, so its handles work on the local copy. The caller holds the node's content gate.
    /// </summary>
    private async Task KeepContentForOpenHandlesUnsynchronizedAsync(Node node, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (node.OpenHandles == 0 || node.Staged is not null)
            {
                return;
            }
        }

        await EnsureStagedUnsynchronizedAsync(node, fill: true, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The file a local-only node's upload created, when the queue has finished it but not yet reported it (its entry is
    /// gone, the event not raised): CancelAsync then finds nothing, and the file would stay on the server under the
    /// name being freed. An upload still queued or running is left to CancelAsync.
    /// </summary>
    private FileId? LandedNotReportedYet(Node node, StagedFileKey key)
    {
        lock (_gate)
        {
            if (node.FileId is not null || node.Landed is not null)
            {
                return null;
            }
        }

        Task<FileItem?> wait = _uploads.WaitForUploadAsync(key, CancellationToken.None);
        if (wait.IsCompletedSuccessfully)
        {
            return wait.Result?.Id;
        }

        // Still pending: the cancel that follows settles it; observe whatever it ends with.
        _ = wait.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return null;
    }

    /// <summary>
    /// Renames or moves a file or directory, within or across folders and shares. Replacing an existing file keeps the
    /// target's file ID and gives it a new version with the source's content (atomic saves).
    /// </summary>
    public async ValueTask RenameAsync(ulong parentInode, string name, ulong newParentInode, string newName, VfsRenameFlags flags = VfsRenameFlags.None, CancellationToken cancellationToken = default)
    {
        try
        {
            if ((flags & VfsRenameFlags.Exchange) != 0)
            {
                throw new VfsException(VfsErrorCode.NotSupported, "RENAME_EXCHANGE is not supported");
            }

            Node parent = GetDirectory(parentInode);
            Node newParent = GetDirectory(newParentInode);
            string from = ValidateLookupName(name);
            string to = Names.Validate(newName);
            if (parent.Type == NodeType.VirtualRoot || newParent.Type == NodeType.VirtualRoot)
            {
                throw new VfsException(VfsErrorCode.NotSupported, "shares cannot be renamed, and the root holds only shares");
            }

            await EnsureWritableAsync(parent, cancellationToken).ConfigureAwait(false);
            if (newParent.ShareId != parent.ShareId)
            {
                await EnsureWritableAsync(newParent, cancellationToken).ConfigureAwait(false);
            }

            Node source = await FindChildAsync(parent, from, ignoreCase: false, cancellationToken).ConfigureAwait(false) ?? throw NotFound(name);
            await EnsureListingAsync(newParent, cancellationToken).ConfigureAwait(false);
            Node? target;
            lock (_gate)
            {
                target = FindChildUnsynchronized(newParent, to, ignoreCase: false);
                if (target == source)
                {
                    return; // rename(a, a): nothing to do.
                }

                if (CaseClashUnsynchronized(newParent, to, source, target) is { } clash)
                {
                    throw new VfsException(VfsErrorCode.AlreadyExists, $"'{clash.Name}' differs from '{newName}' only in case; the server cannot hold both");
                }

                if (source.IsDirectory && IsSelfOrAncestorUnsynchronized(source, newParent))
                {
                    throw new VfsException(VfsErrorCode.InvalidArgument, "a directory cannot be moved into itself");
                }
            }

            if (target is not null)
            {
                if ((flags & VfsRenameFlags.NoReplace) != 0)
                {
                    throw new VfsException(VfsErrorCode.AlreadyExists, $"'{newName}' exists");
                }

                if (source.IsDirectory && !target.IsDirectory)
                {
                    throw new VfsException(VfsErrorCode.NotADirectory, $"'{newName}' is not a directory");
                }

                if (!source.IsDirectory && target.IsDirectory)
                {
                    throw new VfsException(VfsErrorCode.IsADirectory, $"'{newName}' is a directory");
                }
            }

            if (source.IsDirectory)
            {
                if (target is not null)
                {
                    await DeleteEmptyFolderAsync(target, cancellationToken).ConfigureAwait(false);
                }

                await MoveFolderAsync(source, newParent, to, cancellationToken).ConfigureAwait(false);
            }
            else if (target is not null)
            {
                await ReplaceFileAsync(source, target, newParent, to, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await source.ContentGate.WaitAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    await MoveFileUnsynchronizedAsync(source, newParent, to, cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    source.ContentGate.Release();
                }
            }
        }
        catch (Exception ex) when (ApiErrorMapper.IsTranslatable(ex))
        {
            throw Fail(ex, "rename");
        }
    }

    private static bool IsSelfOrAncestorUnsynchronized(Node candidate, Node node)
    {
        for (Node? n = node; n is not null; n = n.Parent)
        {
            if (n == candidate)
            {
                return true;
            }
        }

        return false;
    }

    private async Task MoveFolderAsync(Node folder, Node newParent, string newName, CancellationToken cancellationToken)
    {
        if (folder.Type != NodeType.Folder || folder.FolderId is not { } folderId)
        {
            throw new VfsException(VfsErrorCode.NotSupported, "a share's root cannot be moved");
        }

        Node? oldParent;
        string oldName;
        lock (_gate)
        {
            (oldParent, oldName) = (folder.Parent, folder.Name);
        }

        using OwnChange own = ExpectOwnPlace(folder, newParent, newName);
        own.AlsoAt(newParent, oldName); // moved, not yet renamed

        if (oldParent == newParent)
        {
            await _client.RenameFolderAsync(folderId, newName, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            // The folder move body has no name, so a move that also renames is two calls, ordered so that neither
            // meets a sibling with the name it has at that moment: rename first when the destination holds the old
            // name (through a temporary name when the source folder holds the new one as well).
            bool oldNameTaken, newNameTakenHere;
            lock (_gate)
            {
                oldNameTaken = oldName != newName && FindChildUnsynchronized(newParent, oldName, ignoreCase: true) is not null;
                newNameTakenHere = oldParent is not null && CaseClashUnsynchronized(oldParent, newName, folder, null) is not null;
            }

            string? finalRename = oldName == newName ? null : newName;
            if (oldNameTaken)
            {
                string interim = newNameTakenHere ? $".sdfs-move-{Guid.NewGuid():N}" : newName;
                own.AlsoAt(oldParent, interim);
                await _client.RenameFolderAsync(folderId, interim, cancellationToken).ConfigureAwait(false);
                finalRename = interim == newName ? null : newName;
            }

            await _client.MoveFolderAsync(folderId, newParent.FolderId, newParent.FolderId is null ? newParent.ShareId : null, cancellationToken).ConfigureAwait(false);
            if (finalRename is not null)
            {
                await _client.RenameFolderAsync(folderId, finalRename, cancellationToken).ConfigureAwait(false);
            }
        }

        MarkConnected();
        List<Node> retarget = new();
        lock (_gate)
        {
            bool crossShare = folder.ShareId != newParent.ShareId;
            PlaceUnsynchronized(folder, newParent, newName, notify: false);
            if (crossShare)
            {
                SetShareOfSubtreeUnsynchronized(folder, newParent.ShareId, retarget);
            }
        }

        // Pending uploads below keep their folder IDs; only a change of share changes their targets.
        foreach (Node node in retarget)
        {
            await RetargetPendingAsync(node, cancellationToken).ConfigureAwait(false);
        }
    }

    private static void SetShareOfSubtreeUnsynchronized(Node dir, ShareId shareId, List<Node> pending)
    {
        dir.ShareId = shareId;
        foreach (Node child in dir.Children!.Values)
        {
            if (child.IsDirectory)
            {
                SetShareOfSubtreeUnsynchronized(child, shareId, pending);
            }
            else
            {
                child.ShareId = shareId;
                if (child.PendingRequest is not null)
                {
                    pending.Add(child);
                }
            }
        }
    }

    /// <summary>A plain rename or move of a file to a free name. The caller holds the file's content gate.</summary>
    private async Task MoveFileUnsynchronizedAsync(Node file, Node newParent, string newName, CancellationToken cancellationToken)
    {
        using OwnChange own = ExpectOwnPlace(file, newParent, newName);
        FileId? fileId;
        Node? oldParent;
        FileItem? landed;
        lock (_gate)
        {
            (fileId, oldParent, landed) = (file.FileId, file.Parent, file.Landed);
            if (fileId is null && landed is null && file.PendingRequest is not null && oldParent is not null)
            {
                // Retargeting cancels an upload in flight, and the server may still commit it under the old name.
                (file.AbandonedPlaces ??= []).Add((oldParent, file.Name));
                _abandoning.Add(file);
            }
        }

        if (fileId is null && landed is not null)
        {
            // The first upload landed but is not bound yet: move what landed, and let the binding see where it went.
            FileItem moved = await MoveLandedAsync(landed, newParent, newName, cancellationToken).ConfigureAwait(false);
            lock (_gate)
            {
                if (file.Landed?.Id == moved.Id)
                {
                    file.Landed = moved;
                }
            }
        }
        else if (fileId is { } id)
        {
            FileItem moved = await MoveServerFileAsync(id, oldParent == newParent, newParent, newName, cancellationToken).ConfigureAwait(false);
            lock (_gate)
            {
                ApplyFileMetadataUnsynchronized(file, moved);
            }
        }

        lock (_gate)
        {
            file.ShareId = newParent.ShareId;
            PlaceUnsynchronized(file, newParent, newName, notify: false);
        }

        await RetargetPendingAsync(file, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// rename(source, target) over an existing file: the atomic save of editors. The name keeps its file ID and history:
    /// the source's content becomes a new version of the target (replace_file_id + base_version_id through the upload
    /// queue), and the source's own server copy, if it has one, goes to the trash. In the kernel's view the source
    /// inode now sits at the target's name, so the source node takes over the target's identity.
    /// </summary>
    private async Task ReplaceFileAsync(Node source, Node target, Node newParent, string newName, CancellationToken cancellationToken)
    {
        (Node first, Node second) = source.Inode < target.Inode ? (source, target) : (target, source);
        await first.ContentGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await second.ContentGate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (IsLocalOnly(target))
                {
                    // Nothing on the server to keep: drop the target, then an ordinary move.
                    await RemoveFileUnsynchronizedAsync(target, cancellationToken).ConfigureAwait(false);
                    await MoveFileUnsynchronizedAsync(source, newParent, newName, cancellationToken).ConfigureAwait(false);
                    return;
                }

                await EnsureStagedUnsynchronizedAsync(source, fill: true, cancellationToken).ConfigureAwait(false);
                await KeepContentForOpenHandlesUnsynchronizedAsync(target, cancellationToken).ConfigureAwait(false);
                FileItem? targetNow = null;
                if (target.PendingRequest is { } superseded)
                {
                    await _uploads.CancelAsync(superseded.Key, cancellationToken).ConfigureAwait(false);

                    // A cancelled upload may still have been committed by the server: then the version we know is
                    // stale, and replacing on top of it would conflict with our own upload. The target's content is
                    // being replaced anyway (its versions stay in the history), so the base is what the server has now.
                    try
                    {
                        targetNow = await _client.GetFileAsync(target.FileId!.Value, cancellationToken).ConfigureAwait(false);
                    }
                    catch (ScaiDriveApiException ex) when (ex.Kind is ScaiDriveErrorKind.NotFound or ScaiDriveErrorKind.Gone)
                    {
                    }
                }

                FileId? oldSourceId;
                FileId targetId;
                TombstoneScope? burial = null;
                lock (_gate)
                {
                    oldSourceId = source.FileId ?? source.Landed?.Id;
                    if (oldSourceId is { } leaving)
                    {
                        // From the moment the source takes the target's identity, its own server copy is on its way to
                        // the trash: a listing answered before that must not bring it back under the source's old name.
                        burial = BuryUnsynchronized(leaving.Value);
                    }

                    source.Landed = null;
                    if (oldSourceId is null && source.PendingRequest is not null && source.Parent is { } sourceParent)
                    {
                        // Retargeting below may cancel the source's first upload just as the server commits it.
                        (source.AbandonedPlaces ??= []).Add((sourceParent, source.Name));
                        _abandoning.Add(source);
                    }

                    targetId = target.FileId!.Value;
                    target.PendingRequest = null;
                    target.Dirty = false;
                    target.NeverEnqueued = false;
                    target.Unlinked = true;
                    DetachUnsynchronized(target);
                    if (oldSourceId is { } oldId && _byId.TryGetValue(oldId.Value, out Node? mapped) && mapped == source)
                    {
                        _byId.Remove(oldId.Value);
                    }

                    source.FileId = targetId;
                    source.Version = target.Version;
                    source.VersionId = target.VersionId;
                    source.RemoteSize = target.RemoteSize;
                    source.ChecksumSha256 = target.ChecksumSha256;
                    source.CreatedAt = target.CreatedAt;
                    source.ModifiedAt = target.ModifiedAt;
                    source.StagedBaseVersionId = target.VersionId;
                    if (targetNow is not null && targetNow.Version > source.Version)
                    {
                        source.Version = targetNow.Version;
                        source.VersionId = targetNow.VersionId;
                        source.RemoteSize = targetNow.Size;
                        source.ChecksumSha256 = targetNow.ChecksumSha256;
                        source.ModifiedAt = targetNow.ModifiedAt;
                        source.StagedBaseVersionId = targetNow.VersionId;
                    }

                    source.ShareId = newParent.ShareId;
                    source.Dirty = true;
                    _byId[targetId.Value] = source;
                    PlaceUnsynchronized(source, newParent, newName, notify: false);
                }

                try
                {
                    _inodes.Bind(targetId.Value, source.Inode);
                    if (source.PendingRequest is not null)
                    {
                        await RetargetPendingAsync(source, cancellationToken).ConfigureAwait(false);
                    }

                    if (source.WritableHandles == 0)
                    {
                        await EnqueueIfNeededUnsynchronizedAsync(source, force: false, cancellationToken).ConfigureAwait(false);
                    }

                    if (oldSourceId is { } sourceId)
                    {
                        try
                        {
                            await TrashFileAsync(sourceId, cancellationToken).ConfigureAwait(false);
                        }
                        catch (ScaiDriveApiException ex) when (ex.Kind is ScaiDriveErrorKind.NotFound or ScaiDriveErrorKind.Gone)
                        {
                        }
                    }
                }
                finally
                {
                    burial?.Dispose();
                }
            }
            finally
            {
                second.ContentGate.Release();
            }
        }
        finally
        {
            first.ContentGate.Release();
        }

        DropStagedIfIdle(target);
    }

    /// <summary>Points a not-yet-uploaded request at the node's current place and identity.</summary>
    private async Task RetargetPendingAsync(Node node, CancellationToken cancellationToken)
    {
        StagedFileKey key;
        UploadTarget target;
        lock (_gate)
        {
            if (node.PendingRequest is not { } request || node.Parent is null)
            {
                return;
            }

            key = request.Key;
            target = TargetOfUnsynchronized(node);
            node.PendingRequest = request with { Target = target };
        }

        await _uploads.RetargetAsync(key, target, cancellationToken).ConfigureAwait(false);
    }

    private static UploadTarget TargetOfUnsynchronized(Node node) =>
        new(node.ShareId, node.Parent!.FolderId, node.Name, node.FileId, node.FileId is null ? null : node.StagedBaseVersionId ?? node.VersionId);
}
