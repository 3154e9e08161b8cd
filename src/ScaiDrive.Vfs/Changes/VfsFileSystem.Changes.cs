using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging;
using ScaiDrive.Client;
using ScaiDrive.Vfs.Kernel;
using ScaiDrive.Vfs.Namespace;

namespace ScaiDrive.Vfs;

// The change-feed follower (issue 6, first cut): polls the feed of each mounted share every ChangePollInterval,
// keeps the cursor in <cache>/state/cursor-<share>, and for each change drops what the core and the kernel hold for
// the node and its folder, so the next lookup, stat or read asks the server. A fresh cache directory starts from the
// feed's head (nothing is cached yet). Not yet: the WebSocket nudge, echo suppression of our own changes, and conflict
// copies on the follower's side (the upload queue makes them).
public sealed partial class VfsFileSystem
{
    private CancellationTokenSource? _followCts;
    private Task? _followTask;

    private void StartFollowingChanges()
    {
        if (!_options.FollowChanges)
        {
            return;
        }

        _followCts = new CancellationTokenSource();
        _followTask = Task.Run(() => FollowChangesAsync(_followCts.Token));
    }

    private async Task StopFollowingChangesAsync()
    {
        if (_followCts is null)
        {
            return;
        }

        await _followCts.CancelAsync().ConfigureAwait(false);
        try
        {
            await _followTask!.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        _followCts.Dispose();
    }

    private async Task FollowChangesAsync(CancellationToken cancellationToken)
    {
        var cursors = new Dictionary<ShareId, ChangeCursor?>();
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                foreach (ShareId share in FollowedShares())
                {
                    if (!cursors.TryGetValue(share, out ChangeCursor? cursor))
                    {
                        cursor = LoadCursor(share);
                        if (cursor is null)
                        {
                            cursor = await SkipToHeadAsync(share, cancellationToken).ConfigureAwait(false);
                            SaveCursor(share, cursor.Value);
                        }

                        cursors[share] = cursor;
                    }

                    cursors[share] = await PullChangesAsync(share, cursor, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (ScaiDriveApiException ex) when (ex.Kind == ScaiDriveErrorKind.Gone)
            {
                // The cursor fell behind the feed's retention: forget every listing (the next access rescans) and restart at the head.
                LogCursorExpired();
                cursors.Clear();
                foreach (ShareId share in FollowedShares())
                {
                    DeleteCursor(share);
                }

                InvalidateAllListings();
            }
            catch (Exception ex)
            {
                LogFollowFailed(ex);
            }

            await Task.Delay(_options.ChangePollInterval, _time, cancellationToken).ConfigureAwait(false);
        }
    }

    private List<ShareId> FollowedShares()
    {
        lock (_gate)
        {
            if (_root.Type == NodeType.ShareRoot)
            {
                return [_root.ShareId];
            }

            return _root.Children!.Values.Where(n => n.Type == NodeType.ShareRoot).Select(n => n.ShareId).ToList();
        }
    }

    private async Task<ChangeCursor> SkipToHeadAsync(ShareId share, CancellationToken cancellationToken)
    {
        ChangeCursor? cursor = null;
        while (true)
        {
            ChangeBatch batch = await _client.GetChangesAsync(share, cursor, 5000, cancellationToken).ConfigureAwait(false);
            cursor = batch.Cursor;
            if (!batch.HasMore)
            {
                return cursor.Value;
            }
        }
    }

    private async Task<ChangeCursor?> PullChangesAsync(ShareId share, ChangeCursor? cursor, CancellationToken cancellationToken)
    {
        while (true)
        {
            ChangeBatch batch = await _client.GetChangesAsync(share, cursor, 1000, cancellationToken).ConfigureAwait(false);
            foreach (ChangeEntry change in batch.Changes)
            {
                ApplyChange(change);
            }

            if (batch.Changes.Count > 0 || cursor is null || batch.Cursor.Value != cursor.Value.Value)
            {
                cursor = batch.Cursor;
                SaveCursor(share, batch.Cursor);
            }

            if (!batch.HasMore)
            {
                return cursor;
            }
        }
    }

    /// <summary>Drops the core's and the kernel's view of the changed node and of the folders it left and entered.</summary>
    private void ApplyChange(ChangeEntry change)
    {
        lock (_gate)
        {
            if (!_byId.TryGetValue(change.ResourceId, out Node? node))
            {
                // Not cached here: only its folder's listing may be stale.
                if ((change.Metadata?.FolderId ?? change.Metadata?.ParentId) is { } folderId && _byId.TryGetValue(folderId, out Node? folder))
                {
                    _cache.Remove(ListingKey(folder.Inode));
                }
                else if (_root.Type == NodeType.ShareRoot && _root.ShareId == change.ShareId)
                {
                    _cache.Remove(ListingKey(_root.Inode));
                }

                return;
            }

            _cache.Remove(AttributesKey(node.Inode));
            _cache.Remove(ListingKey(node.Inode));
            if (node.Parent is { } parent)
            {
                _cache.Remove(ListingKey(parent.Inode));
                if (change.ChangeType is ChangeType.Deleted or ChangeType.Moved or ChangeType.Renamed)
                {
                    _invalidations.Enqueue(Invalidation.Entry(parent.Inode, node.Name));
                }
            }

            if ((change.Metadata?.FolderId ?? change.Metadata?.ParentId) is { } newFolder && _byId.TryGetValue(newFolder, out Node? destination))
            {
                _cache.Remove(ListingKey(destination.Inode));
            }

            bool contentChanged = node.Type == NodeType.File && change.ChangeType == ChangeType.Updated
                && change.Metadata?.Version is { } version && version != node.Version;
            _invalidations.Enqueue(Invalidation.Attributes(node.Inode, content: contentChanged));
        }
    }

    private void InvalidateAllListings()
    {
        lock (_gate)
        {
            foreach (Node node in _byInode.Values)
            {
                _cache.Remove(ListingKey(node.Inode));
                _cache.Remove(AttributesKey(node.Inode));
            }
        }
    }

    private string CursorPath(ShareId share) => Path.Combine(_options.CacheDirectory, "state", "cursor-" + share.Value);

    private ChangeCursor? LoadCursor(ShareId share)
    {
        try
        {
            string text = File.ReadAllText(CursorPath(share)).Trim();
            return text.Length == 0 ? null : new ChangeCursor(text);
        }
        catch (IOException)
        {
            return null;
        }
    }

    private void SaveCursor(ShareId share, ChangeCursor cursor)
    {
        string path = CursorPath(share);
        File.WriteAllText(path + ".tmp", cursor.Value);
        File.Move(path + ".tmp", path, overwrite: true);
    }

    private void DeleteCursor(ShareId share)
    {
        try
        {
            File.Delete(CursorPath(share));
        }
        catch (IOException)
        {
        }
    }

    [LoggerMessage(EventId = 601, Level = LogLevel.Information, Message = "Change cursor expired; listings will be fetched again")]
    private partial void LogCursorExpired();

    [LoggerMessage(EventId = 602, Level = LogLevel.Warning, Message = "Following the change feed failed; retrying at the next poll")]
    private partial void LogFollowFailed(Exception exception);
}
