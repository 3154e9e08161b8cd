using Microsoft.Extensions.Caching.Memory;
using System.Buffers;
using ScaiDrive.Client;
using ScaiDrive.Vfs.Errors;
using ScaiDrive.Vfs.Files;
using ScaiDrive.Vfs.Namespace;
using ScaiDrive.Vfs.Reading;
using ScaiDrive.Vfs.State;
using ScaiDrive.Vfs.Writing;

namespace ScaiDrive.Vfs;

// Open files. A clean file is read through the ContentReader (block cache); the first write (or O_TRUNC, or a
// truncate) stages it: a local copy in <cache>/staging filled from the server, which then serves reads and stat.
// Every close (flush) hands the staged copy to the upload queue, which makes it durable (fsync'd journal) before the
// close returns; reopening for write holds the queued upload so it never reads a half-rewritten file.
public sealed partial class VfsFileSystem
{
    private const int FillChunkBytes = 1024 * 1024;

    /// <summary>Opens a file; returns a handle. Write access stages the file locally; Truncate empties it.</summary>
    public async ValueTask<ulong> OpenAsync(ulong inode, VfsOpenFlags flags, CancellationToken cancellationToken = default)
    {
        try
        {
            Node node = GetNode(inode);
            if (node.IsDirectory)
            {
                throw new VfsException(VfsErrorCode.IsADirectory, "cannot open a directory as a file");
            }

            return await OpenNodeAsync(node, flags, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ApiErrorMapper.IsTranslatable(ex))
        {
            throw Fail(ex, "open");
        }
    }

    private async Task<ulong> OpenNodeAsync(Node node, VfsOpenFlags flags, CancellationToken cancellationToken)
    {
        bool writable = (flags & VfsOpenFlags.Write) != 0;
        if (writable)
        {
            await EnsureWritableAsync(node, cancellationToken).ConfigureAwait(false);
        }

        await node.ContentGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (writable)
            {
                node.Staged?.AbortEarlySend("a second writer");
                HoldIfPendingUnsynchronized(node);
                if ((flags & VfsOpenFlags.Truncate) != 0)
                {
                    await EnsureStagedUnsynchronizedAsync(node, fill: false, cancellationToken).ConfigureAwait(false);
                    if (node.Staged!.Length != 0 || node.FileId is null || node.RemoteSize != 0)
                    {
                        node.Staged.SetLength(0, _time.GetUtcNow());
                        MarkWrittenUnsynchronized(node);
                    }
                }
            }

            return RegisterHandleUnsynchronized(node, flags);
        }
        finally
        {
            node.ContentGate.Release();
        }
    }

    private ulong RegisterHandleUnsynchronized(Node node, VfsOpenFlags flags)
    {
        ulong handle = (ulong)Interlocked.Increment(ref _nextHandle);
        var open = new OpenFile(handle, node, flags);
        lock (_gate)
        {
            node.OpenHandles++;
            if (open.Writable)
            {
                node.WritableHandles++;
            }
        }

        _handles[handle] = open;
        return handle;
    }

    /// <summary>Creates a file (local first; it reaches the server after close and the write-back delay) and opens it.</summary>
    public async ValueTask<(VfsEntry Entry, ulong Handle)> CreateFileAsync(ulong parentInode, string name, uint mode, VfsOpenFlags flags, CancellationToken cancellationToken = default)
    {
        try
        {
            Node parent = GetDirectory(parentInode);
            string normalized = Names.Validate(name);
            await EnsureWritableAsync(parent, cancellationToken).ConfigureAwait(false);
            Node? existing = await FindChildAsync(parent, normalized, ignoreCase: false, cancellationToken).ConfigureAwait(false);
            if (existing is not null)
            {
                if ((flags & VfsOpenFlags.Exclusive) != 0)
                {
                    throw new VfsException(VfsErrorCode.AlreadyExists, $"'{name}' exists");
                }

                if (existing.IsDirectory)
                {
                    throw new VfsException(VfsErrorCode.IsADirectory, $"'{name}' is a directory");
                }

                ulong handle = await OpenNodeAsync(existing, flags, cancellationToken).ConfigureAwait(false);
                lock (_gate)
                {
                    existing.LookupCount++;
                    return (new VfsEntry(AttributesOf(existing)), handle);
                }
            }

            await EnsureQuotaAsync(parent.ShareId, 0, cancellationToken).ConfigureAwait(false);
            DateTimeOffset now = _time.GetUtcNow();
            StagedFileKey key = StagedFileKey.New();
            StagedFile staged = StagedFile.Create(_stagingDirectory, key, now);
            Node node;
            lock (_gate)
            {
                if (FindChildUnsynchronized(parent, normalized, ignoreCase: true) is { } clash)
                {
                    staged.Delete();
                    throw new VfsException(VfsErrorCode.AlreadyExists, $"'{clash.Name}' exists (names are unique ignoring case)");
                }

                node = new Node(_inodes.GetOrAssign(key.Value), NodeType.File, parent.ShareId, normalized)
                {
                    Staged = staged,
                    NeverEnqueued = true,
                    LocalMode = mode == 0 ? null : mode & 0xFFF,
                    CreatedAt = now,
                    ModifiedAt = now,
                    Detached = true,
                };
                _byInode[node.Inode] = node;
                _byKey[key] = node;
                PlaceUnsynchronized(node, parent, normalized, notify: false);
                node.LookupCount++;
            }

            if (_uploads.CreateEarlySender(staged.Path, () => EarlyTargetOf(node)) is { } sender)
            {
                staged.AttachEarlySender(sender);
            }

            ulong created = RegisterHandleUnsynchronized(node, flags | VfsOpenFlags.Write);
            lock (_gate)
            {
                return (new VfsEntry(AttributesOf(node)), created);
            }
        }
        catch (Exception ex) when (ApiErrorMapper.IsTranslatable(ex))
        {
            throw Fail(ex, "create");
        }
    }

    /// <summary>Reads into <paramref name="destination"/>; returns bytes read (0 at end of file). Sees this mount's writes at once.</summary>
    public async ValueTask<int> ReadAsync(ulong handle, long offset, Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        try
        {
            OpenFile open = GetHandle(handle);
            if (offset < 0)
            {
                throw new VfsException(VfsErrorCode.InvalidArgument, "negative offset");
            }

            Node node = open.Node;
            for (int attempt = 0; ; attempt++)
            {
                // An open handle keeps the staged copy alive (it is dropped only with no handle open).
                if (node.Staged is { } staged)
                {
                    return staged.Read(offset, destination.Span);
                }

                ContentKey key;
                lock (_gate)
                {
                    if (node.FileId is not { } fileId)
                    {
                        return 0;
                    }

                    key = new ContentKey(fileId, node.Version, node.RemoteSize, node.ChecksumSha256);
                }

                if (offset >= key.Size || destination.Length == 0)
                {
                    return 0;
                }

                try
                {
                    int read = await _reader.ReadAsync(key, offset, destination, open.GetOrCreateReadState(_reader), cancellationToken).ConfigureAwait(false);
                    MarkConnected();
                    return read;
                }
                catch (ScaiDriveApiException ex) when (ex.Kind == ScaiDriveErrorKind.ContentChanged && attempt == 0)
                {
                    // A new version arrived under us: learn it (which queues the kernel's page invalidation) and read that.
                    FileItem file = await _client.GetFileAsync(key.FileId, cancellationToken).ConfigureAwait(false);
                    lock (_gate)
                    {
                        if (node.FileId == file.Id)
                        {
                            ApplyFileMetadataUnsynchronized(node, file);
                        }
                    }
                }
            }
        }
        catch (Exception ex) when (ApiErrorMapper.IsTranslatable(ex))
        {
            throw Fail(ex, "read");
        }
    }

    /// <summary>Writes into the staged copy; returns bytes written. <paramref name="data"/> is only valid during the call's synchronous part: the core copies what it keeps.</summary>
    public ValueTask<int> WriteAsync(ulong handle, long offset, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        try
        {
            OpenFile open = GetHandle(handle);
            if (!open.Writable)
            {
                throw new VfsException(VfsErrorCode.InvalidArgument, "the handle is not open for writing");
            }

            if (offset < 0)
            {
                throw new VfsException(VfsErrorCode.InvalidArgument, "negative offset");
            }

            Node node = open.Node;

            // Fast path, all synchronous: the file is staged already and the quota answer is cached.
            if (node.ContentGate.Wait(0))
            {
                try
                {
                    if (node.Staged is { } staged && TryQuotaFromCache(node, open, offset, data.Length, staged) is { } allowed)
                    {
                        if (!allowed)
                        {
                            throw new VfsException(VfsErrorCode.QuotaExceeded, "share quota is full");
                        }

                        return ValueTask.FromResult(WriteStagedUnsynchronized(node, open, offset, data.Span));
                    }
                }
                finally
                {
                    node.ContentGate.Release();
                }
            }

            byte[] copy = ArrayPool<byte>.Shared.Rent(data.Length);
            data.CopyTo(copy);
            return WriteSlowAsync(open, offset, copy, data.Length, cancellationToken);
        }
        catch (Exception ex) when (ApiErrorMapper.IsTranslatable(ex))
        {
            throw Fail(ex, "write");
        }
    }

    private async ValueTask<int> WriteSlowAsync(OpenFile open, long offset, byte[] buffer, int length, CancellationToken cancellationToken)
    {
        Node node = open.Node;
        try
        {
            await node.ContentGate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await EnsureStagedUnsynchronizedAsync(node, fill: true, cancellationToken).ConfigureAwait(false);
                StagedFile staged = node.Staged!;
                long end = ((open.Flags & VfsOpenFlags.Append) != 0 ? staged.Length : offset) + length;
                await EnsureQuotaAsync(node.ShareId, end - Math.Max(staged.Length, node.RemoteSize), cancellationToken).ConfigureAwait(false);
                return WriteStagedUnsynchronized(node, open, offset, buffer.AsSpan(0, length));
            }
            finally
            {
                node.ContentGate.Release();
            }
        }
        catch (Exception ex) when (ApiErrorMapper.IsTranslatable(ex))
        {
            throw Fail(ex, "write");
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>True or false when the cached share answers the quota question; null when it must be fetched.</summary>
    private bool? TryQuotaFromCache(Node node, OpenFile open, long offset, int length, StagedFile staged)
    {
        long end = ((open.Flags & VfsOpenFlags.Append) != 0 ? staged.Length : offset) + length;
        long growth = end - Math.Max(staged.Length, node.RemoteSize);
        if (growth <= 0)
        {
            return true;
        }

        if (!_cache.TryGetValue(ShareKey(node.ShareId), out ShareInfo? share) || share is null)
        {
            return null;
        }

        try
        {
            CheckQuota(share, growth);
            return true;
        }
        catch (VfsException)
        {
            return false;
        }
    }

    private int WriteStagedUnsynchronized(Node node, OpenFile open, long offset, ReadOnlySpan<byte> data)
    {
        StagedFile staged = node.Staged!;
        HoldIfPendingUnsynchronized(node);
        if ((open.Flags & VfsOpenFlags.Append) != 0)
        {
            offset = staged.Length;
        }

        staged.Write(offset, data, _time.GetUtcNow());
        MarkWrittenUnsynchronized(node);
        return data.Length;
    }

    private void MarkWrittenUnsynchronized(Node node)
    {
        lock (_gate)
        {
            node.Dirty = true;
            node.LocalModifiedAt = null; // A write sets mtime to now, as on a local disk.
        }
    }

    /// <summary>The queued upload must not read the staged copy while it changes: hold it until the next enqueue.</summary>
    private void HoldIfPendingUnsynchronized(Node node)
    {
        if (node.PendingRequest is { } pending && !node.Held)
        {
            _uploads.Hold(pending.Key);
            node.Held = true;
        }
    }

    /// <summary>Makes a local copy of the file to write into. The caller holds the node's content gate.</summary>
    private async Task EnsureStagedUnsynchronizedAsync(Node node, bool fill, CancellationToken cancellationToken)
    {
        if (node.Staged is not null)
        {
            return;
        }

        ContentKey? remote = null;
        DateTimeOffset modified;
        lock (_gate)
        {
            if (node.FileId is { } fileId && node.RemoteSize > 0 && fill)
            {
                remote = new ContentKey(fileId, node.Version, node.RemoteSize, node.ChecksumSha256);
            }

            modified = node.LocalModifiedAt ?? node.ModifiedAt;
        }

        StagedFileKey key = StagedFileKey.New();
        StagedFile staged = StagedFile.Create(_stagingDirectory, key, _time.GetUtcNow());
        try
        {
            if (remote is { } content)
            {
                await FillFromRemoteAsync(staged, content, cancellationToken).ConfigureAwait(false);
            }

            // Staging alone changes nothing: the mtime moves only when a write follows.
            staged.Touch(modified);
        }
        catch
        {
            staged.Delete();
            throw;
        }

        lock (_gate)
        {
            node.Staged = staged;
            node.StagedBaseVersionId = node.VersionId;
            _byKey[key] = node;
        }
    }

    private async Task FillFromRemoteAsync(StagedFile staged, ContentKey content, CancellationToken cancellationToken)
    {
        ReadState state = _reader.CreateReadState();
        byte[] buffer = ArrayPool<byte>.Shared.Rent(FillChunkBytes);
        try
        {
            long offset = 0;
            while (offset < content.Size)
            {
                int want = (int)Math.Min(FillChunkBytes, content.Size - offset);
                int read = await _reader.ReadAsync(content, offset, buffer.AsMemory(0, want), state, cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                staged.Write(offset, buffer.AsSpan(0, read), _time.GetUtcNow());
                offset += read;
            }

            if (staged.Length != content.Size)
            {
                throw new VfsException(VfsErrorCode.Stale, "the file changed on the server while it was copied for writing");
            }
        }
        finally
        {
            _reader.Release(state);
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>close() of one descriptor: the staged data is made durable in the local journal (fsync'd).</summary>
    public async ValueTask FlushAsync(ulong handle, CancellationToken cancellationToken = default)
    {
        try
        {
            Node node = GetHandle(handle).Node;
            await node.ContentGate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await EnqueueIfNeededUnsynchronizedAsync(node, force: false, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                node.ContentGate.Release();
            }
        }
        catch (Exception ex) when (ApiErrorMapper.IsTranslatable(ex))
        {
            throw Fail(ex, "flush");
        }
    }

    /// <summary>
    /// Hands the staged copy to the upload queue as a new generation when it has something the queue does not (or,
    /// with <paramref name="force"/>, when a hold must be lifted). The caller holds the node's content gate.
    /// </summary>
    private async Task EnqueueIfNeededUnsynchronizedAsync(Node node, bool force, CancellationToken cancellationToken)
    {
        UploadRequest request;
        lock (_gate)
        {
            if (node.Staged is not { } staged || node.Unlinked || node.Detached || node.Parent is null)
            {
                return;
            }

            if (!node.Dirty && !node.NeverEnqueued && !(force && node.Held && node.PendingRequest is not null))
            {
                return;
            }

            UploadTarget target = TargetOfUnsynchronized(node);
            request = new UploadRequest(staged.Key, target, staged.Path, staged.Length, node.Generation + 1)
            {
                ContentHash = staged.SequentialHashOfCurrentContent,
                // An empty file's flush (dd and shells open, dup2 and close before writing) keeps the sender.
                EarlySession = staged.Length == 0 ? null : staged.DetachEarlySession(target),
            };
        }

        await _uploads.EnqueueAsync(request, cancellationToken).ConfigureAwait(false);
        lock (_gate)
        {
            node.Generation = request.Generation;
            node.PendingRequest = request;
            node.Dirty = false;
            node.NeverEnqueued = false;
            node.Held = false;
        }
    }

    /// <summary>
    /// Where a file created by this mount and being written would be uploaded now (early send); null once unlinked. When
    /// an earlier generation (the empty file a shell's redirection flushed) landed meanwhile, that is a replacement of it.
    /// </summary>
    private UploadTarget? EarlyTargetOf(Node node)
    {
        lock (_gate)
        {
            return node.Unlinked || node.Detached || node.Parent is null
                ? null
                : TargetOfUnsynchronized(node);
        }
    }

    /// <summary>fsync(): waits until the file's content is on the server; throws the upload's error.</summary>
    public async ValueTask FsyncAsync(ulong handle, CancellationToken cancellationToken = default)
    {
        try
        {
            Node node = GetHandle(handle).Node;
            UploadRequest? request;
            await node.ContentGate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await EnqueueIfNeededUnsynchronizedAsync(node, force: true, cancellationToken).ConfigureAwait(false);
                request = node.PendingRequest;
            }
            finally
            {
                node.ContentGate.Release();
            }

            if (request is null)
            {
                return;
            }

            FileItem? item = await _uploads.WaitForUploadAsync(request.Key, cancellationToken).ConfigureAwait(false);
            MarkConnected();
            if (item is not null)
            {
                await ApplyUploadedAsync(node, request.Key, request.Generation, item).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw Fail(ex, "fsync");
        }
    }

    /// <summary>The last close of a handle.</summary>
    public async ValueTask ReleaseAsync(ulong handle, CancellationToken cancellationToken = default)
    {
        if (!_handles.TryRemove(handle, out OpenFile? open))
        {
            throw new VfsException(VfsErrorCode.InvalidArgument, $"unknown handle {handle}");
        }

        Node node = open.Node;
        if (open.ReadState is { } readState)
        {
            _reader.Release(readState);
        }

        try
        {
            await node.ContentGate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                bool lastWriter;
                lock (_gate)
                {
                    node.OpenHandles--;
                    if (open.Writable)
                    {
                        node.WritableHandles--;
                    }

                    lastWriter = open.Writable && node.WritableHandles == 0;
                }

                // Normally the flush before release enqueued everything; this catches writers that never flushed
                // and lifts the hold of a reopen that wrote nothing, so the pending upload may start.
                if (lastWriter)
                {
                    await EnqueueIfNeededUnsynchronizedAsync(node, force: true, cancellationToken).ConfigureAwait(false);
                }

                DropStagedIfIdleUnsynchronized(node);
                lock (_gate)
                {
                    MaybeForgetUnsynchronized(node);
                }
            }
            finally
            {
                node.ContentGate.Release();
            }
        }
        catch (Exception ex) when (ApiErrorMapper.IsTranslatable(ex))
        {
            throw Fail(ex, "release");
        }
    }

    private OpenFile GetHandle(ulong handle) =>
        _handles.TryGetValue(handle, out OpenFile? open) ? open : throw new VfsException(VfsErrorCode.InvalidArgument, $"unknown handle {handle}");

    /// <summary>Size (truncate), mode and times. Mode and times live in the mount's local overlay (docs/SEMANTICS.md).</summary>
    public async ValueTask<VfsAttributes> SetAttributesAsync(ulong inode, VfsSetAttributes changes, ulong? handle = null, CancellationToken cancellationToken = default)
    {
        try
        {
            ArgumentNullException.ThrowIfNull(changes);
            Node node = GetNode(inode);
            if (changes.Size is { } size)
            {
                await TruncateAsync(node, size, cancellationToken).ConfigureAwait(false);
            }

            if (changes.Mode is not null || changes.ModifiedAt is not null || changes.AccessedAt is not null)
            {
                if (_options.ReadOnly)
                {
                    throw new VfsException(VfsErrorCode.ReadOnly, "the mount is read-only");
                }

                lock (_gate)
                {
                    if (RoleOfUnsynchronized(node) == ShareRole.Viewer)
                    {
                        throw new VfsException(VfsErrorCode.AccessDenied, "viewer role");
                    }

                    if (changes.Mode is { } mode)
                    {
                        node.LocalMode = mode & 0xFFF;
                    }

                    if (changes.ModifiedAt is { } mtime)
                    {
                        node.LocalModifiedAt = mtime;
                    }

                    if (changes.AccessedAt is { } atime)
                    {
                        node.LocalAccessedAt = atime;
                    }

                    PersistOverlayUnsynchronized(node);
                }
            }

            lock (_gate)
            {
                return AttributesOf(node);
            }
        }
        catch (Exception ex) when (ApiErrorMapper.IsTranslatable(ex))
        {
            throw Fail(ex, "setattr");
        }
    }

    /// <summary>Writes the node's mode and times to the overlay when they describe a version the server has.</summary>
    private void PersistOverlayUnsynchronized(Node node)
    {
        if (node.Staged is not null)
        {
            return; // Recorded against the version the upload creates (ApplyUploadedAsync).
        }

        string? id = node.Type switch
        {
            NodeType.File => node.FileId?.Value,
            NodeType.Folder => node.FolderId?.Value,
            _ => null,
        };
        if (id is not null)
        {
            _overlay.Set(id, new OverlayEntry(node.Type == NodeType.File ? node.Version : 0, node.LocalMode, node.LocalModifiedAt, node.LocalAccessedAt));
        }
    }

    private async Task TruncateAsync(Node node, long size, CancellationToken cancellationToken)
    {
        if (node.IsDirectory)
        {
            throw new VfsException(VfsErrorCode.IsADirectory, "cannot truncate a directory");
        }

        if (size < 0)
        {
            throw new VfsException(VfsErrorCode.InvalidArgument, "negative size");
        }

        await EnsureWritableAsync(node, cancellationToken).ConfigureAwait(false);
        await node.ContentGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            long current = node.Staged?.Length ?? node.RemoteSize;
            if (size == current && node.Staged is null)
            {
                return;
            }

            if (size > current)
            {
                await EnsureQuotaAsync(node.ShareId, size - current, cancellationToken).ConfigureAwait(false);
            }

            await EnsureStagedUnsynchronizedAsync(node, fill: size > 0, cancellationToken).ConfigureAwait(false);
            HoldIfPendingUnsynchronized(node);
            node.Staged!.SetLength(size, _time.GetUtcNow());
            MarkWrittenUnsynchronized(node);

            // truncate(2) by path has no close to follow: make it durable now, like a close.
            if (node.WritableHandles == 0)
            {
                await EnqueueIfNeededUnsynchronizedAsync(node, force: true, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            node.ContentGate.Release();
        }
    }

    /// <summary>Removes the staged copy once the server has its content and nobody has the file open.</summary>
    private void DropStagedIfIdle(Node node)
    {
        if (node.ContentGate.Wait(0))
        {
            try
            {
                DropStagedIfIdleUnsynchronized(node);
            }
            finally
            {
                node.ContentGate.Release();
            }
        }
    }

    private void DropStagedIfIdleUnsynchronized(Node node)
    {
        StagedFile? staged;
        lock (_gate)
        {
            staged = node.Staged;
            // An unlinked file's writes go nowhere: its copy goes with its last handle, dirty or not.
            bool idle = node.OpenHandles == 0 && (node.Unlinked || (node.PendingRequest is null && !node.Dirty && !node.NeverEnqueued));
            if (staged is null || !idle)
            {
                return;
            }

            node.Staged = null;
            node.StagedBaseVersionId = null;
            if (_byKey.TryGetValue(staged.Key, out Node? mapped) && mapped == node)
            {
                _byKey.Remove(staged.Key);
            }

            // Until now stat came from the staged copy; the kernel may hold that size.
            if (staged.Length != node.RemoteSize)
            {
                _invalidations.Enqueue(Kernel.Invalidation.Attributes(node.Inode, content: false));
            }
        }

        staged.Delete();
    }
}
