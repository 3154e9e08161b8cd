using ScaiDrive.Vfs;
using ScaiDrive.WinFsp.Interop;

namespace ScaiDrive.WinFsp;

/// <summary>
/// The one translation from the core's <see cref="VfsErrorCode"/> to NTSTATUS (rclone's translateError, for Windows).
/// Chosen for what Win32 programs show: the NTSTATUS becomes a Win32 error through RtlNtStatusToDosError, so e.g.
/// NotFound gives ERROR_FILE_NOT_FOUND and QuotaExceeded "There is not enough space on the disk".
/// </summary>
/// <remarks>
/// | VfsErrorCode | NTSTATUS | Win32 error a program sees |
/// |---|---|---|
/// | NotFound | STATUS_OBJECT_NAME_NOT_FOUND | ERROR_FILE_NOT_FOUND |
/// | AlreadyExists | STATUS_OBJECT_NAME_COLLISION | ERROR_ALREADY_EXISTS / ERROR_FILE_EXISTS |
/// | NotEmpty | STATUS_DIRECTORY_NOT_EMPTY | ERROR_DIR_NOT_EMPTY |
/// | NotADirectory | STATUS_NOT_A_DIRECTORY | ERROR_DIRECTORY |
/// | IsADirectory | STATUS_FILE_IS_A_DIRECTORY | ERROR_ACCESS_DENIED |
/// | AccessDenied | STATUS_ACCESS_DENIED | ERROR_ACCESS_DENIED |
/// | ReadOnly | STATUS_MEDIA_WRITE_PROTECTED | ERROR_WRITE_PROTECT |
/// | QuotaExceeded | STATUS_DISK_FULL | ERROR_DISK_FULL |
/// | FileTooLarge | STATUS_FILE_TOO_LARGE | ERROR_FILE_TOO_LARGE |
/// | InvalidName | STATUS_OBJECT_NAME_INVALID | ERROR_INVALID_NAME |
/// | NameTooLong | STATUS_NAME_TOO_LONG | ERROR_FILENAME_EXCED_RANGE |
/// | NotSupported | STATUS_NOT_SUPPORTED | ERROR_NOT_SUPPORTED |
/// | CrossDevice | STATUS_NOT_SAME_DEVICE | ERROR_NOT_SAME_DEVICE |
/// | InvalidArgument | STATUS_INVALID_PARAMETER | ERROR_INVALID_PARAMETER |
/// | Unavailable | STATUS_NETWORK_UNREACHABLE | ERROR_NETWORK_UNREACHABLE |
/// | TimedOut | STATUS_IO_TIMEOUT | ERROR_SEM_TIMEOUT |
/// | Stale | STATUS_FILE_INVALID | ERROR_FILE_INVALID |
/// | Busy | STATUS_SHARING_VIOLATION | ERROR_SHARING_VIOLATION |
/// | Interrupted | STATUS_CANCELLED | ERROR_OPERATION_ABORTED |
/// | IoError | STATUS_UNEXPECTED_IO_ERROR | ERROR_UNEXP_NET_ERR |
/// </remarks>
internal static class NtStatusMap
{
    private static readonly int[] s_table = BuildTable();

    public static int ToNtStatus(VfsErrorCode code) =>
        (uint)code < (uint)s_table.Length ? s_table[(int)code] : NtStatus.UnexpectedIoError;

    /// <summary>Any exception at the native boundary becomes a status; nothing is thrown into the DLL.</summary>
    public static int FromException(Exception exception) => exception switch
    {
        NtStatusException e => e.Status,
        VfsException e => ToNtStatus(e.Code),
        OperationCanceledException => NtStatus.Cancelled,
        TimeoutException => NtStatus.IoTimeout,
        AggregateException { InnerExceptions.Count: 1 } e => FromException(e.InnerExceptions[0]),
        OutOfMemoryException => NtStatus.InsufficientResources,
        _ => NtStatus.UnexpectedIoError,
    };

    private static int[] BuildTable()
    {
        VfsErrorCode[] codes = Enum.GetValues<VfsErrorCode>();
        int[] table = new int[codes.Max(c => (int)c) + 1];
        foreach (VfsErrorCode code in codes)
        {
            table[(int)code] = code switch
            {
                VfsErrorCode.NotFound => NtStatus.ObjectNameNotFound,
                VfsErrorCode.AlreadyExists => NtStatus.ObjectNameCollision,
                VfsErrorCode.NotEmpty => NtStatus.DirectoryNotEmpty,
                VfsErrorCode.NotADirectory => NtStatus.NotADirectory,
                VfsErrorCode.IsADirectory => NtStatus.FileIsADirectory,
                VfsErrorCode.AccessDenied => NtStatus.AccessDenied,
                VfsErrorCode.ReadOnly => NtStatus.MediaWriteProtected,
                VfsErrorCode.QuotaExceeded => NtStatus.DiskFull,
                VfsErrorCode.FileTooLarge => NtStatus.FileTooLarge,
                VfsErrorCode.InvalidName => NtStatus.ObjectNameInvalid,
                VfsErrorCode.NameTooLong => NtStatus.NameTooLong,
                VfsErrorCode.NotSupported => NtStatus.NotSupported,
                VfsErrorCode.CrossDevice => NtStatus.NotSameDevice,
                VfsErrorCode.InvalidArgument => NtStatus.InvalidParameter,
                VfsErrorCode.Unavailable => NtStatus.NetworkUnreachable,
                VfsErrorCode.TimedOut => NtStatus.IoTimeout,
                VfsErrorCode.Stale => NtStatus.FileInvalid,
                VfsErrorCode.Busy => NtStatus.SharingViolation,
                VfsErrorCode.Interrupted => NtStatus.Cancelled,
                VfsErrorCode.IoError => NtStatus.UnexpectedIoError,
                // A code added to the core without a row here fails NtStatusMapTests, not a user's save.
                _ => NtStatus.UnexpectedIoError,
            };
        }

        return table;
    }
}

/// <summary>A status the adapter decides itself (e.g. STATUS_OBJECT_PATH_NOT_FOUND), thrown inside an operation.</summary>
internal sealed class NtStatusException(int status, string message) : Exception(message)
{
    public int Status { get; } = status;
}
