namespace ScaiDrive.Fuse;

/// <summary>Linux errno values (asm-generic/errno*.h; the same on x86_64 and aarch64). Always positive here: libfuse wants them so.</summary>
internal static class Errno
{
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int EINTR = 4;
    public const int EIO = 5;
    public const int EBADF = 9;
    public const int ENOMEM = 12;
    public const int EACCES = 13;
    public const int EBUSY = 16;
    public const int EEXIST = 17;
    public const int EXDEV = 18;
    public const int ENOTDIR = 20;
    public const int EISDIR = 21;
    public const int EINVAL = 22;
    public const int EFBIG = 27;
    public const int ENOSPC = 28;
    public const int EROFS = 30;
    public const int ERANGE = 34;
    public const int ENAMETOOLONG = 36;
    public const int ENOSYS = 38;
    public const int ENOTEMPTY = 39;
    public const int ENODATA = 61;
    public const int EILSEQ = 84;
    public const int EOPNOTSUPP = 95;
    public const int ENOTCONN = 107;
    public const int ETIMEDOUT = 110;
    public const int ESTALE = 116;
    public const int EDQUOT = 122;
}

/// <summary>Thrown by an <see cref="Session.IFuseFileSystem"/> handler to answer a request with an exact errno.</summary>
internal sealed class FuseErrnoException : Exception
{
    public FuseErrnoException(int errno, string? message = null)
        : base(message ?? $"errno {errno}")
    {
        Errno = errno;
    }

    public int Errno { get; }
}
