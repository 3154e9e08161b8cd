using ScaiDrive.Vfs;
using ScaiDrive.WinFsp.Interop;

namespace ScaiDrive.WinFsp;

internal sealed partial class WinFspFileSystem
{
    /// <summary>
    /// The order of our listings, which markers rely on: case-insensitive (as Windows compares names), ties broken
    /// ordinally so that names differing only by case keep a stable order.
    /// </summary>
    internal static readonly IComparer<string> s_directoryOrder = Comparer<string>.Create((a, b) =>
    {
        int c = string.Compare(a, b, StringComparison.OrdinalIgnoreCase);
        return c != 0 ? c : string.CompareOrdinal(a, b);
    });

    /// <summary>
    /// ReadDirectory: fills the driver's buffer with the entries after <paramref name="marker"/> (the last name of
    /// the previous call; null starts over and takes a fresh listing). "." and ".." come first except at the root.
    /// The driver filters by pattern itself. May return STATUS_PENDING when the listing must come from the server.
    /// </summary>
    public unsafe int ReadDirectory(ulong fileContext, string? pattern, string? marker, nint buffer, uint length, out uint bytesTransferred, ulong hint)
    {
        bytesTransferred = 0;
        if (!_openFiles.TryGetValue(fileContext, out OpenFile? file))
        {
            return NtStatus.InvalidParameter;
        }

        if (!file.IsDirectory)
        {
            return NtStatus.NotADirectory;
        }

        return StartIo(ct => ReadDirectoryCoreAsync(file, marker, buffer, (int)length, ct), FspTransactKind.QueryDirectory, hint, out bytesTransferred, out _);
    }

    private async ValueTask<IoResult> ReadDirectoryCoreAsync(OpenFile file, string? marker, nint buffer, int length, CancellationToken cancellationToken)
    {
        DirectorySnapshot? snapshot = file.Listing;
        if (marker is null || snapshot is null)
        {
            snapshot = await TakeSnapshotAsync(file, cancellationToken).ConfigureAwait(false);
            file.Listing = snapshot;
        }

        int written = FillDirectoryBuffer(snapshot, marker, buffer, length);
        return new IoResult(NtStatus.Success, (uint)written);
    }

    private async ValueTask<DirectorySnapshot> TakeSnapshotAsync(OpenFile file, CancellationToken cancellationToken)
    {
        IReadOnlyList<VfsDirectoryEntry> listing = await _vfs.ReadDirectoryAsync(file.Inode, cancellationToken).ConfigureAwait(false);
        VfsDirectoryEntry[] sorted = [.. listing];
        Array.Sort(sorted, (a, b) => s_directoryOrder.Compare(a.Name, b.Name));
        foreach (VfsDirectoryEntry entry in sorted)
        {
            RememberPath(entry.Attributes.Inode, Combine(file.Path, entry.Name));
        }

        bool isRoot = file.Path == "\\";
        VfsAttributes self = await _vfs.GetAttributesAsync(file.Inode, cancellationToken).ConfigureAwait(false);
        return new DirectorySnapshot(sorted, IncludeDotEntries: !isRoot, self, self);
    }

    private unsafe int FillDirectoryBuffer(DirectorySnapshot snapshot, string? marker, nint buffer, int length)
    {
        DirInfoWriter writer = new(new Span<byte>((void*)buffer, length));
        int start = 0;
        bool dot = snapshot.IncludeDotEntries && marker is null;
        bool dotDot = snapshot.IncludeDotEntries && (marker is null || marker == ".");
        if (marker is not null && marker is not "." and not "..")
        {
            start = FirstAfter(snapshot.Entries, marker);
        }

        if (dot && !writer.TryAdd(ToFileInfo(snapshot.Self), "."))
        {
            return writer.BytesTransferred;
        }

        if (dotDot && !writer.TryAdd(ToFileInfo(snapshot.Parent), ".."))
        {
            return writer.BytesTransferred;
        }

        for (int i = start; i < snapshot.Entries.Count; i++)
        {
            VfsDirectoryEntry entry = snapshot.Entries[i];
            if (!writer.TryAdd(ToFileInfo(entry.Attributes), entry.Name))
            {
                return writer.BytesTransferred;
            }
        }

        writer.TryAddEnd();
        return writer.BytesTransferred;
    }

    /// <summary>Index of the first entry strictly after <paramref name="marker"/> in directory order (the marker need not exist any more).</summary>
    private static int FirstAfter(IReadOnlyList<VfsDirectoryEntry> entries, string marker)
    {
        int low = 0;
        int high = entries.Count;
        while (low < high)
        {
            int middle = (low + high) >>> 1;
            if (s_directoryOrder.Compare(entries[middle].Name, marker) <= 0)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        return low;
    }
}
