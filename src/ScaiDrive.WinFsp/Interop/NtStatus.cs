namespace ScaiDrive.WinFsp.Interop;

/// <summary>The NTSTATUS values we return, from the Windows SDK's shared/ntstatus.h.</summary>
internal static class NtStatus
{
    public const int Success = 0x00000000;
    public const int Pending = 0x00000103;
    public const int BufferOverflow = unchecked((int)0x80000005);
    public const int NoMoreFiles = unchecked((int)0x80000006);
    public const int InvalidParameter = unchecked((int)0xC000000D);
    public const int InvalidDeviceRequest = unchecked((int)0xC0000010);
    public const int EndOfFile = unchecked((int)0xC0000011);
    public const int AccessDenied = unchecked((int)0xC0000022);
    public const int ObjectNameInvalid = unchecked((int)0xC0000033);
    public const int ObjectNameNotFound = unchecked((int)0xC0000034);
    public const int ObjectNameCollision = unchecked((int)0xC0000035);
    public const int ObjectPathNotFound = unchecked((int)0xC000003A);
    public const int SharingViolation = unchecked((int)0xC0000043);
    public const int DiskFull = unchecked((int)0xC000007F);
    public const int FileInvalid = unchecked((int)0xC0000098);
    public const int InsufficientResources = unchecked((int)0xC000009A);
    public const int MediaWriteProtected = unchecked((int)0xC00000A2);
    public const int IoTimeout = unchecked((int)0xC00000B5);
    public const int FileIsADirectory = unchecked((int)0xC00000BA);
    public const int NotSupported = unchecked((int)0xC00000BB);
    public const int NotSameDevice = unchecked((int)0xC00000D4);
    public const int CantWait = unchecked((int)0xC00000D8);
    public const int UnexpectedIoError = unchecked((int)0xC00000E9);
    public const int DirectoryNotEmpty = unchecked((int)0xC0000101);
    public const int NotADirectory = unchecked((int)0xC0000103);
    public const int NameTooLong = unchecked((int)0xC0000106);
    public const int Cancelled = unchecked((int)0xC0000120);
    public const int CannotDelete = unchecked((int)0xC0000121);
    public const int NetworkUnreachable = unchecked((int)0xC000023C);
    public const int FileTooLarge = unchecked((int)0xC0000904);

    public static bool IsSuccess(int status) => status >= 0;
}

/// <summary>Win32/NT constants the adapter reads or writes (winnt.h, ntifs.h).</summary>
internal static class Win32
{
    // FILE_ATTRIBUTE_* (winnt.h)
    public const uint FileAttributeReadOnly = 0x00000001;
    public const uint FileAttributeHidden = 0x00000002;
    public const uint FileAttributeSystem = 0x00000004;
    public const uint FileAttributeDirectory = 0x00000010;
    public const uint FileAttributeArchive = 0x00000020;
    public const uint FileAttributeNormal = 0x00000080;
    public const uint InvalidFileAttributes = 0xFFFFFFFF;

    // CreateOptions (ntifs.h / NtCreateFile)
    public const uint FileDirectoryFile = 0x00000001;
    public const uint FileNonDirectoryFile = 0x00000040;
    public const uint FileDeleteOnClose = 0x00001000;

    // Access mask bits (winnt.h)
    public const uint FileReadData = 0x0001;
    public const uint FileWriteData = 0x0002;
    public const uint FileAppendData = 0x0004;
    public const uint FileExecute = 0x0020;
    public const uint FileReadAttributes = 0x0080;
    public const uint FileWriteAttributes = 0x0100;
    public const uint Delete = 0x00010000;
    public const uint FileAllAccess = 0x001F01FF;
    public const uint FileGenericRead = 0x00120089;
    public const uint FileGenericExecute = 0x001200A0;

    // FILE_NOTIFY_CHANGE_* and FILE_ACTION_* (winnt.h)
    public const uint FileNotifyChangeFileName = 0x00000001;
    public const uint FileNotifyChangeDirName = 0x00000002;
    public const uint FileNotifyChangeAttributes = 0x00000004;
    public const uint FileNotifyChangeSize = 0x00000008;
    public const uint FileNotifyChangeLastWrite = 0x00000010;
    public const uint FileActionAdded = 1;
    public const uint FileActionRemoved = 2;
    public const uint FileActionModified = 3;

    // FspCleanup* flags (winfsp.h)
    public const uint FspCleanupDelete = 0x01;
    public const uint FspCleanupSetAllocationSize = 0x02;
    public const uint FspCleanupSetArchiveBit = 0x10;
    public const uint FspCleanupSetLastAccessTime = 0x20;
    public const uint FspCleanupSetLastWriteTime = 0x40;
    public const uint FspCleanupSetChangeTime = 0x80;
}
