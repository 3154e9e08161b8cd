using ScaiDrive.Vfs;
using ScaiDrive.WinFsp.Interop;

namespace ScaiDrive.WinFsp;

internal sealed partial class WinFspFileSystem
{
    /// <summary>The outcome of an operation that may complete later: status, IoStatus.Information, and file info for writes.</summary>
    internal readonly record struct IoResult(int Status, uint Information, FspFileInfo FileInfo = default);

    /// <summary>
    /// Read into the driver's buffer. Answers at once when the core has the data (cache, staged file); otherwise
    /// returns STATUS_PENDING and completes through FspFileSystemSendResponse with <paramref name="hint"/> (the
    /// request's Hint, which the driver matches the response by). Reading at or past the end is STATUS_END_OF_FILE.
    /// </summary>
    public unsafe int Read(ulong fileContext, nint buffer, ulong offset, uint length, out uint bytesTransferred, ulong hint)
    {
        bytesTransferred = 0;
        if (!_openFiles.TryGetValue(fileContext, out OpenFile? file))
        {
            return NtStatus.InvalidParameter;
        }

        if (file.IsDirectory)
        {
            return NtStatus.FileIsADirectory;
        }

        Memory<byte> destination = new NativeMemoryManager((byte*)buffer, checked((int)length)).Memory;
        return StartIo(ct => ReadCoreAsync(file, (long)offset, destination, ct), FspTransactKind.Read, hint, out bytesTransferred, out _);
    }

    private async ValueTask<IoResult> ReadCoreAsync(OpenFile file, long offset, Memory<byte> destination, CancellationToken cancellationToken)
    {
        ulong handle = await EnsureHandleAsync(file, write: false, truncate: false, cancellationToken).ConfigureAwait(false);
        int total = 0;
        while (total < destination.Length)
        {
            int read = await _vfs.ReadAsync(handle, offset + total, destination[total..], cancellationToken).ConfigureAwait(false);
            if (read <= 0)
            {
                break;
            }

            total += read;
        }

        return total == 0 && destination.Length > 0
            ? new IoResult(NtStatus.EndOfFile, 0)
            : new IoResult(NtStatus.Success, (uint)total);
    }

    /// <summary>
    /// Write from the driver's buffer into the staged copy. <paramref name="writeToEndOfFile"/> appends (offset is -1);
    /// <paramref name="constrainedIo"/> (paging writes) must not extend the file. May return STATUS_PENDING like Read.
    /// </summary>
    public unsafe int Write(ulong fileContext, nint buffer, ulong offset, uint length, bool writeToEndOfFile, bool constrainedIo,
        out uint bytesTransferred, out FspFileInfo fileInfo, ulong hint)
    {
        bytesTransferred = 0;
        fileInfo = default;
        if (!_openFiles.TryGetValue(fileContext, out OpenFile? file))
        {
            return NtStatus.InvalidParameter;
        }

        if (file.IsDirectory)
        {
            return NtStatus.FileIsADirectory;
        }

        ReadOnlyMemory<byte> source = new NativeMemoryManager((byte*)buffer, checked((int)length)).Memory;
        return StartIo(ct => WriteCoreAsync(file, offset, source, writeToEndOfFile, constrainedIo, ct), FspTransactKind.Write, hint, out bytesTransferred, out fileInfo);
    }

    private async ValueTask<IoResult> WriteCoreAsync(OpenFile file, ulong offset, ReadOnlyMemory<byte> source, bool writeToEndOfFile, bool constrainedIo, CancellationToken cancellationToken)
    {
        ulong handle = await EnsureHandleAsync(file, write: true, truncate: false, cancellationToken).ConfigureAwait(false);
        long position = (long)offset;
        if (writeToEndOfFile || constrainedIo)
        {
            VfsAttributes current = await _vfs.GetAttributesAsync(file.Inode, cancellationToken).ConfigureAwait(false);
            if (writeToEndOfFile)
            {
                position = current.Size;
            }

            if (constrainedIo)
            {
                if (position >= current.Size)
                {
                    return new IoResult(NtStatus.Success, 0, ToFileInfo(current));
                }

                source = source[..(int)Math.Min(source.Length, current.Size - position)];
            }
        }

        int total = 0;
        while (total < source.Length)
        {
            int written = await _vfs.WriteAsync(handle, position + total, source[total..], cancellationToken).ConfigureAwait(false);
            if (written <= 0)
            {
                throw new VfsException(VfsErrorCode.IoError, "The core accepted no bytes of a write.");
            }

            total += written;
        }

        file.Modified = true;
        VfsAttributes after = await _vfs.GetAttributesAsync(file.Inode, cancellationToken).ConfigureAwait(false);
        return new IoResult(NtStatus.Success, (uint)total, ToFileInfo(after));
    }

    /// <summary>
    /// Flush (FlushFileBuffers): the staged data is made durable in the local journal, as a local disk would make it
    /// durable on its platters; the upload follows in the background. A null context flushes the volume: nothing to do.
    /// </summary>
    public int Flush(ulong fileContext, out FspFileInfo fileInfo)
    {
        fileInfo = default;
        if (fileContext == 0)
        {
            return NtStatus.Success;
        }

        FspFileInfo info = default;
        int status = WithFile(fileContext, async (file, ct) =>
        {
            await file.HandleGate.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                if (file.Handle is { } handle && file.HandleWritable)
                {
                    await _vfs.FlushAsync(handle, ct).ConfigureAwait(false);
                }
            }
            finally
            {
                file.HandleGate.Release();
            }

            info = ToFileInfo(await _vfs.GetAttributesAsync(file.Inode, ct).ConfigureAwait(false));
            return NtStatus.Success;
        });
        fileInfo = info;
        return status;
    }

    /// <summary>
    /// Starts an operation that may complete later. When the core answers synchronously the result is returned at
    /// once; otherwise STATUS_PENDING, and the completion sends a response of <paramref name="kind"/> with
    /// <paramref name="hint"/>. The pending work is bounded by the operation timeout so no request hangs forever.
    /// </summary>
    private int StartIo(Func<CancellationToken, ValueTask<IoResult>> operation, uint kind, ulong hint, out uint information, out FspFileInfo fileInfo)
    {
        information = 0;
        fileInfo = default;
        CancellationTokenSource timeout = new(_options.OperationTimeout, _time);
        ValueTask<IoResult> task;
        try
        {
            task = operation(timeout.Token);
        }
        catch (Exception ex)
        {
            bool timedOut = timeout.IsCancellationRequested;
            timeout.Dispose();
            return StatusFor(ex, timedOut);
        }

        if (task.IsCompleted)
        {
            try
            {
                IoResult result = task.GetAwaiter().GetResult();
                information = result.Information;
                fileInfo = result.FileInfo;
                return result.Status;
            }
            catch (Exception ex)
            {
                return StatusFor(ex, timeout.IsCancellationRequested);
            }
            finally
            {
                timeout.Dispose();
            }
        }

        _ = CompleteLaterAsync(task, kind, hint, timeout);
        return NtStatus.Pending;
    }

    private async Task CompleteLaterAsync(ValueTask<IoResult> task, uint kind, ulong hint, CancellationTokenSource timeout)
    {
        IoResult result;
        try
        {
            result = await task.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            result = new IoResult(StatusFor(ex, timeout.IsCancellationRequested), 0);
        }
        finally
        {
            timeout.Dispose();
        }

        FspTransactResponse response = new()
        {
            ResponseSize = FspTransactResponse.Size,
            Kind = kind,
            Hint = hint,
            IoStatusStatus = result.Status,
            IoStatusInformation = result.Information,
            WriteFileInfo = result.FileInfo,
        };
        try
        {
            _driver.SendResponse(in response);
        }
        catch (Exception ex)
        {
            Log.SendResponseFailed(_logger, ex);
        }
    }
}
