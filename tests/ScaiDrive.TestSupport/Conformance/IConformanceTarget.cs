namespace ScaiDrive.TestSupport.Conformance;

/// <summary>What a conformance test sees of a node.</summary>
public sealed record ConformanceStat(bool IsDirectory, long Size, DateTimeOffset ModifiedAt, ulong Inode);

/// <summary>The failures the suite tells apart; each target maps its own errors (VfsErrorCode, errno) onto these.</summary>
public enum ConformanceError
{
    NotFound,
    AlreadyExists,
    NotEmpty,
    NotADirectory,
    IsADirectory,
    Other,
}

public sealed class ConformanceException(ConformanceError error, string message, Exception? innerException = null)
    : Exception(message, innerException)
{
    public ConformanceError Error { get; } = error;
}

/// <summary>
/// A directory tree driven by path, like a program would drive a mounted filesystem: one implementation over the
/// VFS core (in-process), one over a real mount point (System.IO). Paths are '/'-separated and relative to the
/// target's root. Every method is one or a few system calls' worth of work and throws <see cref="ConformanceException"/>
/// for the failures the suite checks.
/// </summary>
public interface IConformanceTarget : IAsyncDisposable
{
    /// <summary>open(O_CREAT|O_TRUNC|O_WRONLY), write everything, close.</summary>
    Task CreateFileAsync(string path, ReadOnlyMemory<byte> content);

    /// <summary>open(O_WRONLY) an existing file, pwrite at <paramref name="offset"/>, close.</summary>
    Task WriteAtAsync(string path, long offset, ReadOnlyMemory<byte> data);

    /// <summary>open(O_WRONLY|O_APPEND), write, close.</summary>
    Task AppendAsync(string path, ReadOnlyMemory<byte> data);

    Task<byte[]> ReadAllAsync(string path);

    /// <summary>pread of up to <paramref name="length"/> bytes at <paramref name="offset"/> on a fresh descriptor.</summary>
    Task<byte[]> ReadAtAsync(string path, long offset, int length);

    /// <summary>stat; null when the path does not exist.</summary>
    Task<ConformanceStat?> StatAsync(string path);

    /// <summary>Names in the directory, sorted ordinally.</summary>
    Task<IReadOnlyList<string>> ListAsync(string path);

    Task MkdirAsync(string path);

    Task RmdirAsync(string path);

    Task UnlinkAsync(string path);

    /// <summary>rename(2), or renameat2 with RENAME_NOREPLACE when <paramref name="noReplace"/> (targets without it may emulate).</summary>
    Task RenameAsync(string from, string to, bool noReplace = false);

    /// <summary>truncate(2) by path.</summary>
    Task TruncateAsync(string path, long size);

    /// <summary>open, write, fsync, close: content on the server when it returns.</summary>
    Task WriteDurablyAsync(string path, ReadOnlyMemory<byte> content);

    /// <summary>
    /// Waits until everything written is on the server, then checks through the API (not through the target) that the
    /// tree under <paramref name="directory"/> holds exactly <paramref name="expected"/>: relative path → content, or
    /// null for a directory.
    /// </summary>
    Task VerifyOnServerAsync(string directory, IReadOnlyDictionary<string, byte[]?> expected);
}
