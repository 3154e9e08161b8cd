using ScaiDrive.Vfs;
using ScaiDrive.WinFsp.Interop;

namespace ScaiDrive.WinFsp;

internal sealed partial class WinFspFileSystem
{
    private const uint AttributeChangeFilter =
        Win32.FileNotifyChangeAttributes | Win32.FileNotifyChangeSize | Win32.FileNotifyChangeLastWrite;

    /// <summary>
    /// Turns the core's "forget the entry <paramref name="name"/> in <paramref name="parentInode"/>" into a change
    /// notification by name: the entry is looked up again to tell Windows whether it was added, modified or removed,
    /// so Explorer updates the folder it shows. Null when the parent's path is unknown (never shown to Windows).
    /// </summary>
    internal async ValueTask<(uint Filter, uint Action, string Path)?> DescribeEntryChangeAsync(ulong parentInode, string name, CancellationToken cancellationToken)
    {
        string? parentPath = parentInode == VfsFileSystem.RootInode ? "\\" : _knownPaths.GetValueOrDefault(parentInode);
        if (parentPath is null)
        {
            return null;
        }

        string path = Combine(parentPath, name);
        try
        {
            (VfsEntry entry, string stored) = await LookupChildAsync(parentInode, name, cancellationToken).ConfigureAwait(false);
            _vfs.Forget(entry.Inode, 1);
            uint filter = (entry.Attributes.Kind == VfsNodeKind.Directory ? Win32.FileNotifyChangeDirName : Win32.FileNotifyChangeFileName) | AttributeChangeFilter;
            bool known = _knownPaths.ContainsKey(entry.Inode);
            string storedPath = Combine(parentPath, stored);
            RememberPath(entry.Inode, storedPath);
            return (filter, known ? Win32.FileActionModified : Win32.FileActionAdded, storedPath);
        }
        catch (VfsException ex) when (ex.Code == VfsErrorCode.NotFound)
        {
            return (Win32.FileNotifyChangeFileName | Win32.FileNotifyChangeDirName, Win32.FileActionRemoved, path);
        }
    }

    /// <summary>The notification for "the attributes (and maybe content) of <paramref name="inode"/> changed", if it has a known path.</summary>
    internal (uint Filter, uint Action, string Path)? DescribeInodeChange(ulong inode) =>
        _knownPaths.TryGetValue(inode, out string? path) && path != "\\"
            ? (AttributeChangeFilter, Win32.FileActionModified, path)
            : null;
}
