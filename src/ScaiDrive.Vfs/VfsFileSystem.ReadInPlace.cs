using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using ScaiDrive.Client;
using ScaiDrive.Vfs.Errors;
using ScaiDrive.Vfs.Files;
using ScaiDrive.Vfs.Namespace;
using ScaiDrive.Vfs.Reading;

namespace ScaiDrive.Vfs;

// The zero-copy read of a clean file: the cached block is handed to the adapter's reply while pinned, so a FUSE read
// costs one copy (block → kernel) instead of two (block → reply buffer → kernel). Everything unusual (staged copy,
// a read spanning blocks, a version change) declines and the adapter falls back to ReadAsync, which handles it.
public sealed partial class VfsFileSystem
{
    /// <summary>
    /// Reads up to <paramref name="size"/> bytes at <paramref name="offset"/> and passes them to <paramref name="reply"/>
    /// without copying them first. Returns false, having called nothing, when it cannot (use <see cref="ReadAsync"/>);
    /// true when <paramref name="reply"/> was called exactly once with 1..size bytes. <paramref name="reply"/> must
    /// not throw and must not keep the span. When this throws, <paramref name="reply"/> was not called.
    /// </summary>
    public async ValueTask<bool> TryReadInPlaceAsync<TArg>(
        ulong handle, long offset, int size, ReadOnlySpanAction<byte, TArg> reply, TArg replyArgument, CancellationToken cancellationToken = default)
    {
        try
        {
            if (!TryGetRemoteContent(handle, offset, size, out OpenFile? open, out ContentKey key))
            {
                return false;
            }

            try
            {
                bool replied = await _reader.TryReadInPlaceAsync(key, offset, size, open.GetOrCreateReadState(_reader), reply, replyArgument, cancellationToken).ConfigureAwait(false);
                if (replied)
                {
                    MarkConnected();
                }

                return replied;
            }
            catch (ScaiDriveApiException ex) when (ex.Kind == ScaiDriveErrorKind.ContentChanged)
            {
                // ReadAsync learns the new version and retries.
                return false;
            }
        }
        catch (Exception ex) when (ApiErrorMapper.IsTranslatable(ex))
        {
            throw Fail(ex, "read");
        }
    }

    /// <summary>
    /// Answers a read of a long sequential run from the run's open stream: <paramref name="reply"/> takes exactly the
    /// read's bytes from it (see <see cref="StreamedReply{TArg}"/>). Blocks the calling thread (for the stream's
    /// opening, the reads before this one, and the bytes), so call it from a thread that may block. Returns false,
    /// having answered nothing, when the read is not a streamed run's: use <see cref="TryReadInPlaceAsync"/> or
    /// <see cref="ReadAsync"/>. Streamed runs exist only when <see cref="VfsOptions.StreamedReadsFromBytes"/> is set.
    /// </summary>
    public bool TryReadStreamed<TArg>(ulong handle, long offset, int size, StreamedReply<TArg> reply, TArg replyArgument)
    {
        try
        {
            if (!TryGetRemoteContent(handle, offset, size, out OpenFile? open, out ContentKey key))
            {
                return false;
            }

            bool replied = _reader.TryReadStreamed(key, offset, size, open.GetOrCreateReadState(_reader), reply, replyArgument);
            if (replied)
            {
                MarkConnected();
            }

            return replied;
        }
        catch (Exception ex) when (ApiErrorMapper.IsTranslatable(ex))
        {
            throw Fail(ex, "read");
        }
    }

    /// <summary>
    /// The handle and the remote content a zero-copy read of it would serve; false for a staged (locally written) file,
    /// a file not on the server yet, or an empty or negative request. Throws what <see cref="GetHandle"/> throws.
    /// </summary>
    private bool TryGetRemoteContent(ulong handle, long offset, int size, [NotNullWhen(true)] out OpenFile? open, out ContentKey key)
    {
        open = GetHandle(handle);
        key = default;
        Node node = open.Node;
        if (offset < 0 || size <= 0 || node.Staged is not null)
        {
            return false;
        }

        lock (_gate)
        {
            if (node.FileId is not { } fileId)
            {
                return false;
            }

            key = new ContentKey(fileId, node.Version, node.RemoteSize, node.ChecksumSha256);
            return true;
        }
    }
}
