using ScaiDrive.Client;
using ScaiDrive.Vfs.Writing;

namespace ScaiDrive.Vfs.Namespace;

internal enum NodeType
{
    /// <summary>Inode 1 when every share of the user is shown as a directory.</summary>
    VirtualRoot,
    /// <summary>The root folder of a share (no folder ID).</summary>
    ShareRoot,
    Folder,
    File,
}

/// <summary>
/// One inode. Identity (share, folder or file ID) and place (parent, name) are guarded by the file system's namespace
/// gate; content state (staged file, upload generation) by <see cref="ContentGate"/>, which is taken before the
/// namespace gate, never after (lock order: ContentGate → namespace gate → leaf locks of the overlay and inode map).
/// </summary>
internal sealed class Node
{
    public Node(ulong inode, NodeType type, ShareId shareId, string name)
    {
        Inode = inode;
        Type = type;
        ShareId = shareId;
        Name = name;
        if (type != NodeType.File)
        {
            Children = new Dictionary<string, Node>(StringComparer.Ordinal);
        }
    }

    public ulong Inode { get; }

    public NodeType Type { get; }

    public bool IsDirectory => Type != NodeType.File;

    public VfsNodeKind Kind => IsDirectory ? VfsNodeKind.Directory : VfsNodeKind.File;

    // ---- identity and place: guarded by the namespace gate --------------------------------------

    public ShareId ShareId { get; set; }

    public FolderId? FolderId { get; set; }

    /// <summary>Null for a file that exists only locally so far.</summary>
    public FileId? FileId { get; set; }

    /// <summary>
    /// What the first upload of a local-only file created on the server, from the moment the queue reports it until
    /// the core binds it (which waits for the content gate). A rename or unlink in that window must act on this file,
    /// or the server keeps it under the old name.
    /// </summary>
    public FileItem? Landed { get; set; }

    /// <summary>
    /// Places a local-only file left while its first upload was pending: the queue may have committed a copy there
    /// just as the rename cancelled it, so once the file lands at its final place these are checked for that copy.
    /// </summary>
    public List<(Node Parent, string Name)>? AbandonedPlaces { get; set; }

    public Node? Parent { get; set; }

    public string Name { get; set; }

    /// <summary>No longer reachable by name (unlinked, replaced, gone on the server); kept while referenced.</summary>
    public bool Detached { get; set; }

    /// <summary>Removed by this mount (unlink, or replaced by a rename): a late upload of it is deleted again.</summary>
    public bool Unlinked { get; set; }

    /// <summary>Children by exact name (directories only).</summary>
    public Dictionary<string, Node>? Children { get; }

    /// <summary>Bumped on every local change of <see cref="Children"/>, so a listing fetched meanwhile is refetched.</summary>
    public long ChildrenVersion { get; set; }

    /// <summary>The namespace epoch of the last change of this node's place (see VfsFileSystem.Changes.cs).</summary>
    public long PlacedEpoch { get; set; }

    /// <summary>
    /// The namespace epoch at which a request of this mount last changed the node on the server: its first upload
    /// landed, or a rename or move of it ended. A folder listing requested before that may lack the node; it must not
    /// take that absence for a deletion.
    /// </summary>
    public long ServerChangedEpoch { get; set; }

    /// <summary>The namespace epoch of the last change of <see cref="Children"/> (a child placed or detached).</summary>
    public long ChildrenEpoch { get; set; }

    /// <summary>The fetch of this directory's listing in progress, shared by concurrent callers.</summary>
    public Task? ListingTask { get; set; }

    /// <summary>Share roots in the multi-share root: the share as last listed.</summary>
    public ShareInfo? Share { get; set; }

    // ---- server metadata: guarded by the namespace gate ------------------------------------------

    public long RemoteSize { get; set; }

    public long Version { get; set; }

    public VersionId? VersionId { get; set; }

    public string? ChecksumSha256 { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset ModifiedAt { get; set; }

    /// <summary>Mode and times from setattr (the overlay's view of this node).</summary>
    public uint? LocalMode { get; set; }

    public DateTimeOffset? LocalModifiedAt { get; set; }

    public DateTimeOffset? LocalAccessedAt { get; set; }

    // ---- references: guarded by the namespace gate -----------------------------------------------

    public long LookupCount { get; set; }

    public int OpenHandles { get; set; }

    public int WritableHandles { get; set; }

    // ---- content: guarded by ContentGate (read without it where noted) ---------------------------

    public SemaphoreSlim ContentGate { get; } = new(1, 1);

    /// <summary>The local copy being written or waiting for upload; read without the gate by reads and stat.</summary>
    public StagedFile? Staged { get; set; }

    /// <summary>The version the staged copy was made from: the upload's base_version_id.</summary>
    public VersionId? StagedBaseVersionId { get; set; }

    /// <summary>Written since the last enqueue.</summary>
    public bool Dirty { get; set; }

    /// <summary>The staged content has never been handed to the upload queue (a new file must reach the server even if empty).</summary>
    public bool NeverEnqueued { get; set; }

    public long Generation { get; set; }

    /// <summary>The latest request handed to the upload queue and not yet confirmed uploaded.</summary>
    public UploadRequest? PendingRequest { get; set; }

    /// <summary>UploadQueue.Hold was called and no enqueue has followed yet.</summary>
    public bool Held { get; set; }

    public override string ToString() => $"{Inode}:{Name}";
}
