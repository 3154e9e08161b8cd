using ScaiDrive.Vfs;
using ScaiDrive.WinFsp.Interop;

namespace ScaiDrive.WinFsp;

internal sealed partial class WinFspFileSystem
{
    /// <summary>A path resolved to a node, with the stored case of every component.</summary>
    /// <param name="HoldsLookupReference">Whether the core counted a kernel reference for <paramref name="Entry"/> (false for the root).</param>
    private readonly record struct Resolved(VfsEntry Entry, string Path, bool HoldsLookupReference);

    /// <summary>
    /// Walks a WinFsp path from the root, case-insensitively and case-preserving: each component is first looked up
    /// with its exact case (the common case: names come from listings); when that misses, the parent's listing is
    /// searched with OrdinalIgnoreCase. When the server holds several names that differ only by case (it should not,
    /// §21.9 of the API notes, but old data may), an exact match wins, otherwise the ordinally smallest name. The
    /// others stay visible in listings and reachable by their exact names. On success the final node carries one
    /// kernel reference in the core (see <see cref="ReleaseLookup"/>); intermediate references are dropped here.
    /// </summary>
    private async ValueTask<Resolved> ResolveAsync(string path, CancellationToken cancellationToken)
    {
        string[] components = SplitPath(path);
        if (components.Length == 0)
        {
            VfsAttributes root = await _vfs.GetAttributesAsync(VfsFileSystem.RootInode, cancellationToken).ConfigureAwait(false);
            return new Resolved(new VfsEntry(root), "\\", HoldsLookupReference: false);
        }

        ulong parent = VfsFileSystem.RootInode;
        bool parentHeld = false;
        string resolvedPath = string.Empty;
        try
        {
            for (int i = 0; ; i++)
            {
                (VfsEntry entry, string storedName) found;
                try
                {
                    found = await LookupChildAsync(parent, components[i], cancellationToken).ConfigureAwait(false);
                }
                catch (VfsException ex) when (ex.Code is VfsErrorCode.NotFound or VfsErrorCode.NotADirectory && i < components.Length - 1)
                {
                    throw new NtStatusException(NtStatus.ObjectPathNotFound, $"A folder on the way to '{path}' does not exist.");
                }

                if (parentHeld)
                {
                    _vfs.Forget(parent, 1);
                }

                resolvedPath += "\\" + found.storedName;
                if (i == components.Length - 1)
                {
                    parentHeld = false;
                    RememberPath(found.entry.Inode, resolvedPath);
                    return new Resolved(found.entry, resolvedPath, HoldsLookupReference: true);
                }

                if (found.entry.Attributes.Kind != VfsNodeKind.Directory)
                {
                    _vfs.Forget(found.entry.Inode, 1);
                    parentHeld = false;
                    throw new NtStatusException(NtStatus.ObjectPathNotFound, $"'{resolvedPath}' is a file, not a folder.");
                }

                parent = found.entry.Inode;
                parentHeld = true;
            }
        }
        finally
        {
            if (parentHeld)
            {
                _vfs.Forget(parent, 1);
            }
        }
    }

    /// <summary>One case-insensitive lookup; returns the entry (one kernel reference) and the name as stored.</summary>
    private async ValueTask<(VfsEntry Entry, string StoredName)> LookupChildAsync(ulong parent, string name, CancellationToken cancellationToken)
    {
        try
        {
            VfsEntry exact = await _vfs.LookupAsync(parent, name, ignoreCase: false, cancellationToken).ConfigureAwait(false);
            return (exact, name);
        }
        catch (VfsException ex) when (ex.Code == VfsErrorCode.NotFound)
        {
            IReadOnlyList<VfsDirectoryEntry> listing = await _vfs.ReadDirectoryAsync(parent, cancellationToken).ConfigureAwait(false);
            string? stored = FindStoredName(listing, name);
            if (stored is null)
            {
                throw;
            }

            VfsEntry entry = await _vfs.LookupAsync(parent, stored, ignoreCase: false, cancellationToken).ConfigureAwait(false);
            return (entry, stored);
        }
    }

    /// <summary>The stored name matching <paramref name="name"/> under Windows rules (exact first, then ordinal-smallest case-insensitive match).</summary>
    internal static string? FindStoredName(IReadOnlyList<VfsDirectoryEntry> listing, string name)
    {
        string? best = null;
        foreach (VfsDirectoryEntry entry in listing)
        {
            if (string.Equals(entry.Name, name, StringComparison.Ordinal))
            {
                return entry.Name;
            }

            if (string.Equals(entry.Name, name, StringComparison.OrdinalIgnoreCase)
                && (best is null || string.CompareOrdinal(entry.Name, best) < 0))
            {
                best = entry.Name;
            }
        }

        return best;
    }

    private void ReleaseLookup(in Resolved resolved)
    {
        if (resolved.HoldsLookupReference)
        {
            _vfs.Forget(resolved.Entry.Inode, 1);
        }
    }

    /// <summary>Splits "\a\b" into ["a", "b"]; rejects names WinFsp would not send to a file system without streams.</summary>
    internal static string[] SplitPath(string path)
    {
        string[] components = path.Split('\\', StringSplitOptions.RemoveEmptyEntries);
        foreach (string component in components)
        {
            if (component is "." or ".." || component.Contains(':') || component.Contains('/'))
            {
                throw new NtStatusException(NtStatus.ObjectNameInvalid, $"'{path}' is not a valid name here.");
            }
        }

        return components;
    }

    /// <summary>"\a\b\c" → ("\a\b", "c"); "\c" → ("\", "c").</summary>
    internal static (string ParentPath, string Name) SplitParent(string path)
    {
        string trimmed = path.TrimEnd('\\');
        int slash = trimmed.LastIndexOf('\\');
        string parent = slash <= 0 ? "\\" : trimmed[..slash];
        string name = trimmed[(slash + 1)..];
        if (name.Length == 0)
        {
            throw new NtStatusException(NtStatus.ObjectNameInvalid, "The root has no parent.");
        }

        return (parent, name);
    }

    private static string Combine(string parentPath, string name) => parentPath == "\\" ? "\\" + name : parentPath + "\\" + name;
}
