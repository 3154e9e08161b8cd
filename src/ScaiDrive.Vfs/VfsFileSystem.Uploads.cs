using Microsoft.Extensions.Caching.Memory;
using ScaiDrive.Client;
using ScaiDrive.Vfs.Kernel;
using ScaiDrive.Vfs.Namespace;
using ScaiDrive.Vfs.State;
using ScaiDrive.Vfs.Writing;

namespace ScaiDrive.Vfs;

// What the upload queue reports back. Its events are raised on its own threads, possibly while it holds its own
// locks, so the handlers only start a task: the work takes the node's content gate, which a caller of the queue
// (EnqueueAsync under that gate) may hold — doing it inline could deadlock.
public sealed partial class VfsFileSystem
{
    private void OnUploaded(StagedFileKey key, long generation, FileItem item)
    {
        Node? node;
        bool unlinked;
        lock (_gate)
        {
            _byKey.TryGetValue(key, out node);
            unlinked = _unlinkedKeys.Remove(key);
            if (node is null && !_recoveryAdopted)
            {
                // The queue resumes recovered uploads at once, possibly before the core has made their nodes.
                _earlyResults.Add((key, generation, item, null));
                return;
            }
        }

        if (node is not null)
        {
            lock (_gate)
            {
                // Recorded at once (the event's thread holds no node gate): a rename or unlink that holds the content
                // gate before ApplyUploadedAsync gets it must still find the server copy.
                if (node.FileId is null && !node.Unlinked && (node.Staged?.Key == key || node.PendingRequest?.Key == key))
                {
                    node.Landed = item;
                }
            }

            _ = RunInBackground(node, () => ApplyUploadedAsync(node, key, generation, item));
        }
        else if (unlinked)
        {
            // A new file unlinked here while its upload was landing, and forgotten since: what landed goes to the trash.
            _ = Task.Run(async () =>
            {
                try
                {
                    await TrashFileAsync(item.Id, CancellationToken.None).ConfigureAwait(false);
                }
                catch (ScaiDriveApiException)
                {
                }
            });
        }
    }

    /// <summary>
    /// A recovered upload (journal, after a crash) that lands before a listing of its folder placed it: the node is
    /// placed where it landed now. Otherwise a listing fetched just before the landing would lack the file, and the node,
    /// without a pending request any more, would not be placed from <c>_unplaced</c> either, until the listing expired.
    /// Placing it bumps the folder's children version, so such an in-flight listing is fetched again.
    /// </summary>
    private void PlaceLandedRecoveredUnsynchronized(Node node, FileItem item)
    {
        if (node.Parent is not null || !_unplaced.Contains(node))
        {
            return;
        }

        foreach (Node dir in _byInode.Values)
        {
            if (dir.Children is not null && dir.IsDirectory && dir.ShareId == item.ShareId && dir.FolderId == item.FolderId)
            {
                _unplaced.Remove(node);
                PlaceUnsynchronized(node, dir, item.Name, notify: true);
                return;
            }
        }
    }

    private void OnUploadFailed(StagedFileKey key, UploadFailure failure)
    {
        Node? node;
        lock (_gate)
        {
            _byKey.TryGetValue(key, out node);
            if (node is null && !_recoveryAdopted)
            {
                _earlyResults.Add((key, failure.Generation, null, failure));
                return;
            }

            lock (_errorsGate)
            {
                _failedUploads++;
            }
        }

        string path = node is null ? failure.Target.Name : PathOf(node);
        string message = failure.RecoveryPath is null ? failure.Message : $"{failure.Message} (content kept in {failure.RecoveryPath})";
        RecordError(path, message);
        LogUploadFailed(path, message);
        if (node is not null)
        {
            _ = RunInBackground(node, () => ApplyFailedAsync(node, key));
        }
    }

    private Task RunInBackground(Node node, Func<Task> work)
    {
        Task task = Task.Run(async () =>
        {
            try
            {
                await work().ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                LogBackgroundFailed(ex, PathOf(node));
            }
        });
        _background.TryAdd(task, 0);
        _ = task.ContinueWith(t => _background.TryRemove(t, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return task;
    }

    /// <summary>
    /// A generation reached the server. Idempotent: fsync and drain apply the result they waited for, and the event
    /// applies it again. Only the latest generation makes the node clean; an older one still tells us the file ID and
    /// the version the next generation must name as its base.
    /// </summary>
    private async Task ApplyUploadedAsync(Node node, StagedFileKey key, long generation, FileItem item)
    {
        await node.ContentGate.WaitAsync().ConfigureAwait(false);
        bool retarget = false;
        FileId? strayFile = null;
        FileItem? misplaced = null;
        List<(Node Parent, string Name)>? abandoned = null;
        Node? placeParent = null;
        string placeName = "";
        try
        {
            lock (_gate)
            {
                if (node.Unlinked)
                {
                    // Removed here while its upload was landing: what landed goes to the trash too.
                    strayFile = node.FileId == item.Id ? null : item.Id;
                }
                else if (node.Staged?.Key != key && node.PendingRequest?.Key != key)
                {
                    return; // Superseded: the node moved on to another staged copy.
                }
                else if (node.FileId is { } known && known != item.Id)
                {
                    // An upload of a temp file that was meanwhile renamed over another file: the content now goes to that
                    // file, so this copy on the server is a stray.
                    strayFile = item.Id;
                }
                else
                {
                    if (node.FileId is null)
                    {
                        // Renamed or moved locally after this upload was sent (and too late for the queue to send it to
                        // the new place): the server copy must follow. A rename in the window may have moved it already.
                        FileItem server = node.Landed is { } landed && landed.Id == item.Id ? landed : item;
                        if (node.Parent is { } parent
                            && (server.ShareId != parent.ShareId || server.FolderId != parent.FolderId || !string.Equals(server.Name, node.Name, StringComparison.Ordinal)))
                        {
                            misplaced = server;
                            placeParent = parent;
                            placeName = node.Name;
                        }

                        node.FileId = item.Id;
                        node.ServerChangedEpoch = ++_namespaceEpoch;
                        node.Landed = null;
                        _byId[item.Id.Value] = node;
                        _inodes.Bind(item.Id.Value, node.Inode);
                        PlaceLandedRecoveredUnsynchronized(node, item);
                    }

                    if (item.Version >= node.Version)
                    {
                        node.Version = item.Version;
                        node.VersionId = item.VersionId;
                        node.RemoteSize = item.Size;
                        node.ChecksumSha256 = item.ChecksumSha256;
                        node.CreatedAt = item.CreatedAt;
                        node.ModifiedAt = item.ModifiedAt;
                        node.StagedBaseVersionId = item.VersionId;
                    }

                    if (node.PendingRequest is { } pending && pending.Generation == generation)
                    {
                        // The mtime this mount showed for the content stays what it was, not the upload's time.
                        node.LocalModifiedAt ??= node.Staged?.ModifiedAt;
                        node.PendingRequest = null;
                        _overlay.Set(item.Id.Value, new OverlayEntry(item.Version, node.LocalMode, node.LocalModifiedAt, node.LocalAccessedAt));
                        _cache.Set(AttributesKey(node.Inode), true, _options.AttributeTimeout);
                    }
                    else if (node.PendingRequest is not null)
                    {
                        retarget = true;
                    }

                    if (node.PendingRequest is null)
                    {
                        (abandoned, node.AbandonedPlaces) = (node.AbandonedPlaces, null);
                        _abandoning.Remove(node);
                    }
                }
            }

            if (misplaced is not null)
            {
                using OwnChange own = ExpectOwnPlace(node, placeParent!, placeName);
                await MoveLandedAsync(misplaced, placeParent!, placeName, CancellationToken.None).ConfigureAwait(false);
            }

            if (retarget)
            {
                await RetargetPendingAsync(node, CancellationToken.None).ConfigureAwait(false);
            }

            DropStagedIfIdleUnsynchronized(node);
            lock (_gate)
            {
                MaybeForgetUnsynchronized(node);
            }
        }
        finally
        {
            node.ContentGate.Release();
        }

        if (abandoned is not null)
        {
            await TrashCopiesLeftBehindAsync(abandoned, item).ConfigureAwait(false);
        }

        if (strayFile is { } stray)
        {
            try
            {
                await TrashFileAsync(stray, CancellationToken.None).ConfigureAwait(false);
            }
            catch (ScaiDriveApiException)
            {
                // Best effort: a stray copy in the share is untidy but loses nothing.
            }
        }
    }

    /// <summary>
    /// A permanent failure: the queue kept the content in the recovery folder (or as a conflict copy next to the file).
    /// The node goes back to the server's state; a file that never reached the server disappears from the mount.
    /// </summary>
    private async Task ApplyFailedAsync(Node node, StagedFileKey key)
    {
        await node.ContentGate.WaitAsync().ConfigureAwait(false);
        try
        {
            lock (_gate)
            {
                if (node.Staged?.Key != key && node.PendingRequest?.Key != key)
                {
                    return;
                }

                node.PendingRequest = null;
                node.Held = false;
                if (node.Parent is { } parent)
                {
                    // A conflict copy may have appeared beside it.
                    _cache.Remove(ListingKey(parent.Inode));
                }

                if (node.Dirty || node.WritableHandles > 0)
                {
                    return; // Written again meanwhile: the next close tries again with the newer content.
                }

                if (node.FileId is null)
                {
                    if (node.Parent is { } p && !node.Detached)
                    {
                        _invalidations.Enqueue(Invalidation.Entry(p.Inode, node.Name));
                    }

                    node.NeverEnqueued = false;
                    DetachUnsynchronized(node);
                }
                else
                {
                    _invalidations.Enqueue(Invalidation.Attributes(node.Inode, content: true));
                    _cache.Remove(AttributesKey(node.Inode));
                }
            }

            DropStagedIfIdleUnsynchronized(node);
            lock (_gate)
            {
                MaybeForgetUnsynchronized(node);
            }
        }
        finally
        {
            node.ContentGate.Release();
        }
    }

    /// <summary>
    /// A cancelled first upload the server committed anyway, under a name the file had before a rename: same content
    /// as what just landed, no node of ours. Best effort, like the queue's own check, but made only after the final
    /// upload landed, so a commit that raced the cancel has long finished.
    /// </summary>
    private async Task TrashCopiesLeftBehindAsync(List<(Node Parent, string Name)> places, FileItem landed)
    {
        if (landed.ChecksumSha256 is null)
        {
            return;
        }

        foreach ((Node parent, string name) in places)
        {
            try
            {
                FolderListing listing = await _client.ListChildrenAsync(parent.ShareId, parent.FolderId, cancellationToken: CancellationToken.None).ConfigureAwait(false);
                foreach (FileItem file in listing.Files)
                {
                    bool ours;
                    lock (_gate)
                    {
                        ours = _byId.ContainsKey(file.Id.Value);
                    }

                    if (!ours && !file.IsDeleted && file.Id != landed.Id
                        && string.Equals(file.Name, name, StringComparison.OrdinalIgnoreCase)
                        && string.Equals(file.ChecksumSha256, landed.ChecksumSha256, StringComparison.OrdinalIgnoreCase))
                    {
                        await TrashFileAsync(file.Id, CancellationToken.None).ConfigureAwait(false);
                        _cache.Remove(ListingKey(parent.Inode));
                    }
                }
            }
            catch (ScaiDriveApiException)
            {
                // Best effort: a stray copy is untidy but loses nothing.
            }
        }
    }

    /// <summary>Puts a landed file where its node now is: a rename or move on the server.</summary>
    private Task<FileItem> MoveLandedAsync(FileItem landed, Node newParent, string newName, CancellationToken cancellationToken) =>
        MoveServerFileAsync(landed.Id, landed.ShareId == newParent.ShareId && landed.FolderId == newParent.FolderId, newParent, newName, cancellationToken);

    /// <summary>
    /// Renames or moves a file on the server to a name this mount considers free. A name conflict there means the
    /// server holds a file no live node of ours stands for: most often the copy of a local-only file that was just
    /// unlinked or replaced here, whose cancelled upload committed anyway. rename(2) replaces its target, so that file
    /// goes to the trash and the move is tried once more.
    /// </summary>
    private async Task<FileItem> MoveServerFileAsync(FileId fileId, bool sameFolder, Node newParent, string newName, CancellationToken cancellationToken)
    {
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                FileItem moved = sameFolder
                    ? await _client.RenameFileAsync(fileId, newName, cancellationToken).ConfigureAwait(false)
                    : await _client.MoveFileAsync(fileId, newParent.FolderId, newParent.FolderId is null ? newParent.ShareId : null, newName, cancellationToken).ConfigureAwait(false);
                MarkConnected();
                return moved;
            }
            catch (ScaiDriveApiException ex) when (ex.Kind == ScaiDriveErrorKind.NameConflict && attempt == 0)
            {
                if (!await TrashUnclaimedAsync(newParent, newName, cancellationToken).ConfigureAwait(false))
                {
                    throw;
                }
            }
        }
    }

    private async Task<bool> TrashUnclaimedAsync(Node parent, string name, CancellationToken cancellationToken)
    {
        FolderListing listing = await _client.ListChildrenAsync(parent.ShareId, parent.FolderId, cancellationToken: cancellationToken).ConfigureAwait(false);
        FileItem? holder = listing.Files.FirstOrDefault(f => !f.IsDeleted && string.Equals(f.Name, name, StringComparison.OrdinalIgnoreCase));
        if (holder is null)
        {
            return listing.Folders.All(f => !string.Equals(f.Name, name, StringComparison.OrdinalIgnoreCase)); // Gone meanwhile: try again.
        }

        lock (_gate)
        {
            if (_byId.TryGetValue(holder.Id.Value, out Node? node) && !node.Unlinked && !node.Detached)
            {
                return false; // A file this mount shows: a real conflict, not ours to remove.
            }
        }

        await TrashFileAsync(holder.Id, cancellationToken).ConfigureAwait(false);
        return true;
    }

    private void ClearPendingIfCurrent(Node node, UploadRequest request)
    {
        lock (_gate)
        {
            if (node.PendingRequest?.Key == request.Key && node.PendingRequest.Generation == request.Generation)
            {
                node.PendingRequest = null;
            }
        }
    }
}
