using Microsoft.Extensions.Logging;
using ScaiDrive.Client;
using ScaiDrive.Vfs.Changes;
using ScaiDrive.Vfs.Kernel;
using ScaiDrive.Vfs.Namespace;

namespace ScaiDrive.Vfs;

// Remote changes: the change feed (Changes/ChangeFollower) hands batches here; each change updates the node table in
// place from the change's own metadata (no request to the server) and queues for the kernel exactly what it may hold
// that is no longer true: the entry of the old and the new name, the parents' attributes, and the pages of a file
// whose content changed. A change that the node table already reflects (our own upload, rename or delete coming
// back, or a listing fetched after the commit) is recognised by comparing IDs, names and version IDs and costs nothing.
// One that arrives while the request that made it is still in flight (the server commits, nudges, and the feed is
// read before the answer reaches us) is recognised by the expectation the operation registered before sending it
// (ExpectOwnPlace, ExpectOwnDelete): the node table does not reflect it yet, but it is about to.
public sealed partial class VfsFileSystem : IChangeSink
{
    private static readonly TimeSpan s_followedSharesTtl = TimeSpan.FromSeconds(60);

    // This mount's namespace requests in flight (mkdir, rename, move, delete). Guarded by _gate; a handful at most.
    private readonly List<OwnChange> _ownChanges = new();

    private ChangeFollower? _follower;
    // The multi-share root's share list for the follower; replaced whole, read without a lock.
    private volatile FollowedShares? _followedShares;
    // Bumped whenever a node is placed or detached (PlaceUnsynchronized, DetachUnsynchronized). Guarded by _gate.
    private long _namespaceEpoch;
    private long _changesApplied;
    private long _changesIgnored;
    private long _changesDeferred;

    /// <summary>The change follower, when <see cref="VfsOptions.FollowChanges"/> (tests; status).</summary>
    internal ChangeFollower? Follower => _follower;

    /// <summary>Changes that altered the node table (and were forwarded to the kernel).</summary>
    internal long ChangesApplied => Interlocked.Read(ref _changesApplied);

    /// <summary>Changes already reflected (own changes coming back): no work, no invalidation.</summary>
    internal long ChangesIgnored => Interlocked.Read(ref _changesIgnored);

    /// <summary>
    /// Changes about a node whose place changed here while the feed was being read: the answer may predate that, so
    /// instead of moving the node the listings involved are dropped and read again from the server.
    /// </summary>
    internal long ChangesDeferred => Interlocked.Read(ref _changesDeferred);

    private void StartFollowingChanges(ILoggerFactory loggerFactory)
    {
        var state = new ChangeState(Path.Combine(_options.CacheDirectory, "state"));
        string deviceId = state.GetOrCreateDeviceId(_options.DeviceId);
        _follower = new ChangeFollower(
            _client,
            this,
            state,
            deviceId,
            _options.ChangePollInterval,
            _options.ListenForChangeNudges,
            _time,
            loggerFactory.CreateLogger<ChangeFollower>());
        _follower.Start();
    }

    private async ValueTask StopFollowingChangesAsync()
    {
        if (_follower is { } follower)
        {
            await follower.DisposeAsync().ConfigureAwait(false);
        }
    }

    async ValueTask<IReadOnlyList<ShareId>> IChangeSink.GetFollowedSharesAsync(CancellationToken cancellationToken)
    {
        if (_root.Type == NodeType.ShareRoot)
        {
            return [_root.ShareId];
        }

        DateTimeOffset now = _time.GetUtcNow();
        if (_followedShares is { } cached && now - cached.FetchedAt < s_followedSharesTtl)
        {
            return cached.Shares;
        }

        IReadOnlyList<ShareInfo> shares = await _client.ListMySharesAsync(cancellationToken).ConfigureAwait(false);
        var ids = shares.Select(s => s.Id).ToArray();
        _followedShares = new FollowedShares(ids, now);
        return ids;
    }

    long IChangeSink.MarkBeforePull()
    {
        lock (_gate)
        {
            return _namespaceEpoch;
        }
    }

    ValueTask IChangeSink.ApplyChangesAsync(ShareId share, IReadOnlyList<ChangeEntry> changes, long mark, CancellationToken cancellationToken)
    {
        // Only the last change of each resource in a batch matters: its metadata is the resource's state after the
        // batch. Applying the earlier ones would move nodes through states long gone (and back), for nothing.
        var last = new Dictionary<string, int>(changes.Count, StringComparer.Ordinal);
        for (int i = 0; i < changes.Count; i++)
        {
            last[changes[i].ResourceId] = i;
        }

        lock (_gate)
        {
            // Stamps after the request and up to now are local changes the answer may predate; the batch's own
            // placements (stamped after this point) are not.
            var window = new EpochWindow(mark, _namespaceEpoch);
            for (int i = 0; i < changes.Count; i++)
            {
                ChangeEntry change = changes[i];
                ChangeOutcome outcome = last[change.ResourceId] != i ? ChangeOutcome.Ignored : change.ResourceType switch
                {
                    ResourceType.File => ApplyFileChangeUnsynchronized(change, window),
                    ResourceType.Folder => ApplyFolderChangeUnsynchronized(change, window),
                    _ => ChangeOutcome.Ignored,
                };
                switch (outcome)
                {
                    case ChangeOutcome.Applied:
                        Interlocked.Increment(ref _changesApplied);
                        break;
                    case ChangeOutcome.Deferred:
                        Interlocked.Increment(ref _changesDeferred);
                        break;
                    default:
                        Interlocked.Increment(ref _changesIgnored);
                        break;
                }
            }
        }

        return ValueTask.CompletedTask;
    }

    async Task IChangeSink.RescanAsync(ShareId share, CancellationToken cancellationToken)
    {
        // Every directory of the share whose listing we hold is listed again; applying a listing updates each file's
        // metadata and drops what a new version made stale (ApplyFileMetadataUnsynchronized), and invalidates the
        // entries of names that went away. Files are re-read lazily: their attributes are no longer trusted.
        List<Node> directories = new();
        lock (_gate)
        {
            foreach (Node node in _byInode.Values)
            {
                if (node.Detached || node.Type == NodeType.VirtualRoot || node.ShareId != share)
                {
                    continue;
                }

                if (node.IsDirectory)
                {
                    if (node.Children!.Count > 0 || _cache.TryGetValue(ListingKey(node.Inode), out _))
                    {
                        directories.Add(node);
                    }
                }
                else
                {
                    _cache.Remove(AttributesKey(node.Inode));
                    _invalidations.Enqueue(Invalidation.Attributes(node.Inode, content: false));
                }
            }
        }

        foreach (Node dir in directories.OrderBy(Depth))
        {
            lock (_gate)
            {
                if (dir.Detached)
                {
                    continue; // Gone with a parent listed before it.
                }
            }

            _cache.Remove(ListingKey(dir.Inode));
            _invalidations.Enqueue(Invalidation.Attributes(dir.Inode, content: false));
            try
            {
                await EnsureListingAsync(dir, cancellationToken).ConfigureAwait(false);
            }
            catch (ScaiDriveApiException ex) when (ex.Kind is ScaiDriveErrorKind.NotFound or ScaiDriveErrorKind.Gone)
            {
                // Deleted on the server: its parent's listing (listed first) already detached it, or will on next use.
            }
        }

        int Depth(Node node)
        {
            lock (_gate)
            {
                int depth = 0;
                for (Node? n = node.Parent; n is not null; n = n.Parent)
                {
                    depth++;
                }

                return depth;
            }
        }
    }

    /// <summary>The node a change is about, if known; false when the ID names a node of the other type.</summary>
    private bool TryGetChangedNodeUnsynchronized(ChangeEntry change, NodeType type, out Node? node)
    {
        _byId.TryGetValue(change.ResourceId, out node);
        return node is null || node.Type == type;
    }

    /// <summary>A remote delete: ignored when unknown or already gone, deferred when placed here meanwhile.</summary>
    private ChangeOutcome ApplyDeleteUnsynchronized(Node? node, EpochWindow window) =>
        node is null || node.Detached ? ChangeOutcome.Ignored
        : MatchOwnChangeUnsynchronized(node, deleted: true, null, null) is { } own ? own
        : window.IsLocal(node.PlacedEpoch) ? DeferUnsynchronized(node, null, null)
        : RemoveRemotelyUnsynchronized(node) ? ChangeOutcome.Applied : ChangeOutcome.Ignored;

    /// <summary>Applies the latest change of one file.</summary>
    private ChangeOutcome ApplyFileChangeUnsynchronized(ChangeEntry change, EpochWindow window)
    {
        if (!TryGetChangedNodeUnsynchronized(change, NodeType.File, out Node? node))
        {
            return ChangeOutcome.Ignored;
        }

        if (change.ChangeType == ChangeType.Deleted)
        {
            return ApplyDeleteUnsynchronized(node, window);
        }

        if (node is null && IsBuriedUnsynchronized(change.ResourceId, window))
        {
            // A file this mount is trashing (or trashed after the feed was asked): its last upload or move coming
            // back must not recreate it under its old name.
            return ChangeOutcome.Ignored;
        }

        ChangeMetadata? meta = change.Metadata;
        Node? parent = meta is null ? null : ParentForChangeUnsynchronized(change.ShareId, meta.FolderId);
        string? name = meta?.Name ?? NameFromPath(change.NewPath);
        if (node is null)
        {
            // Unknown file: only a cached directory needs to learn of it (an uncached one is listed on first use).
            if (parent is null || name is null)
            {
                return ChangeOutcome.Ignored;
            }

            if (parent.Children!.TryGetValue(name, out Node? occupant) && (IsLocalOnly(occupant) || occupant.PendingRequest is not null))
            {
                return ChangeOutcome.Ignored; // Our own new file, its upload landing now: ApplyUploadedAsync binds the ID.
            }

            if (IsAbandonedPlaceUnsynchronized(parent, name))
            {
                return ChangeOutcome.Ignored; // Most likely a cancelled first upload of ours that committed anyway.
            }

            if (window.IsLocal(parent.ChildrenEpoch))
            {
                // The folder changed here meanwhile (our own unlink of this very file, say): the answer may be older.
                return DeferNameUnsynchronized(parent, name);
            }

            if (occupant is not null)
            {
                // The server could not hold both: the change is older than what took the name here.
                return DeferNameUnsynchronized(parent, name);
            }

            Node created = NodeForFileUnsynchronized(FileFromChange(change, parent, name, null));
            if (!PlaceRemotelyUnsynchronized(created, parent, name))
            {
                DetachUnsynchronized(created);
            }

            return ChangeOutcome.Applied;
        }

        ChangeOutcome outcome = ChangeOutcome.Ignored;
        if (node.Staged is null && node.PendingRequest is null && !IsCurrent(node, change))
        {
            // New content from elsewhere. A node with local content waits instead: its upload either lands on top
            // (our version wins) or meets SYNC_CONFLICT, keeps a conflict copy and reloads the server's version.
            ApplyFileMetadataUnsynchronized(node, FileFromChange(change, node.Parent, node.Name, node));
            outcome = ChangeOutcome.Applied;
        }

        return ApplyPlaceUnsynchronized(change, node, parent, name, window, outcome);
    }

    /// <summary>Applies the latest change of one folder.</summary>
    private ChangeOutcome ApplyFolderChangeUnsynchronized(ChangeEntry change, EpochWindow window)
    {
        if (!TryGetChangedNodeUnsynchronized(change, NodeType.Folder, out Node? node))
        {
            return ChangeOutcome.Ignored;
        }

        if (change.ChangeType == ChangeType.Deleted)
        {
            // The server lists no descendants: the whole subtree goes with the folder.
            return ApplyDeleteUnsynchronized(node, window);
        }

        if (node is null && IsBuriedUnsynchronized(change.ResourceId, window))
        {
            return ChangeOutcome.Ignored;
        }

        ChangeMetadata? meta = change.Metadata;
        Node? parent = meta is null ? null : ParentForChangeUnsynchronized(change.ShareId, meta.ParentId);
        string? name = meta?.Name ?? NameFromPath(change.NewPath);
        if (node is null)
        {
            if (parent is null || name is null)
            {
                return ChangeOutcome.Ignored;
            }

            if (MatchOwnChangeUnsynchronized(null, deleted: false, parent, name) is { } ownMkdir)
            {
                return ownMkdir; // Our own mkdir, its answer not applied yet: it places the node.
            }

            if (window.IsLocal(parent.ChildrenEpoch))
            {
                return DeferNameUnsynchronized(parent, name);
            }

            if (parent.Children!.ContainsKey(name))
            {
                return DeferNameUnsynchronized(parent, name);
            }

            var folder = new FolderItem(new FolderId(change.ResourceId), change.ShareId, meta?.ParentId is { } p ? new FolderId(p) : null, name, change.NewPath, change.ChangedAt, change.ChangedAt, false);
            node = NodeForFolderUnsynchronized(folder);
            if (!PlaceRemotelyUnsynchronized(node, parent, name))
            {
                DetachUnsynchronized(node);
            }

            return ChangeOutcome.Applied;
        }

        return ApplyPlaceUnsynchronized(change, node, parent, name, window, ChangeOutcome.Ignored);
    }

    /// <summary>
    /// The place part of a change to a node this mount knows: puts it where the change says (<paramref name="parent"/>
    /// null: out of what this mount shows), unless this mount moved it meanwhile or the name is taken here.
    /// <paramref name="soFar"/> is what the rest of the change did (a file's new content), the outcome when this part
    /// changes nothing.
    /// </summary>
    private ChangeOutcome ApplyPlaceUnsynchronized(ChangeEntry change, Node node, Node? parent, string? name, EpochWindow window, ChangeOutcome soFar)
    {
        bool placed = !node.Detached && node.Parent == parent && node.Name == name;
        if (placed || (parent is null && node.Detached) || (node.Detached && node.Unlinked))
        {
            // Where the change says (our own rename coming back); or out of sight; or a file unlinked here, which the
            // server learns (or learnt) through our own delete.
            return soFar;
        }

        if (MatchOwnChangeUnsynchronized(node, deleted: false, parent, name) is { } own)
        {
            // Our own rename or move, its answer not applied yet (a file's content part still counts).
            return own == ChangeOutcome.Ignored ? soFar : own;
        }

        if (window.IsLocal(node.PlacedEpoch))
        {
            return DeferUnsynchronized(node, parent, name);
        }

        if (parent is null || name is null)
        {
            // Moved into a folder we do not hold (or out of what this mount shows).
            return RemoveRemotelyUnsynchronized(node) ? ChangeOutcome.Applied : soFar;
        }

        if (node.Type == NodeType.Folder && IsUnderUnsynchronized(parent, node))
        {
            // Into its own subtree: impossible on the server, so our tree is behind; read the listings again.
            return DeferUnsynchronized(node, parent, name);
        }

        if (parent.Children!.TryGetValue(name, out Node? taken) && taken != node)
        {
            return DeferUnsynchronized(node, parent, name);
        }

        // A folder moves with its children: the subtree follows without touching each descendant.
        PlaceRemotelyUnsynchronized(node, parent, name);
        if (node.Type == NodeType.Folder)
        {
            node.ModifiedAt = change.ChangedAt;
        }

        return ChangeOutcome.Applied;
    }

    /// <summary>
    /// Registers a request this mount is about to send that places <paramref name="node"/> (null: a folder being
    /// created) at <paramref name="parent"/>/<paramref name="name"/>. Until it is disposed, which the caller does once
    /// the answer is applied to the node table (or the request failed), the feed entry the request produces is
    /// recognised as ours even though the table does not show it yet.
    /// </summary>
    private OwnChange ExpectOwnPlace(Node? node, Node parent, string name)
    {
        var own = new OwnChange(this, node, delete: false);
        own.AlsoAt(parent, name);
        lock (_gate)
        {
            _ownChanges.Add(own);
        }

        return own;
    }

    /// <summary>As <see cref="ExpectOwnPlace"/>, for a delete of <paramref name="node"/> (file or folder).</summary>
    private OwnChange ExpectOwnDelete(Node node)
    {
        var own = new OwnChange(this, node, delete: true);
        lock (_gate)
        {
            _ownChanges.Add(own);
        }

        return own;
    }

    /// <summary>
    /// A change about something this mount is changing itself right now: ignored when it is what we asked for (the
    /// answer places or detaches the node when it arrives), deferred to the server's listings when it is not (a
    /// colleague's change crossing ours). Null when no request of ours about it is in flight.
    /// </summary>
    private ChangeOutcome? MatchOwnChangeUnsynchronized(Node? node, bool deleted, Node? parent, string? name)
    {
        bool inFlight = false;
        foreach (OwnChange own in _ownChanges)
        {
            if (own.Node != node)
            {
                continue;
            }

            inFlight = true;
            if (deleted ? own.Delete : !own.Delete && own.Expects(parent, name))
            {
                return ChangeOutcome.Ignored;
            }
        }

        if (!inFlight || node is null)
        {
            return null;
        }

        return deleted ? DeferUnsynchronized(node, null, null) : DeferUnsynchronized(node, parent, name);
    }

    /// <summary>
    /// The request is over. When the node table does not show what was asked for (the request failed, or its answer
    /// was not applied), a feed entry skipped meanwhile as ours may have been someone else's: the listings involved
    /// are dropped, so the server's view decides at the next lookup.
    /// </summary>
    private void EndOwnChange(OwnChange own)
    {
        lock (_gate)
        {
            _ownChanges.Remove(own);
            if (own.Node is { } changed)
            {
                // A listing requested while this was in flight may show the node where it was before.
                changed.ServerChangedEpoch = ++_namespaceEpoch;
            }

            bool reflected = own.Node switch
            {
                null => own.Places.Any(p => p.Parent.Children!.ContainsKey(p.Name)),
                { } node when own.Delete => node.Detached,
                { } node => !node.Detached && own.Expects(node.Parent, node.Name),
            };
            if (reflected)
            {
                return;
            }

            foreach ((Node parent, string name) in own.Places)
            {
                DeferNameUnsynchronized(parent, name);
            }

            if (own.Node is { } moved)
            {
                DeferUnsynchronized(moved, null, null);
            }
        }
    }

    /// <summary>An unknown node in a folder that changed here after the feed request: the server's listing decides.</summary>
    private ChangeOutcome DeferNameUnsynchronized(Node parent, string name)
    {
        _cache.Remove(ListingKey(parent.Inode));
        _cache.Remove(NegativeKey(parent.Inode, name));
        _invalidations.Enqueue(Invalidation.Entry(parent.Inode, name));
        _invalidations.Enqueue(Invalidation.Attributes(parent.Inode, content: false));
        return ChangeOutcome.Deferred;
    }

    /// <summary>
    /// The node's place changed here after the feed request went out, so the change may be older than what we hold:
    /// rather than move the node, let the server decide. The listings of both places are dropped (the next lookup or
    /// readdir asks the server) and the kernel forgets both names.
    /// </summary>
    private ChangeOutcome DeferUnsynchronized(Node node, Node? newParent, string? newName)
    {
        _cache.Remove(AttributesKey(node.Inode));
        if (!node.Detached && node.Parent is { } parent)
        {
            _cache.Remove(ListingKey(parent.Inode));
            _invalidations.Enqueue(Invalidation.Entry(parent.Inode, node.Name));
            _invalidations.Enqueue(Invalidation.Attributes(parent.Inode, content: false));
        }

        if (newParent is not null && newName is not null)
        {
            _cache.Remove(ListingKey(newParent.Inode));
            _cache.Remove(NegativeKey(newParent.Inode, newName));
            _invalidations.Enqueue(Invalidation.Entry(newParent.Inode, newName));
            _invalidations.Enqueue(Invalidation.Attributes(newParent.Inode, content: false));
        }

        return ChangeOutcome.Deferred;
    }

    /// <summary>Places a node at a name the kernel may hold as negative, and tells the kernel about both parents.</summary>
    private bool PlaceRemotelyUnsynchronized(Node node, Node parent, string name)
    {
        Node? oldParent = node.Detached ? null : node.Parent;
        if (!PlaceUnsynchronized(node, parent, name, notify: true))
        {
            return false;
        }

        _invalidations.Enqueue(Invalidation.Entry(parent.Inode, name));
        _invalidations.Enqueue(Invalidation.Attributes(parent.Inode, content: false));
        if (oldParent is not null && oldParent != parent)
        {
            _invalidations.Enqueue(Invalidation.Attributes(oldParent.Inode, content: false));
        }

        return true;
    }

    /// <summary>
    /// Removes a node (and its subtree) deleted or moved away on the server. Open handles keep the node itself; its
    /// cached blocks stay readable until they close (see docs/SEMANTICS.md).
    /// </summary>
    private bool RemoveRemotelyUnsynchronized(Node node)
    {
        if (node.Staged is not null && node.FileId is null)
        {
            return false;
        }

        if (node.Parent is { } parent)
        {
            _invalidations.Enqueue(Invalidation.Entry(parent.Inode, node.Name));
            _invalidations.Enqueue(Invalidation.Attributes(parent.Inode, content: false));
        }

        if (node.IsDirectory)
        {
            var descendants = new List<Node>();
            CollectSubtree(node, descendants);
            // Deepest first, so each detach finds its parent's child map intact.
            for (int i = descendants.Count - 1; i >= 0; i--)
            {
                Node child = descendants[i];
                _cache.Remove(ListingKey(child.Inode));
                DetachUnsynchronized(child);
            }

            _cache.Remove(ListingKey(node.Inode));
        }

        _invalidations.Enqueue(Invalidation.Attributes(node.Inode, content: false));
        DetachUnsynchronized(node);
        return true;
    }

    private static void CollectSubtree(Node dir, List<Node> into)
    {
        foreach (Node child in dir.Children!.Values)
        {
            into.Add(child);
            if (child.IsDirectory)
            {
                CollectSubtree(child, into);
            }
        }
    }

    private static bool IsUnderUnsynchronized(Node candidate, Node ancestor)
    {
        for (Node? n = candidate; n is not null; n = n.Parent)
        {
            if (n == ancestor)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The node of the folder a change names as parent (null = the share's root); null when not in the table.</summary>
    private Node? ParentForChangeUnsynchronized(ShareId share, string? folderId)
    {
        string key = folderId ?? share.Value;
        if (!_byId.TryGetValue(key, out Node? parent) || !parent.IsDirectory || parent.Detached && parent.Inode != RootInode)
        {
            return null;
        }

        return folderId is null && parent.Type != NodeType.ShareRoot ? null : parent;
    }

    /// <summary>The change already holds for the node: same version (by ID, else by number).</summary>
    private static bool IsCurrent(Node node, ChangeEntry change)
    {
        if (change.VersionId is { } versionId && node.VersionId is { } known)
        {
            return known.Value == versionId || (change.Metadata?.Version is { } v && v < node.Version);
        }

        return change.Metadata?.Version is not { } version || version <= node.Version;
    }

    private static FileItem FileFromChange(ChangeEntry change, Node? parent, string name, Node? existing)
    {
        ChangeMetadata? meta = change.Metadata;
        FolderId? folderId = meta?.FolderId is { } f ? new FolderId(f) : parent?.FolderId;
        long version = meta?.Version ?? existing?.Version ?? 1;
        VersionId? versionId = change.VersionId is { } v ? new VersionId(v) : existing?.VersionId;
        DateTimeOffset created = existing is not null && existing.CreatedAt != default ? existing.CreatedAt : change.ChangedAt;
        return new FileItem(
            new FileId(change.ResourceId),
            change.ShareId,
            folderId,
            name,
            change.NewPath,
            meta?.MimeType,
            meta?.Size ?? existing?.RemoteSize ?? 0,
            meta?.ChecksumSha256 ?? existing?.ChecksumSha256,
            version,
            versionId,
            created,
            change.ChangedAt,
            false);
    }

    private static string? NameFromPath(string? path)
    {
        if (string.IsNullOrEmpty(path))
        {
            return null;
        }

        string trimmed = path.TrimEnd('/');
        int slash = trimmed.LastIndexOf('/');
        string name = slash < 0 ? trimmed : trimmed[(slash + 1)..];
        return name.Length == 0 ? null : name;
    }

    /// <summary>Namespace epochs stamped after a feed request went out and before its answer was applied.</summary>
    private readonly record struct EpochWindow(long After, long UpTo)
    {
        public bool IsLocal(long epoch) => epoch > After && epoch <= UpTo;
    }

    private enum ChangeOutcome
    {
        /// <summary>Already reflected (our own change coming back, or superseded within its batch): no work at all.</summary>
        Ignored,
        Applied,
        Deferred,
    }

    /// <summary>A namespace request of this mount in flight (see <see cref="ExpectOwnPlace"/>); dispose when it is over.</summary>
    private sealed class OwnChange(VfsFileSystem fs, Node? node, bool delete) : IDisposable
    {
        // Written before registration or under the namespace gate; read under it.
        private readonly List<(Node Parent, string Name)> _places = new(1);

        /// <summary>The node changed; null for a folder being created (known by place only until the answer).</summary>
        public Node? Node { get; } = node;

        public bool Delete { get; } = delete;

        public IReadOnlyList<(Node Parent, string Name)> Places => _places;

        /// <summary>A place the node passes through on the server (a move that also renames takes two requests).</summary>
        public void AlsoAt(Node? parent, string name)
        {
            if (parent is not null)
            {
                lock (fs._gate)
                {
                    _places.Add((parent, name));
                }
            }
        }

        public bool Expects(Node? parent, string? name)
        {
            foreach ((Node p, string n) in _places)
            {
                if (p == parent && string.Equals(n, name, StringComparison.Ordinal))
                {
                    return true;
                }
            }

            return false;
        }

        public void Dispose() => fs.EndOwnChange(this);
    }

    private sealed record FollowedShares(IReadOnlyList<ShareId> Shares, DateTimeOffset FetchedAt);
}
