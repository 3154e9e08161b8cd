using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using ScaiDrive.WinFsp.Interop;
using Xunit;

namespace ScaiDrive.WinFsp.Tests;

/// <summary>
/// Sizes and offsets of the managed mirrors against WinFsp 2.x's headers (inc/winfsp/fsctl.h and inc/winfsp/winfsp.h
/// at winfsp/winfsp commit 43af829d / 74bb51ae). Sizes marked "static_assert" are asserted by the header itself; the
/// offsets were computed by hand from the header's field list with MSVC x64 alignment rules.
/// </summary>
public sealed class StructLayoutTests
{
    private static int Offset<T>(string field) => (int)Marshal.OffsetOf<T>(field);

    [Fact]
    public void VolumeParams_IsThe504ByteV1Struct()
    {
        // fsctl.h: FSP_FSCTL_STATIC_ASSERT(504 == sizeof(FSP_FSCTL_VOLUME_PARAMS), ...)
        Assert.Equal(504, Unsafe.SizeOf<FspVolumeParams>());
        Assert.Equal(504, Marshal.SizeOf<FspVolumeParams>());
    }

    [Theory]
    // fsctl.h FSP_FSCTL_VOLUME_PARAMS_V0_FIELD_DEFN: 4 x UINT16, then UINT64 at 8.
    [InlineData(nameof(FspVolumeParams.Version), 0)]
    [InlineData(nameof(FspVolumeParams.SectorSize), 2)]
    [InlineData(nameof(FspVolumeParams.SectorsPerAllocationUnit), 4)]
    [InlineData(nameof(FspVolumeParams.MaxComponentLength), 6)]
    [InlineData(nameof(FspVolumeParams.VolumeCreationTime), 8)]
    [InlineData(nameof(FspVolumeParams.VolumeSerialNumber), 16)]
    [InlineData(nameof(FspVolumeParams.TransactTimeout), 20)]
    [InlineData(nameof(FspVolumeParams.IrpTimeout), 24)]
    [InlineData(nameof(FspVolumeParams.IrpCapacity), 28)]
    [InlineData(nameof(FspVolumeParams.FileInfoTimeout), 32)]
    // The 32 bit fields (CaseSensitiveSearch..KmReservedFlags) share one UINT32 at 36.
    [InlineData(nameof(FspVolumeParams.Flags), 36)]
    // WCHAR Prefix[FSP_FSCTL_VOLUME_PREFIX_SIZE / sizeof(WCHAR)] = 192 chars at 40, FileSystemName[16] at 40 + 384.
    [InlineData(nameof(FspVolumeParams.Prefix), 40)]
    [InlineData(nameof(FspVolumeParams.FileSystemName), 424)]
    // V1 fields start at 456 == sizeof(FSP_FSCTL_VOLUME_PARAMS_V0) (static_assert in fsctl.h).
    [InlineData(nameof(FspVolumeParams.AdditionalFlags), 456)]
    [InlineData(nameof(FspVolumeParams.VolumeInfoTimeout), 460)]
    [InlineData(nameof(FspVolumeParams.DirInfoTimeout), 464)]
    [InlineData(nameof(FspVolumeParams.SecurityTimeout), 468)]
    [InlineData(nameof(FspVolumeParams.StreamInfoTimeout), 472)]
    [InlineData(nameof(FspVolumeParams.EaTimeout), 476)]
    [InlineData(nameof(FspVolumeParams.FsextControlCode), 480)]
    [InlineData(nameof(FspVolumeParams.Reserved32), 484)]
    [InlineData(nameof(FspVolumeParams.Reserved64), 488)]
    public void VolumeParams_FieldOffsets(string field, int expected) => Assert.Equal(expected, Offset<FspVolumeParams>(field));

    [Fact]
    public void VolumeParams_FlagBitsFollowHeaderOrder()
    {
        // Bit positions = order of the UINT32 x:1 fields in FSP_FSCTL_VOLUME_PARAMS_V0_FIELD_DEFN (MSVC fills from bit 0);
        // the same values appear as constants in winfsp's src/dotnet/Interop.cs.
        Assert.Equal(0x00000001u, (uint)FspVolumeFlags.CaseSensitiveSearch);
        Assert.Equal(0x00000002u, (uint)FspVolumeFlags.CasePreservedNames);
        Assert.Equal(0x00000008u, (uint)FspVolumeFlags.PersistentAcls);
        Assert.Equal(0x00000200u, (uint)FspVolumeFlags.ReadOnlyVolume);
        Assert.Equal(0x00000400u, (uint)FspVolumeFlags.PostCleanupWhenModifiedOnly);
        Assert.Equal(0x00010000u, (uint)FspVolumeFlags.UmFileContextIsUserContext2);
        Assert.Equal(0x00020000u, (uint)FspVolumeFlags.UmFileContextIsFullContext);
        Assert.Equal(0x01000000u, (uint)FspVolumeFlags.AllowOpenInKernelMode);
        Assert.Equal(0x08000000u, (uint)FspVolumeFlags.DirectoryMarkerAsNextOffset);
        Assert.Equal(0x20000000u, (uint)FspVolumeFlags.SupportsPosixUnlinkRename);
        Assert.Equal(0x00000002u, (uint)FspVolumeAdditionalFlags.DirInfoTimeoutValid);
    }

    [Fact]
    public void VolumeInfo_Is88Bytes()
    {
        // fsctl.h: FSP_FSCTL_STATIC_ASSERT(88 == sizeof(FSP_FSCTL_VOLUME_INFO), ...)
        Assert.Equal(88, Marshal.SizeOf<FspVolumeInfo>());
        Assert.Equal(0, Offset<FspVolumeInfo>(nameof(FspVolumeInfo.TotalSize)));
        Assert.Equal(8, Offset<FspVolumeInfo>(nameof(FspVolumeInfo.FreeSize)));
        Assert.Equal(16, Offset<FspVolumeInfo>(nameof(FspVolumeInfo.VolumeLabelLength)));
        Assert.Equal(18, Offset<FspVolumeInfo>(nameof(FspVolumeInfo.VolumeLabel)));
    }

    [Fact]
    public void FileInfo_Is72BytesInHeaderOrder()
    {
        // fsctl.h: FSP_FSCTL_STATIC_ASSERT(72 == sizeof(FSP_FSCTL_FILE_INFO), ...)
        Assert.Equal(72, Marshal.SizeOf<FspFileInfo>());
        string[] fields =
        [
            nameof(FspFileInfo.FileAttributes), nameof(FspFileInfo.ReparseTag), nameof(FspFileInfo.AllocationSize),
            nameof(FspFileInfo.FileSize), nameof(FspFileInfo.CreationTime), nameof(FspFileInfo.LastAccessTime),
            nameof(FspFileInfo.LastWriteTime), nameof(FspFileInfo.ChangeTime), nameof(FspFileInfo.IndexNumber),
            nameof(FspFileInfo.HardLinks), nameof(FspFileInfo.EaSize),
        ];
        int[] expected = [0, 4, 8, 16, 24, 32, 40, 48, 56, 64, 68];
        Assert.Equal(expected, fields.Select(Offset<FspFileInfo>).ToArray());
    }

    [Fact]
    public void OpenFileInfo_PutsNormalizedNameAfterFileInfo()
    {
        // fsctl.h FSP_FSCTL_OPEN_FILE_INFO: FILE_INFO (72), PWSTR at 72, UINT16 at 80, padded to 88.
        Assert.Equal(72, Offset<FspOpenFileInfo>(nameof(FspOpenFileInfo.NormalizedName)));
        Assert.Equal(80, Offset<FspOpenFileInfo>(nameof(FspOpenFileInfo.NormalizedNameSize)));
        Assert.Equal(88, Marshal.SizeOf<FspOpenFileInfo>());
    }

    [Fact]
    public void DirInfo_Is104BytesWithFileInfoAt8()
    {
        // fsctl.h: FSP_FSCTL_STATIC_ASSERT(104 == sizeof(FSP_FSCTL_DIR_INFO), ...); UINT16 Size, FILE_INFO aligned to 8,
        // then the 24-byte union (NextOffset / Padding), then FileNameBuf[].
        Assert.Equal(104, Marshal.SizeOf<FspDirInfo>());
        Assert.Equal(0, Offset<FspDirInfo>(nameof(FspDirInfo.EntrySize)));
        Assert.Equal(8, Offset<FspDirInfo>(nameof(FspDirInfo.FileInfo)));
        Assert.Equal(80, Offset<FspDirInfo>(nameof(FspDirInfo.NextOffset)));
        Assert.Equal(104, FspDirInfo.FileNameOffset);
    }

    [Fact]
    public void NotifyInfo_Is12Bytes()
    {
        // fsctl.h: FSP_FSCTL_STATIC_ASSERT(12 == sizeof(FSP_FSCTL_NOTIFY_INFO), ...)
        Assert.Equal(12, Marshal.SizeOf<FspNotifyInfo>());
        Assert.Equal(4, Offset<FspNotifyInfo>(nameof(FspNotifyInfo.Filter)));
        Assert.Equal(8, Offset<FspNotifyInfo>(nameof(FspNotifyInfo.Action)));
    }

    [Fact]
    public void TransactResponse_Is128BytesWithIoStatusAt16()
    {
        // fsctl.h FSP_FSCTL_TRANSACT_RSP: 16-byte head, IoStatus {UINT32 Information; UINT32 Status} at 16, the Rsp union
        // at 24 whose largest member is Create.Opened (104 bytes), so 128 in all; Rsp.Write.FileInfo is at 24.
        Assert.Equal(128, Marshal.SizeOf<FspTransactResponse>());
        Assert.Equal(4, Offset<FspTransactResponse>(nameof(FspTransactResponse.Kind)));
        Assert.Equal(8, Offset<FspTransactResponse>(nameof(FspTransactResponse.Hint)));
        Assert.Equal(16, Offset<FspTransactResponse>(nameof(FspTransactResponse.IoStatusInformation)));
        Assert.Equal(20, Offset<FspTransactResponse>(nameof(FspTransactResponse.IoStatusStatus)));
        Assert.Equal(24, Offset<FspTransactResponse>(nameof(FspTransactResponse.WriteFileInfo)));
    }

    [Fact]
    public void TransactRequest_HintAt8And88BytesInAll()
    {
        // fsctl.h FSP_FSCTL_TRANSACT_REQ: head (16), Req union at 16 whose largest member is SetInformation (64),
        // FileName buffer descriptor at 80, Buffer[] aligned to 8 at 88.
        Assert.Equal(88, Marshal.SizeOf<FspTransactRequestHeader>());
        Assert.Equal(8, Offset<FspTransactRequestHeader>(nameof(FspTransactRequestHeader.Hint)));
    }

    [Fact]
    public void TransactKinds_MatchHeaderEnum()
    {
        // fsctl.h enum: Reserved=0, Create, Overwrite, Cleanup, Close, Read=5, Write=6, ..., QueryDirectory=14.
        Assert.Equal(5u, FspTransactKind.Read);
        Assert.Equal(6u, FspTransactKind.Write);
        Assert.Equal(14u, FspTransactKind.QueryDirectory);
    }

    [Fact]
    public void FileSystem_Is792BytesWithUserContextAt8()
    {
        // winfsp.h: FSP_FSCTL_STATIC_ASSERT(... 8 == sizeof(PVOID) && 792 == sizeof(FSP_FILE_SYSTEM) ...)
        Assert.Equal(792, Marshal.SizeOf<FspFileSystemHeader>());
        Assert.Equal(8, Offset<FspFileSystemHeader>(nameof(FspFileSystemHeader.UserContext)));
        // VolumeName: FSP_FSCTL_VOLUME_NAME_SIZEMAX = (64 + 192) WCHARs = 512 bytes from 16 → VolumeHandle at 528.
        Assert.Equal(528, Offset<FspFileSystemHeader>(nameof(FspFileSystemHeader.VolumeHandle)));
        // Operations[FspFsctlTransactKindCount = 22] at 552 → Interface at 552 + 176.
        Assert.Equal(552, Offset<FspFileSystemHeader>(nameof(FspFileSystemHeader.Operations)));
        Assert.Equal(728, Offset<FspFileSystemHeader>(nameof(FspFileSystemHeader.Interface)));
        Assert.Equal(752, Offset<FspFileSystemHeader>(nameof(FspFileSystemHeader.MountPoint)));
    }

    [Fact]
    public void OperationContext_IsTwoPointers()
    {
        Assert.Equal(16, Marshal.SizeOf<FspOperationContext>());
    }

    [Fact]
    public void Interface_Has64SlotsInHeaderOrder()
    {
        // winfsp.h: static_assert(sizeof(FSP_FILE_SYSTEM_INTERFACE) == 64 * sizeof(NTSTATUS (*)()), ...)
        Assert.Equal(64 * 8, Marshal.SizeOf<FspFileSystemInterface>());
        string[] headerOrder =
        [
            "GetVolumeInfo", "SetVolumeLabel", "GetSecurityByName", "Create", "Open", "Overwrite", "Cleanup", "Close",
            "Read", "Write", "Flush", "GetFileInfo", "SetBasicInfo", "SetFileSize", "CanDelete", "Rename", "GetSecurity",
            "SetSecurity", "ReadDirectory", "ResolveReparsePoints", "GetReparsePoint", "SetReparsePoint",
            "DeleteReparsePoint", "GetStreamInfo", "GetDirInfoByName", "Control", "SetDelete", "CreateEx", "OverwriteEx",
            "GetEa", "SetEa", "Obsolete0",
        ];
        for (int slot = 0; slot < headerOrder.Length; slot++)
        {
            Assert.Equal(slot, FspCallbacks.InterfaceSlotOf(headerOrder[slot]));
        }

        Assert.Equal(32, FspCallbacks.InterfaceSlotOf("Reserved"));
    }

    [Fact]
    public unsafe void Interface_FillSetsTheOperationsWeImplementAndNothingElse()
    {
        FspFileSystemInterface table = default;
        FspCallbacks.Fill(&table);
        nint* slots = (nint*)&table;
        int[] implemented = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 18, 26];
        for (int slot = 0; slot < FspFileSystemInterface.SlotCount; slot++)
        {
            Assert.True(implemented.Contains(slot) == (slots[slot] != 0), $"slot {slot}");
        }
    }

    [Fact]
    public void VolumeParams_PrefixAndNameAreNulTerminatedAndTruncated()
    {
        FspVolumeParams p = default;
        p.SetPrefix(@"\scaidrive\Team");
        p.SetFileSystemName(new string('x', 40));
        Assert.Equal(@"\scaidrive\Team", p.GetPrefix());
        Assert.Equal(15, p.GetFileSystemName().Length); // 16 chars with the NUL
    }

    [Fact]
    public void VolumeInfo_LabelLengthIsInBytesAndCappedAt32Chars()
    {
        FspVolumeInfo info = default;
        info.SetVolumeLabel("ScaiDrive");
        Assert.Equal(18, info.VolumeLabelLength);
        Assert.Equal("ScaiDrive", info.GetVolumeLabel());
        info.SetVolumeLabel(new string('L', 50));
        Assert.Equal(64, info.VolumeLabelLength);
    }
}
