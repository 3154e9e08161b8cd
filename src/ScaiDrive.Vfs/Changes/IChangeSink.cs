using ScaiDrive.Client;

namespace ScaiDrive.Vfs.Changes;

/// <summary>What the follower feeds: the core applies changes to its caches and the kernel's (VfsFileSystem.Changes.cs).</summary>
internal interface IChangeSink
{
    /// <summary>The shares whose feeds to follow (one for a share mount; every share of the user for the multi-share root).</summary>
    ValueTask<IReadOnlyList<ShareId>> GetFollowedSharesAsync(CancellationToken cancellationToken);

    /// <summary>
    /// A mark of the core's namespace taken just before a feed request: a node whose place changed after it (a local
    /// rename, say) may be newer than what the answer says about it.
    /// </summary>
    long MarkBeforePull();

    /// <summary>
    /// Applies one batch, in feed order, answered to a request made after <paramref name="mark"/>. Must be
    /// idempotent: a batch may be applied again after a crash.
    /// </summary>
    ValueTask ApplyChangesAsync(ShareId share, IReadOnlyList<ChangeEntry> changes, long mark, CancellationToken cancellationToken);

    /// <summary>The cursor expired: re-read everything cached of <paramref name="share"/> (listings, attributes).</summary>
    Task RescanAsync(ShareId share, CancellationToken cancellationToken);
}
