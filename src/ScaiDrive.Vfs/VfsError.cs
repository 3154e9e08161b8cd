namespace ScaiDrive.Vfs;

/// <summary>
/// The core's one neutral error vocabulary. Each adapter owns one table mapping these to its platform
/// (errno in ScaiDrive.Fuse, NTSTATUS in ScaiDrive.WinFsp); docs/SEMANTICS.md lists both tables.
/// </summary>
public enum VfsErrorCode
{
    NotFound,
    AlreadyExists,
    NotEmpty,
    NotADirectory,
    IsADirectory,
    /// <summary>The caller's role does not allow it (viewer writing, …).</summary>
    AccessDenied,
    /// <summary>The mount or the share is read-only.</summary>
    ReadOnly,
    /// <summary>A quota is full (server 507) or would be.</summary>
    QuotaExceeded,
    /// <summary>The file is larger than the server accepts (413).</summary>
    FileTooLarge,
    /// <summary>A name the server cannot store (bad characters, not UTF-8).</summary>
    InvalidName,
    NameTooLong,
    /// <summary>The operation is not meaningful here (rename across the virtual root, hard links, …).</summary>
    NotSupported,
    /// <summary>The operation crosses something the server cannot cross atomically.</summary>
    CrossDevice,
    /// <summary>Bad argument (negative offset, unknown handle, …).</summary>
    InvalidArgument,
    /// <summary>The server could not be reached or kept failing after retries.</summary>
    Unavailable,
    /// <summary>The operation timed out.</summary>
    TimedOut,
    /// <summary>The object changed on the server under us (stale handle, version conflict).</summary>
    Stale,
    /// <summary>Busy (e.g. removing a share directory, unmount with open files).</summary>
    Busy,
    /// <summary>The caller cancelled (FUSE interrupt, WinFsp cancel).</summary>
    Interrupted,
    /// <summary>Anything else: a bug or an unexpected server answer.</summary>
    IoError,
}

/// <summary>The one exception type that crosses from the core into the adapters.</summary>
public sealed class VfsException : Exception
{
    public VfsException(VfsErrorCode code, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Code = code;
    }

    public VfsErrorCode Code { get; }
}
