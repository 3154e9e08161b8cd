using ScaiDrive.Vfs;

namespace ScaiDrive.Fuse;

/// <summary>
/// The one table from the core's <see cref="VfsErrorCode"/> to errno, and from any exception a handler lets escape
/// to the errno its request is answered with. The README lists the same table; ErrnoMapTests keeps them equal.
/// </summary>
/// <remarks>
/// Choices where more than one errno would do:
/// <list type="bullet">
/// <item>Unavailable → EIO: applications treat EIO as "the storage failed", which is what an unreachable server is;
/// ENOTCONN would read as the mount itself being gone.</item>
/// <item>QuotaExceeded → EDQUOT ("Disk quota exceeded"): it names the cause; programs that special-case ENOSPC
/// handle EDQUOT the same way in practice (coreutils, rsync, editors).</item>
/// <item>InvalidName → EINVAL: what Linux filesystems answer for a name they cannot store (vfat, ntfs3).</item>
/// <item>NotSupported → EOPNOTSUPP (= ENOTSUP on Linux).</item>
/// </list>
/// </remarks>
internal static class ErrnoMap
{
    public static int ToErrno(VfsErrorCode code) => code switch
    {
        VfsErrorCode.NotFound => Errno.ENOENT,
        VfsErrorCode.AlreadyExists => Errno.EEXIST,
        VfsErrorCode.NotEmpty => Errno.ENOTEMPTY,
        VfsErrorCode.NotADirectory => Errno.ENOTDIR,
        VfsErrorCode.IsADirectory => Errno.EISDIR,
        VfsErrorCode.AccessDenied => Errno.EACCES,
        VfsErrorCode.ReadOnly => Errno.EROFS,
        VfsErrorCode.QuotaExceeded => Errno.EDQUOT,
        VfsErrorCode.FileTooLarge => Errno.EFBIG,
        VfsErrorCode.InvalidName => Errno.EINVAL,
        VfsErrorCode.NameTooLong => Errno.ENAMETOOLONG,
        VfsErrorCode.NotSupported => Errno.EOPNOTSUPP,
        VfsErrorCode.CrossDevice => Errno.EXDEV,
        VfsErrorCode.InvalidArgument => Errno.EINVAL,
        VfsErrorCode.Unavailable => Errno.EIO,
        VfsErrorCode.TimedOut => Errno.ETIMEDOUT,
        VfsErrorCode.Stale => Errno.ESTALE,
        VfsErrorCode.Busy => Errno.EBUSY,
        VfsErrorCode.Interrupted => Errno.EINTR,
        VfsErrorCode.IoError => Errno.EIO,
        _ => Errno.EIO,
    };

    /// <summary>
    /// The errno for an exception that escaped a handler. Anything unexpected is EIO: the process keeps running and
    /// the one request fails.
    /// </summary>
    public static int FromException(Exception exception) => exception switch
    {
        FuseErrnoException e => e.Errno,
        VfsException e => ToErrno(e.Code),
        OperationCanceledException => Errno.EINTR,
        TimeoutException => Errno.ETIMEDOUT,
        NotSupportedException => Errno.EOPNOTSUPP,
        UnauthorizedAccessException => Errno.EACCES,
        ArgumentException => Errno.EINVAL,
        OutOfMemoryException => Errno.ENOMEM,
        AggregateException { InnerExceptions.Count: 1 } e => FromException(e.InnerExceptions[0]),
        _ => Errno.EIO,
    };
}
