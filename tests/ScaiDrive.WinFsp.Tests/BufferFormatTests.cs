using System.Buffers.Binary;
using System.Runtime.InteropServices;
using ScaiDrive.WinFsp.Interop;
using Xunit;

namespace ScaiDrive.WinFsp.Tests;

/// <summary>The byte formats we produce for the driver: directory buffers, notify buffers, security descriptors.</summary>
public sealed class BufferFormatTests
{
    private static FspFileInfo Info(ulong index) => new() { FileAttributes = Win32.FileAttributeArchive, FileSize = index * 10, IndexNumber = index };

    [Fact]
    public void DirInfo_EntriesAreAlignedTo8AndEndWithZeroSize()
    {
        byte[] buffer = new byte[1024];
        DirInfoWriter writer = new(buffer);
        Assert.True(writer.TryAdd(Info(1), "a.txt"));          // 104 + 10 = 114 → 120
        Assert.Equal(120, writer.BytesTransferred);
        Assert.True(writer.TryAdd(Info(2), "Bericht.docx"));   // 104 + 24 = 128 → 128
        Assert.Equal(248, writer.BytesTransferred);
        Assert.True(writer.TryAddEnd());
        Assert.Equal(250, writer.BytesTransferred);

        Assert.Equal(114, BinaryPrimitives.ReadUInt16LittleEndian(buffer));
        Assert.Equal(128, BinaryPrimitives.ReadUInt16LittleEndian(buffer.AsSpan(120)));
        Assert.Equal(0, BinaryPrimitives.ReadUInt16LittleEndian(buffer.AsSpan(248)));
        // FileInfo sits at offset 8 of each entry (FSP_FSCTL_DIR_INFO), IndexNumber at 8 + 56.
        Assert.Equal(2ul, BinaryPrimitives.ReadUInt64LittleEndian(buffer.AsSpan(120 + 8 + 56)));
        Assert.Equal("a.txt", MemoryMarshal.Cast<byte, char>(buffer.AsSpan(104, 10)).ToString());

        (List<(string Name, FspFileInfo Info)> entries, bool complete) = DirInfoWriter.Parse(buffer.AsSpan(0, writer.BytesTransferred));
        Assert.True(complete);
        Assert.Equal(["a.txt", "Bericht.docx"], entries.Select(e => e.Name));
        Assert.Equal(20ul, entries[1].Info.FileSize);
    }

    [Fact]
    public void DirInfo_AnEntryThatDoesNotFitIsNotWrittenAndNoEndMark()
    {
        byte[] buffer = new byte[200];
        DirInfoWriter writer = new(buffer);
        Assert.True(writer.TryAdd(Info(1), "first"));     // 114 → 120
        Assert.False(writer.TryAdd(Info(2), "second"));   // 116 → 120 more: 240 > 200
        Assert.Equal(120, writer.BytesTransferred);
        (List<(string, FspFileInfo)> entries, bool complete) = DirInfoWriter.Parse(buffer.AsSpan(0, writer.BytesTransferred));
        Assert.Single(entries);
        Assert.False(complete);
    }

    [Fact]
    public void DirInfo_EndMarkNeedsOnlyTwoBytes()
    {
        byte[] buffer = new byte[122];
        DirInfoWriter writer = new(buffer);
        Assert.True(writer.TryAdd(Info(1), "first"));
        Assert.True(writer.TryAddEnd());
        Assert.Equal(122, writer.BytesTransferred);
        Assert.False(new DirInfoWriter(new byte[1]).TryAddEnd());
    }

    [Fact]
    public void NotifyBuffer_EntriesCarryFilterActionAndFullPath()
    {
        NotifyBuffer buffer = new();
        buffer.Add(Win32.FileNotifyChangeFileName, Win32.FileActionAdded, @"\Team\new.txt");
        buffer.Add(Win32.FileNotifyChangeSize, Win32.FileActionModified, @"\a");
        byte[] bytes = buffer.ToArray();
        // 12 + 26 = 38 → 40; 12 + 4 = 16.
        Assert.Equal(40 + 16, bytes.Length);
        Assert.Equal(38, BinaryPrimitives.ReadUInt16LittleEndian(bytes));
        Assert.Equal(Win32.FileActionAdded, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8)));
        List<(uint Filter, uint Action, string Path)> parsed = NotifyBuffer.Parse(bytes);
        Assert.Equal([@"\Team\new.txt", @"\a"], parsed.Select(p => p.Path));
        Assert.Equal(Win32.FileNotifyChangeSize, parsed[1].Filter);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void SecurityDescriptor_IsSelfRelativeWithAdministratorsOwnerAndThreeAces(bool writable)
    {
        byte[] sd = writable ? SecurityDescriptors.Writable : SecurityDescriptors.ReadOnly;
        Assert.Equal(1, sd[0]);
        ushort control = BinaryPrimitives.ReadUInt16LittleEndian(sd.AsSpan(2));
        Assert.Equal(0x8000 | 0x1000 | 0x0004, control);
        int owner = (int)BinaryPrimitives.ReadUInt32LittleEndian(sd.AsSpan(4));
        int dacl = (int)BinaryPrimitives.ReadUInt32LittleEndian(sd.AsSpan(16));
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(sd.AsSpan(12)));
        // S-1-5-32-544: revision 1, two sub-authorities, authority 5, 32, 544.
        Assert.Equal(new byte[] { 1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 0x20, 2, 0, 0 }, sd.AsSpan(owner, 16).ToArray());
        Assert.Equal(2, sd[dacl]);
        ushort aclSize = BinaryPrimitives.ReadUInt16LittleEndian(sd.AsSpan(dacl + 2));
        Assert.Equal(sd.Length - dacl, aclSize);
        Assert.Equal(3, BinaryPrimitives.ReadUInt16LittleEndian(sd.AsSpan(dacl + 4)));
        // The third ACE is Everyone's: FA when writable, FRFX otherwise.
        int third = dacl + 8 + (8 + 12) + (8 + 16);
        uint mask = BinaryPrimitives.ReadUInt32LittleEndian(sd.AsSpan(third + 4));
        Assert.Equal(writable ? 0x001F01FFu : 0x001200A9u, mask);
        Assert.Equal(new byte[] { 1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0 }, sd.AsSpan(third + 8, 12).ToArray());
    }

    [Fact]
    public unsafe void CopySecurityDescriptor_ReportsTheNeededSizeWhenTooSmall()
    {
        byte[] sd = SecurityDescriptors.Writable;
        byte* small = stackalloc byte[8];
        nuint size = 8;
        Assert.Equal(NtStatus.BufferOverflow, FspCallbacks.CopySecurityDescriptor(sd, small, &size));
        Assert.Equal((nuint)sd.Length, size);

        byte[] target = new byte[256];
        size = (nuint)target.Length;
        fixed (byte* p = target)
        {
            Assert.Equal(NtStatus.Success, FspCallbacks.CopySecurityDescriptor(sd, p, &size));
        }

        Assert.Equal((nuint)sd.Length, size);
        Assert.Equal(sd, target.AsSpan(0, sd.Length).ToArray());
        Assert.Equal(NtStatus.Success, FspCallbacks.CopySecurityDescriptor(sd, null, null));
    }

    [Fact]
    public unsafe void NormalizedName_IsWrittenInBytesWithoutNulWhenItFits()
    {
        char* buffer = stackalloc char[32];
        FspOpenFileInfo info = new() { NormalizedName = buffer, NormalizedNameSize = 64 };
        FspCallbacks.SetNormalizedName(&info, @"\Docs\Plan.txt");
        Assert.Equal(28, info.NormalizedNameSize);
        Assert.Equal(@"\Docs\Plan.txt", new string(buffer, 0, 14));

        info.NormalizedNameSize = 4;
        FspCallbacks.SetNormalizedName(&info, @"\Docs\Plan.txt");
        Assert.Equal(4, info.NormalizedNameSize);
    }
}
