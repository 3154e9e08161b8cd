using System.Buffers;
using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;
using ScaiDrive.Client;

namespace ScaiDrive.Vfs.Writing;

/// <summary>
/// The bytes of one staged file as an <see cref="IUploadSource"/>: positional reads (RandomAccess), so the client
/// can read chunks in parallel and resend any of them. Opened with sharing so the façade may keep its own handle.
/// </summary>
internal sealed class StagedFileUploadSource : IUploadSource, IDisposable
{
    private const int HashBufferSize = 1024 * 1024;

    private readonly SafeFileHandle _handle;

    private StagedFileUploadSource(SafeFileHandle handle, long length)
    {
        _handle = handle;
        Length = length;
    }

    public long Length { get; }

    /// <summary>
    /// Opens <paramref name="path"/> for upload of <paramref name="length"/> bytes. If the file is shorter than that (it was
    /// truncated after the request was made, which a Hold should have prevented), the shorter content is what we have.
    /// </summary>
    public static StagedFileUploadSource Open(string path, long length)
    {
        SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, FileOptions.Asynchronous);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new StagedContentMissingException(path, ex);
        }

        long actual = RandomAccess.GetLength(handle);
        return new StagedFileUploadSource(handle, Math.Min(actual, length));
    }

    public async ValueTask<int> ReadAtAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (offset >= Length)
        {
            return 0;
        }

        if (buffer.Length > Length - offset)
        {
            buffer = buffer[..(int)(Length - offset)];
        }

        int total = 0;
        while (total < buffer.Length)
        {
            int read = await RandomAccess.ReadAsync(_handle, buffer[total..], offset + total, cancellationToken);
            if (read == 0)
            {
                break;
            }

            total += read;
        }

        return total;
    }

    /// <summary>SHA-256 (lower-case hex) of the whole content, read with one pooled buffer.</summary>
    public async ValueTask<string> ComputeSha256Async(CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(HashBufferSize);
        try
        {
            long offset = 0;
            while (offset < Length)
            {
                int read = await ReadAtAsync(offset, buffer.AsMemory(0, HashBufferSize), cancellationToken);
                if (read == 0)
                {
                    throw new IOException("staged file shrank while it was hashed");
                }

                hash.AppendData(buffer, 0, read);
                offset += read;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>Reads the whole content into a rented buffer (small uploads); the caller returns it to the pool.</summary>
    public async ValueTask<byte[]> ReadAllPooledAsync(CancellationToken cancellationToken)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent((int)Math.Max(1, Length));
        try
        {
            int read = await ReadAtAsync(0, buffer.AsMemory(0, (int)Length), cancellationToken);
            if (read != Length)
            {
                throw new IOException("staged file shrank while it was read");
            }

            return buffer;
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    public void Dispose() => _handle.Dispose();
}

/// <summary>The staged file of a request is gone: nothing left to upload or to rescue.</summary>
internal sealed class StagedContentMissingException : IOException
{
    public StagedContentMissingException(string path, Exception? innerException)
        : base($"staged file '{path}' is missing", innerException)
    {
        StagedPath = path;
    }

    public string StagedPath { get; }
}

/// <summary>
/// An upload source whose last chunk is only handed out once <c>waitUntilDue</c> returns: the client sends every
/// other chunk at once, and since it completes the session only after its last chunk, the commit (the new version)
/// waits for the write-back delay while the transfer does not. A cancelled wait cancels the upload.
/// </summary>
internal sealed class CommitWhenDueSource(IUploadSource inner, int chunkSize, Func<CancellationToken, ValueTask> waitUntilDue) : IUploadSource
{
    private readonly long _lastChunkStart = inner.Length == 0 ? 0 : (inner.Length - 1) / chunkSize * chunkSize;

    public long Length => inner.Length;

    public async ValueTask<int> ReadAtAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (offset >= _lastChunkStart && offset < Length)
        {
            await waitUntilDue(cancellationToken);
        }

        return await inner.ReadAtAsync(offset, buffer, cancellationToken);
    }
}
