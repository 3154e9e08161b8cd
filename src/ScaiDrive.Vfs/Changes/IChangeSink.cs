using ScaiDrive.Client;

namespace ScaiDrive.Vfs.Changes;

/// <summary>What the follower feeds: the core applies changes to its caches and the kernel's (VfsFileSystem.Changes.cs).</summary>
internal interface IChangeSink
{
    /// <summary>The shares whose feeds to follow (one for a share mount; every share of the user for the multi-share root).</summary>
    ValueTask<IReadOnlyList<ShareId>> GetFollowedSharesAsync(CancellationToken cancellationToken);

    /// <summary>Applies one batch, in feed order. Must be idempotent: a batch may be applied again after a crash.</summary>
    ValueTask ApplyChangesAsync(ShareId share, IReadOnlyList<ChangeEntry> changes, CancellationToken cancellationToken);

    /// <summary>The cursor expired: re-read everything cached of <paramref name="share"/> (listings, attributes).</summary>
    Task RescanAsync(ShareId share, CancellationToken cancellationToken);
}
