using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ScaiDrive.WinFsp.Interop;

// Managed mirrors of the structs in WinFsp's inc/winfsp/fsctl.h and inc/winfsp/winfsp.h (WinFsp 2.x, the
// header version recorded in src/ScaiDrive.WinFsp/README.md). Field order, sizes and offsets are checked by
// tests/ScaiDrive.WinFsp.Tests/StructLayoutTests.cs against numbers taken from those headers. Explicit
// layouts are used where the header has bit fields, unions or alignment the sequential rules would not reproduce.

/// <summary>FSP_FSCTL_VOLUME_PARAMS (fsctl.h; V0 fields + V1 fields, 504 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = Size)]
internal unsafe struct FspVolumeParams
{
    public const int Size = 504;
    public const int PrefixChars = 192;
    public const int FileSystemNameChars = 16;

    [FieldOffset(0)] public ushort Version;
    [FieldOffset(2)] public ushort SectorSize;
    [FieldOffset(4)] public ushort SectorsPerAllocationUnit;
    [FieldOffset(6)] public ushort MaxComponentLength;
    [FieldOffset(8)] public ulong VolumeCreationTime;
    [FieldOffset(16)] public uint VolumeSerialNumber;
    [FieldOffset(20)] public uint TransactTimeout;
    [FieldOffset(24)] public uint IrpTimeout;
    [FieldOffset(28)] public uint IrpCapacity;
    [FieldOffset(32)] public uint FileInfoTimeout;
    /// <summary>The V0 bit fields (CaseSensitiveSearch ... KmReservedFlags), see <see cref="FspVolumeFlags"/>.</summary>
    [FieldOffset(36)] public FspVolumeFlags Flags;
    [FieldOffset(40)] public fixed char Prefix[PrefixChars];
    [FieldOffset(424)] public fixed char FileSystemName[FileSystemNameChars];
    /// <summary>The V1 bit fields (VolumeInfoTimeoutValid ...), see <see cref="FspVolumeAdditionalFlags"/>.</summary>
    [FieldOffset(456)] public FspVolumeAdditionalFlags AdditionalFlags;
    [FieldOffset(460)] public uint VolumeInfoTimeout;
    [FieldOffset(464)] public uint DirInfoTimeout;
    [FieldOffset(468)] public uint SecurityTimeout;
    [FieldOffset(472)] public uint StreamInfoTimeout;
    [FieldOffset(476)] public uint EaTimeout;
    [FieldOffset(480)] public uint FsextControlCode;
    [FieldOffset(484)] public uint Reserved32;
    [FieldOffset(488)] public fixed ulong Reserved64[2];

    public void SetPrefix(string? value) => CopyTerminated(value, MemoryMarshal.CreateSpan(ref Prefix[0], PrefixChars));

    public readonly string GetPrefix() => ReadTerminated(MemoryMarshal.CreateReadOnlySpan(in Prefix[0], PrefixChars));

    public void SetFileSystemName(string? value) => CopyTerminated(value, MemoryMarshal.CreateSpan(ref FileSystemName[0], FileSystemNameChars));

    public readonly string GetFileSystemName() => ReadTerminated(MemoryMarshal.CreateReadOnlySpan(in FileSystemName[0], FileSystemNameChars));

    private static void CopyTerminated(string? value, Span<char> destination)
    {
        destination.Clear();
        ReadOnlySpan<char> source = value ?? string.Empty;
        // One char is kept for the terminating NUL the driver expects.
        source[..Math.Min(source.Length, destination.Length - 1)].CopyTo(destination);
    }

    private static string ReadTerminated(ReadOnlySpan<char> source)
    {
        int end = source.IndexOf('\0');
        return new string(end < 0 ? source : source[..end]);
    }
}

/// <summary>The first bit-field word of FSP_FSCTL_VOLUME_PARAMS, in header order (MSVC allocates bit fields from bit 0).</summary>
[Flags]
internal enum FspVolumeFlags : uint
{
    None = 0,
    CaseSensitiveSearch = 1u << 0,
    CasePreservedNames = 1u << 1,
    UnicodeOnDisk = 1u << 2,
    PersistentAcls = 1u << 3,
    ReparsePoints = 1u << 4,
    ReparsePointsAccessCheck = 1u << 5,
    NamedStreams = 1u << 6,
    HardLinks = 1u << 7,
    ExtendedAttributes = 1u << 8,
    ReadOnlyVolume = 1u << 9,
    PostCleanupWhenModifiedOnly = 1u << 10,
    PassQueryDirectoryPattern = 1u << 11,
    AlwaysUseDoubleBuffering = 1u << 12,
    PassQueryDirectoryFileName = 1u << 13,
    FlushAndPurgeOnCleanup = 1u << 14,
    DeviceControl = 1u << 15,
    UmFileContextIsUserContext2 = 1u << 16,
    UmFileContextIsFullContext = 1u << 17,
    UmNoReparsePointsDirCheck = 1u << 18,
    // bits 19..23: UmReservedFlags
    AllowOpenInKernelMode = 1u << 24,
    CasePreservedExtendedAttributes = 1u << 25,
    WslFeatures = 1u << 26,
    DirectoryMarkerAsNextOffset = 1u << 27,
    RejectIrpPriorToTransact0 = 1u << 28,
    SupportsPosixUnlinkRename = 1u << 29,
    PostDispositionWhenNecessaryOnly = 1u << 30,
}

/// <summary>The V1 bit-field word of FSP_FSCTL_VOLUME_PARAMS.</summary>
[Flags]
internal enum FspVolumeAdditionalFlags : uint
{
    None = 0,
    VolumeInfoTimeoutValid = 1u << 0,
    DirInfoTimeoutValid = 1u << 1,
    SecurityTimeoutValid = 1u << 2,
    StreamInfoTimeoutValid = 1u << 3,
    EaTimeoutValid = 1u << 4,
}

/// <summary>FSP_FSCTL_VOLUME_INFO (fsctl.h, 88 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = Size)]
internal unsafe struct FspVolumeInfo
{
    public const int Size = 88;
    public const int VolumeLabelChars = 32;

    [FieldOffset(0)] public ulong TotalSize;
    [FieldOffset(8)] public ulong FreeSize;
    /// <summary>In bytes, not characters; the label is not NUL-terminated.</summary>
    [FieldOffset(16)] public ushort VolumeLabelLength;
    [FieldOffset(18)] public fixed char VolumeLabel[VolumeLabelChars];

    public void SetVolumeLabel(string? value)
    {
        Span<char> label = MemoryMarshal.CreateSpan(ref VolumeLabel[0], VolumeLabelChars);
        label.Clear();
        ReadOnlySpan<char> source = value ?? string.Empty;
        source = source[..Math.Min(source.Length, VolumeLabelChars)];
        source.CopyTo(label);
        VolumeLabelLength = (ushort)(source.Length * sizeof(char));
    }

    public readonly string GetVolumeLabel() =>
        new(MemoryMarshal.CreateReadOnlySpan(in VolumeLabel[0], VolumeLabelChars)[..(VolumeLabelLength / sizeof(char))]);
}

/// <summary>FSP_FSCTL_FILE_INFO (fsctl.h, 72 bytes). Times are FILETIME (100 ns since 1601-01-01 UTC).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FspFileInfo
{
    public const int Size = 72;

    public uint FileAttributes;
    public uint ReparseTag;
    public ulong AllocationSize;
    public ulong FileSize;
    public ulong CreationTime;
    public ulong LastAccessTime;
    public ulong LastWriteTime;
    public ulong ChangeTime;
    public ulong IndexNumber;
    public uint HardLinks;
    public uint EaSize;
}

/// <summary>
/// FSP_FSCTL_OPEN_FILE_INFO (fsctl.h): what the FileInfo pointer of Create and Open really points to. The file system
/// may write the normalized (stored-case) name into <see cref="NormalizedName"/>, in bytes, without a NUL.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct FspOpenFileInfo
{
    public FspFileInfo FileInfo;
    public char* NormalizedName;
    public ushort NormalizedNameSize;
}

/// <summary>FSP_FSCTL_DIR_INFO (fsctl.h, 104 bytes + the name, which follows without a NUL).</summary>
[StructLayout(LayoutKind.Explicit, Size = Size)]
internal struct FspDirInfo
{
    public const int Size = 104;
    public const int FileNameOffset = 104;

    /// <summary>Whole entry in bytes: 104 + name length in bytes.</summary>
    [FieldOffset(0)] public ushort EntrySize;
    [FieldOffset(8)] public FspFileInfo FileInfo;
    /// <summary>Union with Padding[24]; only meaningful with DirectoryMarkerAsNextOffset, which we do not set.</summary>
    [FieldOffset(80)] public ulong NextOffset;
}

/// <summary>FSP_FSCTL_NOTIFY_INFO (fsctl.h, 12 bytes + the name).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FspNotifyInfo
{
    public const int Size = 12;

    public ushort EntrySize;
    public uint Filter;
    public uint Action;
}

/// <summary>The head of FSP_FSCTL_TRANSACT_REQ (fsctl.h; 88 bytes in all). We only read Kind and Hint.</summary>
[StructLayout(LayoutKind.Explicit, Size = Size)]
internal struct FspTransactRequestHeader
{
    public const int Size = 88;

    [FieldOffset(0)] public ushort Version;
    [FieldOffset(2)] public ushort RequestSize;
    [FieldOffset(4)] public uint Kind;
    [FieldOffset(8)] public ulong Hint;
}

/// <summary>
/// FSP_FSCTL_TRANSACT_RSP (fsctl.h, 128 bytes): what FspFileSystemSendResponse takes when an operation that returned
/// STATUS_PENDING completes. Only the members used by Read, Write and QueryDirectory completions are spelled out.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = Size)]
internal struct FspTransactResponse
{
    public const int Size = 128;

    [FieldOffset(0)] public ushort Version;
    [FieldOffset(2)] public ushort ResponseSize;
    [FieldOffset(4)] public uint Kind;
    [FieldOffset(8)] public ulong Hint;
    [FieldOffset(16)] public uint IoStatusInformation;
    [FieldOffset(20)] public int IoStatusStatus;
    /// <summary>Rsp.Write.FileInfo (also Rsp.Overwrite/QueryInformation/SetInformation.FileInfo: the union starts here).</summary>
    [FieldOffset(24)] public FspFileInfo WriteFileInfo;
}

/// <summary>The enum FspFsctlTransact*Kind of fsctl.h (only the kinds we complete asynchronously).</summary>
internal static class FspTransactKind
{
    public const uint Read = 5;
    public const uint Write = 6;
    public const uint QueryDirectory = 14;
}

/// <summary>FSP_FILE_SYSTEM_OPERATION_CONTEXT (winfsp.h).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct FspOperationContext
{
    public FspTransactRequestHeader* Request;
    public FspTransactResponse* Response;
}

/// <summary>
/// FSP_FILE_SYSTEM (winfsp.h; 792 bytes on 64-bit). The DLL owns it; we only read and write
/// <see cref="UserContext"/> (our GCHandle) and read <see cref="MountPoint"/>.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = Size)]
internal unsafe struct FspFileSystemHeader
{
    public const int Size = 792;
    /// <summary>FSP_FSCTL_VOLUME_NAME_SIZEMAX / sizeof(WCHAR) = (64 + 192) chars.</summary>
    public const int VolumeNameChars = 256;
    /// <summary>FspFsctlTransactKindCount.</summary>
    public const int OperationCount = 22;

    [FieldOffset(0)] public ushort Version;
    [FieldOffset(8)] public nint UserContext;
    [FieldOffset(16)] public fixed char VolumeName[VolumeNameChars];
    [FieldOffset(528)] public nint VolumeHandle;
    [FieldOffset(536)] public nint EnterOperation;
    [FieldOffset(544)] public nint LeaveOperation;
    [FieldOffset(552)] public fixed ulong Operations[OperationCount];
    [FieldOffset(728)] public nint Interface;
    [FieldOffset(736)] public nint DispatcherThread;
    [FieldOffset(744)] public uint DispatcherThreadCount;
    [FieldOffset(748)] public int DispatcherResult;
    [FieldOffset(752)] public char* MountPoint;
    [FieldOffset(760)] public nint MountHandle;
    [FieldOffset(768)] public uint DebugLog;
    [FieldOffset(772)] public int OpGuardStrategy;
    [FieldOffset(776)] public nint OpGuardLock;
    [FieldOffset(784)] public byte UmFileContextIsUserContext2;
    [FieldOffset(785)] public byte UmFileContextIsFullContext;
    [FieldOffset(786)] public ushort UmFlags;
}

internal static class FspLayout
{
    /// <summary>FSP_FSCTL_DEFAULT_ALIGN_UP: entries in directory buffers start on 8-byte boundaries.</summary>
    public static int AlignUp(int size) => (size + 7) & ~7;

    public static int SizeOf<T>() where T : unmanaged => Unsafe.SizeOf<T>();
}
