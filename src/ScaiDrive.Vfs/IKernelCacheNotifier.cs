namespace ScaiDrive.Vfs;

/// <summary>
/// Implemented by an adapter to drop what the OS kernel caches for a node. The core calls it from its own
/// background dispatcher thread, never from inside a filesystem callback and never while holding a lock a
/// callback needs (libfuse's deadlock rule), so implementations may call the kernel synchronously.
/// </summary>
public interface IKernelCacheNotifier
{
    /// <summary>Forget the dentry <paramref name="name"/> in <paramref name="parentInode"/> (positive or negative).</summary>
    void InvalidateEntry(ulong parentInode, string name);

    /// <summary>Forget the attributes of <paramref name="inode"/>; when <paramref name="content"/> is true, its cached pages too.</summary>
    void InvalidateInode(ulong inode, bool content);
}
