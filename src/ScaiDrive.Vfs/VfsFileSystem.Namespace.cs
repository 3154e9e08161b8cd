using System.Text;
using Microsoft.Extensions.Caching.Memory;
using ScaiDrive.Client;
using ScaiDrive.Vfs.Errors;
using ScaiDrive.Vfs.Kernel;
using ScaiDrive.Vfs.Namespace;
using ScaiDrive.Vfs.State;
using ScaiDrive.Vfs.Writing;

namespace ScaiDrive.Vfs;

// The node table and its caches. A directory's children live in its Node; the MemoryCache only says for how long a
// listing (or a file's attributes, or a negative answer) is trusted before the server is asked again. Our own
// mutations update the children in place and keep the listing trusted; everything learnt from the server replaces
// what was there, and whatever the kernel may hold for a changed node is queued for invalidation.
public sealed partial class VfsFileSystem
{
    private const uint DefaultFileMode = 0b110_100_100;      // 0644
    private const uint DefaultDirectoryMode = 0b111_101_101; // 0755
    private const uint WriteBits = 0b010_010_010;            // 0222

    /// <summary>
    /// TTL of attributes in the kernel: <see cref="VfsOptions.FollowedMetadataTimeout"/> while the change feed's push
    /// channel is connected (remote changes are then invalidated explicitly as they arrive),
    /// <see cref="VfsOptions.AttributeTimeout"/> otherwise. Read at every reply, so it follows the channel. The core's
    /// own listings keep the short TTL: a listing fetched while a local rename was on its way to the server can show
    /// the old name, and only the next fetch corrects it (rsync's temporary names stayed visible for minutes).
    /// </summary>
    public TimeSpan CurrentAttributeTimeout => RemoteChangesPushed ? _options.FollowedMetadataTimeout : _options.AttributeTimeout;

    /// <summary>TTL of positive directory entries in the kernel; see <see cref="CurrentAttributeTimeout"/>.</summary>
    public TimeSpan CurrentEntryTimeout => RemoteChangesPushed ? _options.FollowedMetadataTimeout : _options.EntryTimeout;

    /// <summary>The change feed's push channel is connected: remote changes arrive (and are invalidated) within moments.</summary>
    public bool RemoteChangesPushed => _follower is { SocketConnected: true };

    // ---- public namespace queries ----------------------------------------------------------------

    /// <summary>Looks up a child. Each success is one kernel reference to the returned inode (see <see cref="Forget"/>).</summary>
    public async ValueTask<VfsEntry> LookupAsync(ulong parentInode, string name, bool ignoreCase = false, CancellationToken cancellationToken = default)
    {
        try
        {
            Node parent = GetDirectory(parentInode);
            string normalized = ValidateLookupName(name);
            Node child = await FindChildAsync(parent, normalized, ignoreCase, cancellationToken).ConfigureAwait(false)
                ?? throw NotFound(name);
            await RefreshFileIfStaleAsync(child, cancellationToken).ConfigureAwait(false);
            lock (_gate)
            {
                child.LookupCount++;
                return new VfsEntry(AttributesOf(child));
            }
        }
        catch (Exception ex) when (ApiErrorMapper.IsTranslatable(ex))
        {
            throw Fail(ex, "lookup");
        }
    }

    /// <summary>Drops <paramref name="count"/> kernel references; an inode with none left and no open handle may be forgotten.</summary>
    public void Forget(ulong inode, ulong count)
    {
        lock (_gate)
        {
            if (inode == RootInode || !_byInode.TryGetValue(inode, out Node? node))
            {
                return;
            }

            node.LookupCount = count >= (ulong)node.LookupCount ? 0 : node.LookupCount - (long)count;
            MaybeForgetUnsynchronized(node);
        }
    }

    /// <summary>Resolves a '/'-separated path from the root (WinFsp; tests). Case-insensitive when asked. Not a kernel reference.</summary>
    public async ValueTask<VfsEntry> ResolvePathAsync(string path, bool ignoreCase = false, CancellationToken cancellationToken = default)
    {
        try
        {
            Node node = await ResolveNodeAsync(path, ignoreCase, cancellationToken).ConfigureAwait(false);
            await RefreshFileIfStaleAsync(node, cancellationToken).ConfigureAwait(false);
            lock (_gate)
            {
                return new VfsEntry(AttributesOf(node));
            }
        }
        catch (Exception ex) when (ApiErrorMapper.IsTranslatable(ex))
        {
            throw Fail(ex, "resolve");
        }
    }

    public async ValueTask<VfsAttributes> GetAttributesAsync(ulong inode, CancellationToken cancellationToken = default)
    {
        try
        {
            Node node = GetNode(inode);
            await RefreshFileIfStaleAsync(node, cancellationToken).ConfigureAwait(false);
            lock (_gate)
            {
                return AttributesOf(node);
            }
        }
        catch (Exception ex) when (ApiErrorMapper.IsTranslatable(ex))
        {
            throw Fail(ex, "getattr");
        }
    }

    /// <summary>The whole listing, sorted by name; entries carry attributes and count as lookups only when the adapter says so.</summary>
    public async ValueTask<IReadOnlyList<VfsDirectoryEntry>> ReadDirectoryAsync(ulong inode, CancellationToken cancellationToken = default)
    {
        try
        {
            Node dir = GetDirectory(inode);
            await EnsureListingAsync(dir, cancellationToken).ConfigureAwait(false);
            lock (_gate)
            {
                var entries = new List<VfsDirectoryEntry>(dir.Children!.Count);
                foreach ((string name, Node child) in dir.Children)
                {
                    entries.Add(new VfsDirectoryEntry(name, AttributesOf(child)));
                }

                entries.Sort(static (a, b) => string.CompareOrdinal(a.Name, b.Name));
                return entries;
            }
        }
        catch (Exception ex) when (ApiErrorMapper.IsTranslatable(ex))
        {
            throw Fail(ex, "readdir");
        }
    }

    /// <summary>Tells the core that an adapter handed <paramref name="inode"/> to the kernel from a listing (readdirplus): one more reference.</summary>
    public void AddLookupReference(ulong inode)
    {
        lock (_gate)
        {
            if (_byInode.TryGetValue(inode, out Node? node))
            {
                node.LookupCount++;
            }
        }
    }

    public async ValueTask<VfsStatFs> StatFsAsync(ulong inode, CancellationToken cancellationToken = default)
    {
        const long Unlimited = 1L << 50; // 1 PiB: what df shows for a share without a quota.
        const long Files = 1L << 32;
        try
        {
            Node node = GetNode(inode);
            long used;
            long? quota;
            if (node.Type == NodeType.VirtualRoot)
            {
                QuotaInfo info = await _client.GetMyQuotaAsync(cancellationToken).ConfigureAwait(false);
                (used, quota) = (info.UsedBytes, info.QuotaBytes);
            }
            else
            {
                ShareInfo share = await GetShareInfoAsync(node.ShareId, cancellationToken).ConfigureAwait(false);
                (used, quota) = (share.UsedBytes, share.QuotaBytes);
            }

            MarkConnected();
            long total = quota ?? used + Unlimited;
            long free = Math.Max(0, total - used);
            return new VfsStatFs(total, free, Files, Files, 4096, Names.MaxNameBytes);
        }
        catch (Exception ex) when (ApiErrorMapper.IsTranslatable(ex))
        {
            throw Fail(ex, "statfs");
        }
    }

    // ---- extended attributes (read-only) ---------------------------------------------------------

    private const string IdAttribute = "user.scaidrive.id";
    private const string VersionAttribute = "user.scaidrive.version";
    private const string ChecksumAttribute = "user.scaidrive.checksum_sha256";

    /// <summary>Names of the read-only attributes: user.scaidrive.id, user.scaidrive.version, user.scaidrive.checksum_sha256.</summary>
    public ValueTask<IReadOnlyList<string>> ListExtendedAttributesAsync(ulong inode, CancellationToken cancellationToken = default)
    {
        Node node = GetNode(inode);
        var names = new List<string>(3);
        lock (_gate)
        {
            if (IdOf(node) is not null)
            {
                names.Add(IdAttribute);
            }

            if (node.Type == NodeType.File && node.FileId is not null)
            {
                names.Add(VersionAttribute);
                if (node.ChecksumSha256 is not null)
                {
                    names.Add(ChecksumAttribute);
                }
            }
        }

        return ValueTask.FromResult<IReadOnlyList<string>>(names);
    }

    /// <summary>The value, or null when the node has no such attribute.</summary>
    public ValueTask<byte[]?> GetExtendedAttributeAsync(ulong inode, string name, CancellationToken cancellationToken = default)
    {
        Node node = GetNode(inode);
        string? value;
        lock (_gate)
        {
            value = name switch
            {
                IdAttribute => IdOf(node),
                VersionAttribute when node.Type == NodeType.File && node.FileId is not null => node.Version.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ChecksumAttribute when node.Type == NodeType.File && node.FileId is not null => node.ChecksumSha256,
                _ => null,
            };
        }

        return ValueTask.FromResult(value is null ? null : Encoding.UTF8.GetBytes(value));
    }

    // ---- node table ------------------------------------------------------------------------------

    private Node GetNode(ulong inode)
    {
        lock (_gate)
        {
            return _byInode.TryGetValue(inode, out Node? node)
                ? node
                : throw new VfsException(VfsErrorCode.NotFound, $"inode {inode} is not known (forgotten or never looked up)");
        }
    }

    private Node GetDirectory(ulong inode)
    {
        Node node = GetNode(inode);
        return node.IsDirectory ? node : throw new VfsException(VfsErrorCode.NotADirectory, $"inode {inode} is not a directory");
    }

    private static VfsException NotFound(string name) => new(VfsErrorCode.NotFound, $"'{name}' does not exist");

    /// <summary>Lookups of names the server could never hold answer NotFound, except a too-long name (ENAMETOOLONG, as POSIX says).</summary>
    private static string ValidateLookupName(string name)
    {
        try
        {
            return Names.Validate(name);
        }
        catch (VfsException ex) when (ex.Code == VfsErrorCode.InvalidName)
        {
            throw new VfsException(VfsErrorCode.NotFound, ex.Message, ex);
        }
    }

    private async Task<Node> ResolveNodeAsync(string path, bool ignoreCase, CancellationToken cancellationToken)
    {
        Node node = _root;
        foreach (string segment in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!node.IsDirectory)
            {
                throw new VfsException(VfsErrorCode.NotADirectory, $"'{path}': a component is not a directory");
            }

            node = await FindChildAsync(node, ValidateLookupName(segment), ignoreCase, cancellationToken).ConfigureAwait(false)
                ?? throw NotFound(path);
        }

        return node;
    }

    private async Task<Node?> FindChildAsync(Node parent, string name, bool ignoreCase, CancellationToken cancellationToken)
    {
        if (!ignoreCase && _cache.TryGetValue(NegativeKey(parent.Inode, name), out _))
        {
            return null;
        }

        await EnsureListingAsync(parent, cancellationToken).ConfigureAwait(false);
        lock (_gate)
        {
            if (FindChildUnsynchronized(parent, name, ignoreCase) is { } child)
            {
                return child;
            }

            if (!ignoreCase)
            {
                // Under the gate, like PlaceUnsynchronized's removal of it: set after the lock, a name placed meanwhile
                // (a create, the target of a rename) would be hidden by a stale "does not exist" for the entry timeout.
                _cache.Set(NegativeKey(parent.Inode, name), true, _options.NegativeEntryTimeout);
            }
        }

        return null;
    }

    private static Node? FindChildUnsynchronized(Node parent, string name, bool ignoreCase)
    {
        if (parent.Children!.TryGetValue(name, out Node? child))
        {
            return child;
        }

        if (ignoreCase)
        {
            foreach ((string childName, Node candidate) in parent.Children)
            {
                if (Names.SiblingComparer.Equals(childName, name))
                {
                    return candidate;
                }
            }
        }

        return null;
    }

    /// <summary>A sibling whose name equals <paramref name="name"/> ignoring case but is neither of the given nodes: the server could not hold both.</summary>
    private static Node? CaseClashUnsynchronized(Node parent, string name, Node? except1, Node? except2)
    {
        foreach ((string childName, Node candidate) in parent.Children!)
        {
            if (candidate != except1 && candidate != except2 && Names.SiblingComparer.Equals(childName, name))
            {
                return candidate;
            }
        }

        return null;
    }

    private async Task EnsureListingAsync(Node dir, CancellationToken cancellationToken)
    {
        if (_cache.TryGetValue(ListingKey(dir.Inode), out _))
        {
            return;
        }

        Task fetch;
        lock (_gate)
        {
            // One fetch per directory, shared: it runs to completion even if the first caller gives up.
            fetch = dir.ListingTask ??= Task.Run(() => FetchListingAsync(dir));
        }

        await fetch.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task FetchListingAsync(Node dir)
    {
        try
        {
            for (int attempt = 0; ; attempt++)
            {
                long version;
                long mark;
                lock (_gate)
                {
                    version = dir.ChildrenVersion;
                    mark = _namespaceEpoch;
                }

                IReadOnlyList<ShareInfo>? shares = null;
                FolderListing? listing = null;
                if (dir.Type == NodeType.VirtualRoot)
                {
                    shares = await _client.ListMySharesAsync(CancellationToken.None).ConfigureAwait(false);
                }
                else
                {
                    ShareId shareId;
                    FolderId? folderId;
                    lock (_gate)
                    {
                        (shareId, folderId) = (dir.ShareId, dir.FolderId);
                    }

                    listing = await _client.ListChildrenAsync(shareId, folderId, includeDeleted: false, CancellationToken.None).ConfigureAwait(false);
                }

                MarkConnected();
                lock (_gate)
                {
                    if (dir.ChildrenVersion != version && attempt < 2)
                    {
                        // A local mutation landed while the listing was in flight: the answer may predate it.
                        LogListingRaced(dir.Inode);
                        continue;
                    }

                    // Whatever still changed here after the request was sent is newer than the answer and stays as
                    // it is (see EpochWindow); the rest takes the server's view.
                    var window = new EpochWindow(mark, _namespaceEpoch);
                    if (shares is not null)
                    {
                        ApplySharesUnsynchronized(dir, shares, window);
                    }
                    else
                    {
                        ApplyListingUnsynchronized(dir, listing!, window);
                    }
                }

                _cache.Set(ListingKey(dir.Inode), true, _options.AttributeTimeout);
                return;
            }
        }
        finally
        {
            lock (_gate)
            {
                dir.ListingTask = null;
            }
        }
    }

    private void ApplySharesUnsynchronized(Node root, IReadOnlyList<ShareInfo> shares, EpochWindow window)
    {
        var seen = new HashSet<Node>();
        var taken = new HashSet<string>(Names.SiblingComparer);
        foreach (ShareInfo share in shares.OrderBy(s => s.CreatedAt ?? DateTimeOffset.MaxValue).ThenBy(s => s.Id.Value, StringComparer.Ordinal))
        {
            string name = UniqueShareName(share.Name, taken);
            if (!_byId.TryGetValue(share.Id.Value, out Node? node))
            {
                node = new Node(_inodes.GetOrAssign(share.Id.Value), NodeType.ShareRoot, share.Id, name);
                _byInode[node.Inode] = node;
                _byId[share.Id.Value] = node;
            }

            node.Share = share;
            node.CreatedAt = share.CreatedAt ?? _startedAt;
            node.ModifiedAt = node.CreatedAt;
            _cache.Set(ShareKey(share.Id), share, _options.AttributeTimeout);
            PlaceUnsynchronized(node, root, name, notify: true);
            seen.Add(node);
        }

        DetachMissingUnsynchronized(root, seen, window);
    }

    /// <summary>Share names are not unique; the root needs unique, storable directory names: "Name", "Name (2)", …</summary>
    private static string UniqueShareName(string shareName, HashSet<string> taken)
    {
        string baseName = shareName.Replace('/', '_').Replace('\\', '_').Replace('\0', '_');
        if (baseName.Length == 0 || baseName is "." or "..")
        {
            baseName = "share";
        }

        string name = baseName;
        for (int i = 2; !taken.Add(name); i++)
        {
            name = $"{baseName} ({i})";
        }

        return name;
    }

    /// <param name="window">
    /// Epochs stamped after the request was sent: nodes placed, detached or landed then are newer than the answer, and
    /// objects this mount deleted then (or is deleting) are not brought back.
    /// </param>
    private void ApplyListingUnsynchronized(Node dir, FolderListing listing, EpochWindow window)
    {
        var seen = new HashSet<Node>();
        foreach (FolderItem folder in listing.Folders)
        {
            if (IsBuriedUnsynchronized(folder.Id.Value, window))
            {
                continue;
            }

            Node node = NodeForFolderUnsynchronized(folder);
            if (PlaceListedUnsynchronized(node, dir, folder.Name, window))
            {
                seen.Add(node);
            }
        }

        foreach (FileItem file in listing.Files)
        {
            if (IsBuriedUnsynchronized(file.Id.Value, window)
                || (!_byId.ContainsKey(file.Id.Value) && IsAbandonedPlaceUnsynchronized(dir, file.Name)))
            {
                continue;
            }

            Node node = NodeForFileUnsynchronized(file);
            if (PlaceListedUnsynchronized(node, dir, file.Name, window))
            {
                seen.Add(node);
            }
        }

        for (int i = _unplaced.Count - 1; i >= 0; i--)
        {
            Node pending = _unplaced[i];
            if (pending.PendingRequest is { } request && request.Target.ShareId == dir.ShareId && request.Target.FolderId == dir.FolderId)
            {
                _unplaced.RemoveAt(i);
                PlaceUnsynchronized(pending, dir, request.Target.Name, notify: false);
            }
        }

        DetachMissingUnsynchronized(dir, seen, window);
    }

    /// <summary>
    /// Places a listed node unless this mount moved, removed or replaced it (or the node at that name) after the
    /// listing was requested: then the local state is newer than the answer and wins.
    /// </summary>
    private bool PlaceListedUnsynchronized(Node node, Node dir, string name, EpochWindow window)
    {
        if (window.IsLocal(node.PlacedEpoch))
        {
            return false;
        }

        if (dir.Children!.TryGetValue(name, out Node? occupant) && occupant != node && window.IsLocal(occupant.PlacedEpoch))
        {
            return false;
        }

        return PlaceUnsynchronized(node, dir, name, notify: true);
    }

    /// <summary>
    /// Children the server no longer lists are gone, except files that exist only here so far and children this mount
    /// placed, uploaded, renamed or moved after the listing was requested or is changing right now (the answer may
    /// predate that).
    /// </summary>
    private void DetachMissingUnsynchronized(Node dir, HashSet<Node> seen, EpochWindow window)
    {
        List<Node>? gone = null;
        foreach (Node child in dir.Children!.Values)
        {
            if (!seen.Contains(child)
                && !IsLocalOnly(child)
                && !window.IsLocal(child.PlacedEpoch)
                && !window.IsLocal(child.ServerChangedEpoch)
                && !HasOwnChangeInFlightUnsynchronized(child))
            {
                (gone ??= new()).Add(child);
            }
        }

        if (gone is null)
        {
            return;
        }

        foreach (Node child in gone)
        {
            _invalidations.Enqueue(Invalidation.Entry(dir.Inode, child.Name));
            DetachUnsynchronized(child);
        }
    }

    /// <summary>
    /// A place a local-only file left while its first upload was under way (see <see cref="Node.AbandonedPlaces"/>):
    /// an unknown file listed there is most likely that upload, committed although it was cancelled, and about to be
    /// adopted or trashed. Showing it would bring the old name back.
    /// </summary>
    private bool IsAbandonedPlaceUnsynchronized(Node dir, string name)
    {
        foreach (Node node in _abandoning)
        {
            foreach ((Node parent, string left) in node.AbandonedPlaces ?? [])
            {
                if (parent == dir && string.Equals(left, name, StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }
        }

        return false;
    }

    private bool HasOwnChangeInFlightUnsynchronized(Node node)
    {
        foreach (OwnChange own in _ownChanges)
        {
            if (own.Node == node)
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsLocalOnly(Node node) => node.Type == NodeType.File && node.FileId is null;

    private Node NodeForFolderUnsynchronized(FolderItem folder)
    {
        if (!_byId.TryGetValue(folder.Id.Value, out Node? node))
        {
            node = new Node(_inodes.GetOrAssign(folder.Id.Value), NodeType.Folder, folder.ShareId, folder.Name) { FolderId = folder.Id, Detached = true };
            _byInode[node.Inode] = node;
            _byId[folder.Id.Value] = node;
            if (_overlay.TryGet(folder.Id.Value, 0, out OverlayEntry entry))
            {
                ApplyOverlay(node, entry);
            }
        }

        node.ShareId = folder.ShareId;
        node.CreatedAt = folder.CreatedAt;
        node.ModifiedAt = folder.ModifiedAt;
        return node;
    }

    private Node NodeForFileUnsynchronized(FileItem file)
    {
        if (!_byId.TryGetValue(file.Id.Value, out Node? node))
        {
            node = new Node(_inodes.GetOrAssign(file.Id.Value), NodeType.File, file.ShareId, file.Name) { FileId = file.Id, Detached = true };
            _byInode[node.Inode] = node;
            _byId[file.Id.Value] = node;
        }

        ApplyFileMetadataUnsynchronized(node, file);
        return node;
    }

    /// <summary>Takes the server's view of a file's content. A version we do not have means new content made elsewhere.</summary>
    private void ApplyFileMetadataUnsynchronized(Node node, FileItem file)
    {
        node.ShareId = file.ShareId;
        if (node.Version != 0 && file.Version < node.Version)
        {
            return; // A listing older than what our own upload already told us.
        }

        bool known = node.Version != 0;
        bool changed = known && file.Version != node.Version;
        node.RemoteSize = file.Size;
        node.Version = file.Version;
        node.VersionId = file.VersionId;
        node.ChecksumSha256 = file.ChecksumSha256;
        node.CreatedAt = file.CreatedAt;
        node.ModifiedAt = file.ModifiedAt;
        if (changed)
        {
            // The mode and times set here belonged to the old content.
            node.LocalMode = null;
            node.LocalModifiedAt = null;
            node.LocalAccessedAt = null;
            _overlay.Remove(file.Id.Value);
            _reader.Invalidate(file.Id);
            _invalidations.Enqueue(Invalidation.Attributes(node.Inode, content: true));
        }
        else if (!known && _overlay.TryGet(file.Id.Value, file.Version, out OverlayEntry entry))
        {
            ApplyOverlay(node, entry);
        }

        _cache.Set(AttributesKey(node.Inode), true, _options.AttributeTimeout);
    }

    private static void ApplyOverlay(Node node, OverlayEntry entry)
    {
        node.LocalMode = entry.Mode;
        node.LocalModifiedAt = entry.ModifiedAt;
        node.LocalAccessedAt = entry.AccessedAt;
    }

    /// <summary>
    /// Puts <paramref name="node"/> at <paramref name="dir"/>/<paramref name="name"/>. A remote node never displaces a
    /// file that exists only locally (its upload will meet the clash and keep both); returns false then.
    /// </summary>
    private bool PlaceUnsynchronized(Node node, Node dir, string name, bool notify)
    {
        if (node.Parent == dir && node.Name == name && !node.Detached && dir.Children!.TryGetValue(name, out Node? current) && current == node)
        {
            return true;
        }

        if (dir.Children!.TryGetValue(name, out Node? occupant) && occupant != node)
        {
            if (notify && IsLocalOnly(occupant))
            {
                return false;
            }

            if (notify)
            {
                _invalidations.Enqueue(Invalidation.Entry(dir.Inode, name));
            }

            DetachUnsynchronized(occupant);
        }

        if (!node.Detached && node.Parent is { } oldParent)
        {
            if (oldParent.Children!.TryGetValue(node.Name, out Node? mapped) && mapped == node)
            {
                oldParent.Children.Remove(node.Name);
                oldParent.ChildrenVersion++;
                if (notify)
                {
                    _invalidations.Enqueue(Invalidation.Entry(oldParent.Inode, node.Name));
                }
            }
        }

        dir.Children[name] = node;
        dir.ChildrenVersion++;
        node.Parent = dir;
        node.Name = name;
        node.Detached = false;
        node.PlacedEpoch = ++_namespaceEpoch;
        dir.ChildrenEpoch = _namespaceEpoch;
        _cache.Remove(NegativeKey(dir.Inode, name));
        return true;
    }

    private void DetachUnsynchronized(Node node)
    {
        if (node.Parent is { } parent && parent.Children!.TryGetValue(node.Name, out Node? mapped) && mapped == node)
        {
            parent.Children.Remove(node.Name);
            parent.ChildrenVersion++;
            parent.ChildrenEpoch = _namespaceEpoch + 1;
        }

        node.Detached = true;
        node.PlacedEpoch = ++_namespaceEpoch;
        MaybeForgetUnsynchronized(node);
    }

    /// <summary>Drops a node nobody can reach any more: detached, no kernel reference, no handle, no pending upload.</summary>
    private void MaybeForgetUnsynchronized(Node node)
    {
        if (!node.Detached || node.LookupCount > 0 || node.OpenHandles > 0 || node.PendingRequest is not null || node.Inode == RootInode)
        {
            return;
        }

        _byInode.Remove(node.Inode);
        _abandoning.Remove(node);
        if (IdOf(node) is { } id && _byId.TryGetValue(id, out Node? mapped) && mapped == node)
        {
            _byId.Remove(id);
        }

        if (node.Staged is { } staged && _byKey.TryGetValue(staged.Key, out Node? byKey) && byKey == node)
        {
            _byKey.Remove(staged.Key);
            node.Staged = null;
            staged.Delete();
        }

        _cache.Remove(AttributesKey(node.Inode));
        _cache.Remove(ListingKey(node.Inode));
    }

    private static string? IdOf(Node node) => node.Type switch
    {
        NodeType.File => node.FileId?.Value,
        NodeType.Folder => node.FolderId?.Value,
        NodeType.ShareRoot => node.ShareId.Value,
        _ => null,
    };

    private VfsAttributes AttributesOf(Node node)
    {
        bool readOnly = _options.ReadOnly || RoleOfUnsynchronized(node) == ShareRole.Viewer;
        if (node.IsDirectory)
        {
            DateTimeOffset created = node.CreatedAt == default ? _startedAt : node.CreatedAt;
            DateTimeOffset modified = node.LocalModifiedAt ?? (node.ModifiedAt == default ? created : node.ModifiedAt);
            uint dirMode = node.LocalMode ?? DefaultDirectoryMode;
            int subdirectories = 0;
            foreach (Node child in node.Children!.Values)
            {
                if (child.IsDirectory)
                {
                    subdirectories++;
                }
            }

            return new VfsAttributes(node.Inode, VfsNodeKind.Directory, 4096, readOnly ? dirMode & ~WriteBits : dirMode, modified, modified, created, node.LocalAccessedAt ?? modified)
            {
                SubdirectoryCount = subdirectories,
            };
        }

        StagedFile? staged = node.Staged;
        long size = staged?.Length ?? node.RemoteSize;
        DateTimeOffset mtime = node.LocalModifiedAt ?? staged?.ModifiedAt ?? node.ModifiedAt;
        uint mode = node.LocalMode ?? DefaultFileMode;
        DateTimeOffset createdAt = node.CreatedAt == default ? mtime : node.CreatedAt;
        return new VfsAttributes(node.Inode, VfsNodeKind.File, size, readOnly ? mode & ~WriteBits : mode, mtime, mtime, createdAt, node.LocalAccessedAt ?? mtime);
    }

    private ShareRole? RoleOfUnsynchronized(Node node)
    {
        if (node.Type == NodeType.VirtualRoot)
        {
            return null;
        }

        if (_root.Type == NodeType.ShareRoot)
        {
            return _root.Share?.Role;
        }

        return _byId.TryGetValue(node.ShareId.Value, out Node? share) ? share.Share?.Role : null;
    }

    private string PathOf(Node node)
    {
        lock (_gate)
        {
            var parts = new Stack<string>();
            for (Node? n = node; n is not null && n.Inode != RootInode; n = n.Parent)
            {
                parts.Push(n.Name);
                if (n.Detached)
                {
                    break;
                }
            }

            return "/" + string.Join('/', parts);
        }
    }

    /// <summary>A clean file's attributes are re-read from the server when its TTL ran out; a staged file's are ours.</summary>
    private async Task RefreshFileIfStaleAsync(Node node, CancellationToken cancellationToken)
    {
        FileId id;
        lock (_gate)
        {
            if (node.Type != NodeType.File || node.FileId is null || node.Staged is not null || node.Detached || _cache.TryGetValue(AttributesKey(node.Inode), out _))
            {
                return;
            }

            id = node.FileId.Value;
        }

        FileItem file;
        try
        {
            file = await _client.GetFileAsync(id, cancellationToken).ConfigureAwait(false);
        }
        catch (ScaiDriveApiException ex) when (ex.Kind is ScaiDriveErrorKind.NotFound or ScaiDriveErrorKind.Gone)
        {
            lock (_gate)
            {
                if (node.Parent is { } parent && !node.Detached && node.Staged is null)
                {
                    _invalidations.Enqueue(Invalidation.Entry(parent.Inode, node.Name));
                    DetachUnsynchronized(node);
                }
            }

            throw;
        }

        MarkConnected();
        lock (_gate)
        {
            if (node.FileId == file.Id)
            {
                ApplyFileMetadataUnsynchronized(node, file);
            }
        }
    }

    // ---- shares: roles and quotas ----------------------------------------------------------------

    private async Task<ShareInfo> GetShareInfoAsync(ShareId shareId, CancellationToken cancellationToken)
    {
        if (_cache.TryGetValue(ShareKey(shareId), out ShareInfo? cached) && cached is not null)
        {
            return cached;
        }

        ShareInfo share = await _client.GetShareAsync(shareId, cancellationToken).ConfigureAwait(false);
        _cache.Set(ShareKey(shareId), share, _options.AttributeTimeout);
        lock (_gate)
        {
            if (_byId.TryGetValue(shareId.Value, out Node? node) && node.Type == NodeType.ShareRoot)
            {
                node.Share = share;
            }
        }

        return share;
    }

    /// <summary>Errors known before any write: read-only mount (ReadOnly), the virtual root or a viewer's share (AccessDenied).</summary>
    private async Task EnsureWritableAsync(Node node, CancellationToken cancellationToken)
    {
        if (_options.ReadOnly)
        {
            throw new VfsException(VfsErrorCode.ReadOnly, "the mount is read-only");
        }

        if (node.Type == NodeType.VirtualRoot)
        {
            throw new VfsException(VfsErrorCode.AccessDenied, "the root lists shares; create files inside a share");
        }

        ShareInfo share = await GetShareInfoAsync(node.ShareId, cancellationToken).ConfigureAwait(false);
        if (share.Role == ShareRole.Viewer)
        {
            throw new VfsException(VfsErrorCode.AccessDenied, $"viewer role on share '{share.Name}'");
        }
    }

    /// <summary>A full quota is known before the write: QuotaExceeded at once (EDQUOT) rather than a failed upload later.</summary>
    private async Task EnsureQuotaAsync(ShareId shareId, long growth, CancellationToken cancellationToken)
    {
        ShareInfo share = await GetShareInfoAsync(shareId, cancellationToken).ConfigureAwait(false);
        CheckQuota(share, growth);
    }

    private static void CheckQuota(ShareInfo share, long growth)
    {
        if (share.QuotaBytes is { } quota && (share.UsedBytes >= quota || (growth > 0 && share.UsedBytes + growth > quota)))
        {
            throw new VfsException(VfsErrorCode.QuotaExceeded, $"share '{share.Name}' quota is full");
        }
    }

    // ---- recovery --------------------------------------------------------------------------------

    /// <summary>Files a previous run wrote but did not upload reappear as local nodes (placed by their folder's next listing).</summary>
    private void AdoptRecovered(IReadOnlyList<PendingUpload> pending)
    {
        lock (_gate)
        {
            AdoptRecoveredUnsynchronized(pending);
            _recoveryAdopted = true;
        }

        List<(StagedFileKey Key, long Generation, FileItem? Item, UploadFailure? Failure)> early;
        lock (_gate)
        {
            early = [.. _earlyResults];
            _earlyResults.Clear();
        }

        foreach ((StagedFileKey key, long generation, FileItem? item, UploadFailure? failure) in early)
        {
            if (item is not null)
            {
                OnUploaded(key, generation, item);
            }
            else
            {
                OnUploadFailed(key, failure!);
            }
        }
    }

    private void AdoptRecoveredUnsynchronized(IReadOnlyList<PendingUpload> pending)
    {
        if (pending.Count == 0)
        {
            return;
        }

        LogRecovered(pending.Count);
        {
            foreach (PendingUpload item in pending)
            {
                UploadRequest request = item.Request;
                StagedFile staged;
                try
                {
                    staged = StagedFile.Open(request.Key, request.StagedPath, request.Length);
                }
                catch (IOException)
                {
                    continue; // The queue owns the record; without its staged file there is nothing to show.
                }

                Node node;
                if (request.Target.ReplaceFileId is { } fileId)
                {
                    if (!_byId.TryGetValue(fileId.Value, out node!))
                    {
                        node = new Node(_inodes.GetOrAssign(fileId.Value), NodeType.File, request.Target.ShareId, request.Target.Name)
                        {
                            FileId = fileId,
                            Detached = true,
                        };
                        _byId[fileId.Value] = node;
                    }
                }
                else
                {
                    node = new Node(_inodes.GetOrAssign(request.Key.Value), NodeType.File, request.Target.ShareId, request.Target.Name) { Detached = true };
                    _unplaced.Add(node);
                }

                node.Staged = staged;
                node.StagedBaseVersionId = request.Target.BaseVersionId;
                node.Generation = request.Generation;
                node.PendingRequest = request;
                _byInode[node.Inode] = node;
                _byKey[request.Key] = node;
            }
        }
    }

    // ---- cache keys ------------------------------------------------------------------------------

    private static string ListingKey(ulong inode) => "dir:" + inode;

    private static string AttributesKey(ulong inode) => "attr:" + inode;

    private static string NegativeKey(ulong parentInode, string name) => "neg:" + parentInode + "/" + name;

    private static string ShareKey(ShareId shareId) => "share:" + shareId.Value;
}
