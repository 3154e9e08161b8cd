using System.Net.Http;
using ScaiDrive.Client;
using ScaiDrive.Vfs.Writing;

namespace ScaiDrive.Vfs.Errors;

/// <summary>
/// The one place where client failures become <see cref="VfsErrorCode"/>s. Adapters then map the code to errno or
/// NTSTATUS (docs/SEMANTICS.md has all three columns).
/// </summary>
internal static class ApiErrorMapper
{
    public static VfsErrorCode ToCode(ScaiDriveErrorKind kind) => kind switch
    {
        ScaiDriveErrorKind.NotFound => VfsErrorCode.NotFound,
        // Soft-deleted (in the trash) is gone as far as a filesystem is concerned.
        ScaiDriveErrorKind.Gone => VfsErrorCode.NotFound,
        ScaiDriveErrorKind.Unauthorized => VfsErrorCode.AccessDenied,
        ScaiDriveErrorKind.Forbidden => VfsErrorCode.AccessDenied,
        ScaiDriveErrorKind.NameConflict => VfsErrorCode.AlreadyExists,
        ScaiDriveErrorKind.VersionConflict => VfsErrorCode.Stale,
        ScaiDriveErrorKind.ContentChanged => VfsErrorCode.Stale,
        ScaiDriveErrorKind.Conflict => VfsErrorCode.Busy,
        ScaiDriveErrorKind.PayloadTooLarge => VfsErrorCode.FileTooLarge,
        ScaiDriveErrorKind.QuotaExceeded => VfsErrorCode.QuotaExceeded,
        ScaiDriveErrorKind.InvalidRequest => VfsErrorCode.InvalidArgument,
        ScaiDriveErrorKind.RateLimited => VfsErrorCode.Unavailable,
        ScaiDriveErrorKind.Unavailable => VfsErrorCode.Unavailable,
        _ => VfsErrorCode.IoError,
    };

    /// <summary>True for the exceptions <see cref="Translate"/> turns into a <see cref="VfsException"/>.</summary>
    public static bool IsTranslatable(Exception exception) =>
        exception is ScaiDriveApiException or UploadFailedException or HttpRequestException or IOException or UnauthorizedAccessException or TimeoutException;

    public static VfsException Translate(Exception exception, string operation)
    {
        return exception switch
        {
            VfsException vfs => vfs,
            ScaiDriveApiException api => new VfsException(ToCode(api.Kind), $"{operation}: {api.Message}", api),
            // fsync learns the upload's permanent failure: quota, permission, a conflict (content kept as a conflict copy).
            UploadFailedException failed => new VfsException(ToCode(failed.Kind), $"{operation}: upload failed: {failed.Message}", failed),
            HttpRequestException => new VfsException(VfsErrorCode.Unavailable, $"{operation}: server unreachable", exception),
            TimeoutException => new VfsException(VfsErrorCode.TimedOut, $"{operation}: timed out", exception),
            // Local I/O on the cache directory (staging): a full disk must not look like the server's quota.
            IOException io when IsDiskFull(io) => new VfsException(VfsErrorCode.QuotaExceeded, $"{operation}: cache disk full", exception),
            _ => new VfsException(VfsErrorCode.IoError, $"{operation}: {exception.Message}", exception),
        };
    }

    private static bool IsDiskFull(IOException exception) =>
        (exception.HResult & 0xFFFF) is 28 /* ENOSPC */ or 0x70 /* ERROR_DISK_FULL */ or 0x27 /* ERROR_HANDLE_DISK_FULL */;
}
