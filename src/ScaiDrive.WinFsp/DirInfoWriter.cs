using System.Runtime.InteropServices;
using ScaiDrive.WinFsp.Interop;

namespace ScaiDrive.WinFsp;

/// <summary>
/// Fills a ReadDirectory buffer exactly as the DLL's FspFileSystemAddDirInfo does: each FSP_FSCTL_DIR_INFO followed by
/// its name (UTF-16, no NUL), each entry starting on an 8-byte boundary; a two-byte zero size marks the end of the
/// directory. A buffer without that end mark tells the driver to ask again with the last name as the marker.
/// Written in managed code so that it runs and is tested on Linux.
/// </summary>
internal ref struct DirInfoWriter(Span<byte> buffer)
{
    private readonly Span<byte> _buffer = buffer;

    public int BytesTransferred { get; private set; }

    /// <summary>Adds one entry; false (and nothing written) when it does not fit.</summary>
    public bool TryAdd(in FspFileInfo fileInfo, ReadOnlySpan<char> name)
    {
        int entrySize = FspDirInfo.FileNameOffset + (name.Length * sizeof(char));
        if (entrySize > ushort.MaxValue)
        {
            return false;
        }

        int aligned = FspLayout.AlignUp(entrySize);
        if (BytesTransferred + aligned > _buffer.Length)
        {
            return false;
        }

        Span<byte> entry = _buffer.Slice(BytesTransferred, entrySize);
        entry[..FspDirInfo.Size].Clear();
        FspDirInfo header = default;
        header.EntrySize = (ushort)entrySize;
        header.FileInfo = fileInfo;
        MemoryMarshal.Write(entry, in header);
        MemoryMarshal.AsBytes(name).CopyTo(entry[FspDirInfo.FileNameOffset..]);
        BytesTransferred += aligned;
        return true;
    }

    /// <summary>Adds the end-of-directory mark; false when even its two bytes do not fit (the driver asks again).</summary>
    public bool TryAddEnd()
    {
        if (BytesTransferred + sizeof(ushort) > _buffer.Length)
        {
            return false;
        }

        _buffer.Slice(BytesTransferred, sizeof(ushort)).Clear();
        BytesTransferred += sizeof(ushort);
        return true;
    }

    /// <summary>Reads a filled buffer back (tests, diagnostics): the entries and whether the end mark was seen.</summary>
    public static (List<(string Name, FspFileInfo Info)> Entries, bool Complete) Parse(ReadOnlySpan<byte> buffer)
    {
        List<(string, FspFileInfo)> entries = [];
        int at = 0;
        while (at + sizeof(ushort) <= buffer.Length)
        {
            ushort size = MemoryMarshal.Read<ushort>(buffer[at..]);
            if (size == 0)
            {
                return (entries, true);
            }

            FspDirInfo header = MemoryMarshal.Read<FspDirInfo>(buffer[at..]);
            ReadOnlySpan<char> name = MemoryMarshal.Cast<byte, char>(buffer.Slice(at + FspDirInfo.FileNameOffset, size - FspDirInfo.FileNameOffset));
            entries.Add((new string(name), header.FileInfo));
            at += FspLayout.AlignUp(size);
        }

        return (entries, false);
    }
}

/// <summary>Builds the buffer of FspFileSystemNotify: FSP_FSCTL_NOTIFY_INFO entries, 8-byte aligned, full paths.</summary>
internal sealed class NotifyBuffer
{
    private readonly List<byte> _bytes = [];

    public int Count { get; private set; }

    public void Add(uint filter, uint action, string path)
    {
        int size = FspNotifyInfo.Size + (path.Length * sizeof(char));
        byte[] entry = new byte[FspLayout.AlignUp(size)];
        FspNotifyInfo header = new() { EntrySize = (ushort)size, Filter = filter, Action = action };
        MemoryMarshal.Write(entry, in header);
        MemoryMarshal.AsBytes(path.AsSpan()).CopyTo(entry.AsSpan(FspNotifyInfo.Size));
        _bytes.AddRange(entry);
        Count++;
    }

    public byte[] ToArray() => [.. _bytes];

    public static List<(uint Filter, uint Action, string Path)> Parse(ReadOnlySpan<byte> buffer)
    {
        List<(uint, uint, string)> result = [];
        int at = 0;
        while (at + FspNotifyInfo.Size <= buffer.Length)
        {
            FspNotifyInfo header = MemoryMarshal.Read<FspNotifyInfo>(buffer[at..]);
            if (header.EntrySize < FspNotifyInfo.Size)
            {
                break;
            }

            ReadOnlySpan<char> name = MemoryMarshal.Cast<byte, char>(buffer.Slice(at + FspNotifyInfo.Size, header.EntrySize - FspNotifyInfo.Size));
            result.Add((header.Filter, header.Action, new string(name)));
            at += FspLayout.AlignUp(header.EntrySize);
        }

        return result;
    }
}
