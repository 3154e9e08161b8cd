using System.Buffers;
using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;

namespace ScaiDrive.Vfs.Writing;

/// <summary>
/// The SHA-256 of a staged file that is being written from its start, in order (cp, dd, tar, a download), computed in
/// the background while it is written, so the upload after close does not read the whole file once more to hash it
/// before its session can be created. It also flushes the hashed bytes to disk as it goes, so the fsync that close
/// waits for only has the tail left to write.
/// </summary>
/// <remarks>
/// <para>The writer (holding the node's content gate) reports every write and length change; a background pump reads
/// the contiguous prefix written so far back from the page cache and hashes it. Any write or truncate below what the
/// pump has read (or is reading) invalidates the tracker for good, as does a write that leaves a gap: the hash is only
/// ever offered when it describes exactly the bytes on disk.</para>
/// <para>Race between a rewrite and the pump's read, Dekker style: the writer does its pwrite, then reads
/// <see cref="_readingEnd"/> (an interlocked read, a full fence); the pump publishes <see cref="_readingEnd"/> (interlocked,
/// a full fence), then reads. Either the writer sees the published end and invalidates, or its bytes were in the page
/// cache before the pump's read began.</para>
/// <para>The hint is never trusted blindly: the upload sends it as <c>checksum_sha256</c>, so the server checks it
/// against what it assembled, and a mismatch makes the queue hash the file itself and send again.</para>
/// </remarks>
internal sealed class SequentialContentHash : IDisposable
{
    /// <summary>The pump starts once this much is written in order: smaller files are hashed at upload time, cheaply.</summary>
    public const long StartThreshold = 4L * 1024 * 1024;

    private const int ReadBlock = 1024 * 1024;
    private const long FlushEvery = 64L * 1024 * 1024;

    private readonly SafeFileHandle _handle;
    private readonly Lock _hashLock = new();
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256); // guarded by _hashLock
    private long _hashed; // guarded by _hashLock for writes; read with Volatile
    private long _contiguous; // written by the writer (content gate); read by the pump with Volatile
    private long _readingEnd; // Interlocked: the end of what the pump read or is reading
    private int _invalid; // Interlocked: 1 once the tracker can no longer describe the file
    private int _pumping; // Interlocked: 1 while a pump task runs
    private int _disposed; // Interlocked
    private long _flushed; // pump only
    private TaskCompletionSource _progress = NewSignal(); // guarded by _hashLock; completed when _hashed moves or the tracker dies

    public SequentialContentHash(SafeFileHandle handle)
    {
        _handle = handle;
    }

    public bool IsValid => Volatile.Read(ref _invalid) == 0;

    /// <summary>Bytes [0, n) written in order so far.</summary>
    public long Contiguous => Volatile.Read(ref _contiguous);

    /// <summary>Called after <paramref name="length"/> bytes were written at <paramref name="offset"/> (the caller holds the content gate).</summary>
    public void OnWritten(long offset, int length)
    {
        if (!IsValid)
        {
            return;
        }

        if (offset < Interlocked.Read(ref _readingEnd) || offset > _contiguous)
        {
            // A rewrite of bytes the pump has hashed (or is reading), or a gap: no longer a sequential write.
            Invalidate();
            return;
        }

        long end = offset + length;
        if (end > _contiguous)
        {
            Volatile.Write(ref _contiguous, end);
        }

        if (end >= StartThreshold)
        {
            Kick();
        }
    }

    /// <summary>Called after a truncate or extension (the caller holds the content gate).</summary>
    public void OnLengthSet(long length)
    {
        if (!IsValid)
        {
            return;
        }

        if (length < Interlocked.Read(ref _readingEnd) || length > _contiguous)
        {
            // Cut below what was hashed, or extended with zeros the pump never saw written.
            Invalidate();
            return;
        }

        if (length < _contiguous)
        {
            Volatile.Write(ref _contiguous, length);
            Signal(); // a waiter for the longer length gives up
        }
    }

    /// <summary>
    /// The SHA-256 (lower-case hex) of bytes [0, <paramref name="length"/>) once the pump has hashed exactly that far;
    /// null when the tracker is invalid, the file is not that long in order, or it grew past it meanwhile.
    /// </summary>
    public async ValueTask<string?> GetSha256Async(long length, CancellationToken cancellationToken)
    {
        if (!IsValid || Contiguous != length)
        {
            return null;
        }

        Kick();
        while (true)
        {
            Task progress;
            lock (_hashLock)
            {
                if (!IsValid || _hashed > length || Contiguous < length)
                {
                    return null;
                }

                if (_hashed == length)
                {
                    return Convert.ToHexStringLower(_hash.GetCurrentHash());
                }

                progress = _progress.Task;
            }

            await progress.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public void Invalidate()
    {
        if (Interlocked.Exchange(ref _invalid, 1) == 0)
        {
            Signal();
        }
    }

    public void Dispose()
    {
        Invalidate();
        if (Interlocked.Exchange(ref _disposed, 1) == 0 && Volatile.Read(ref _pumping) == 0)
        {
            DisposeHash();
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private void Kick()
    {
        if (IsValid && Volatile.Read(ref _hashed) < Contiguous && Interlocked.CompareExchange(ref _pumping, 1, 0) == 0)
        {
            _ = Task.Run(Pump);
        }
    }

    private void Pump()
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(ReadBlock);
        try
        {
            while (true)
            {
                while (IsValid)
                {
                    long hashed = Volatile.Read(ref _hashed);
                    long target = Contiguous;
                    if (hashed >= target)
                    {
                        break;
                    }

                    int count = (int)Math.Min(ReadBlock, target - hashed);
                    Interlocked.Exchange(ref _readingEnd, hashed + count);
                    if (!ReadFully(buffer.AsSpan(0, count), hashed))
                    {
                        Invalidate();
                        break;
                    }

                    lock (_hashLock)
                    {
                        if (!IsValid)
                        {
                            break;
                        }

                        _hash.AppendData(buffer, 0, count);
                        Volatile.Write(ref _hashed, hashed + count);
                    }

                    Signal();
                    if (hashed + count - _flushed >= FlushEvery)
                    {
                        // Start the disk on what is already complete, so close's fsync only waits for the tail.
                        RandomAccess.FlushToDisk(_handle);
                        _flushed = hashed + count;
                    }
                }

                Volatile.Write(ref _pumping, 0);

                // A write that arrived after the last look but before the flag dropped found the pump busy: look again.
                if (!IsValid || Volatile.Read(ref _hashed) >= Contiguous || Interlocked.CompareExchange(ref _pumping, 1, 0) != 0)
                {
                    break;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or UnauthorizedAccessException)
        {
            // The staged file was closed or failed under us: the upload hashes it itself.
            Invalidate();
            Volatile.Write(ref _pumping, 0);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            if (Volatile.Read(ref _disposed) == 1 && Interlocked.CompareExchange(ref _pumping, 1, 0) == 0)
            {
                DisposeHash();
            }
        }
    }

    private bool ReadFully(Span<byte> destination, long offset)
    {
        int total = 0;
        while (total < destination.Length)
        {
            int read = RandomAccess.Read(_handle, destination[total..], offset + total);
            if (read == 0)
            {
                return false;
            }

            total += read;
        }

        return true;
    }

    private void Signal()
    {
        TaskCompletionSource signal;
        lock (_hashLock)
        {
            signal = _progress;
            _progress = NewSignal();
        }

        signal.TrySetResult();
    }

    private void DisposeHash()
    {
        lock (_hashLock)
        {
            _hash.Dispose();
        }
    }
}
