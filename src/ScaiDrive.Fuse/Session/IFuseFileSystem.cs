namespace ScaiDrive.Fuse.Session;

/// <summary>
/// What <see cref="FuseSession"/> dispatches kernel requests to: the FUSE low-level operations in C# shape.
/// <para>
/// Buffers: every argument is a managed copy owned by the callee (names, write data); <c>destination</c> of a read is
/// the session's pooled buffer, valid until the returned task completes. Names are the kernel's raw bytes, not
/// necessarily UTF-8. Failures: throw <see cref="FuseErrnoException"/> for an exact errno; any other exception is
/// answered through <see cref="ErrnoMap.FromException"/> (EIO when unexpected) and never reaches native code.
/// </para>
/// <para>
/// Lookup counts: each successful <see cref="LookupAsync"/>, <see cref="MakeDirectoryAsync"/>, <see cref="CreateAsync"/>,
/// and each entry the session hands out from a readdirplus (<see cref="AddLookupReference"/>) is one kernel reference;
/// <see cref="Forget"/> returns them. Only an inode without references may be forgotten.
/// </para>
/// Every method may run concurrently with any other, on any thread.
/// </summary>
internal interface IFuseFileSystem
{
    FuseCacheTimeouts Timeouts { get; }

    ValueTask<FuseAttributes> LookupAsync(ulong parent, byte[] name, CancellationToken cancellationToken);

    void Forget(ulong inode, ulong count);

    ValueTask<FuseAttributes> GetAttributesAsync(ulong inode, ulong? handle, CancellationToken cancellationToken);

    ValueTask<FuseAttributes> SetAttributesAsync(ulong inode, FuseSetAttributes changes, ulong? handle, CancellationToken cancellationToken);

    /// <summary>The whole listing without "." and "..", read at opendir; the session serves readdir from it.</summary>
    ValueTask<IReadOnlyList<FuseDirectoryEntry>> ReadDirectoryAsync(ulong inode, CancellationToken cancellationToken);

    void AddLookupReference(ulong inode);

    ValueTask<FuseAttributes> MakeDirectoryAsync(ulong parent, byte[] name, uint mode, CancellationToken cancellationToken);

    ValueTask RemoveDirectoryAsync(ulong parent, byte[] name, CancellationToken cancellationToken);

    ValueTask UnlinkAsync(ulong parent, byte[] name, CancellationToken cancellationToken);

    /// <summary><paramref name="flags"/> are renameat2's (<see cref="RenameFlags"/>).</summary>
    ValueTask RenameAsync(ulong parent, byte[] name, ulong newParent, byte[] newName, uint flags, CancellationToken cancellationToken);

    /// <summary><paramref name="flags"/> are open(2)'s (<see cref="OpenFlags"/>).</summary>
    ValueTask<FuseOpenResult> OpenAsync(ulong inode, int flags, CancellationToken cancellationToken);

    ValueTask<(FuseAttributes Attributes, FuseOpenResult Open)> CreateAsync(ulong parent, byte[] name, uint mode, int flags, CancellationToken cancellationToken);

    ValueTask<int> ReadAsync(ulong inode, ulong handle, long offset, Memory<byte> destination, CancellationToken cancellationToken);

    /// <summary>
    /// Optional zero-copy read: passes up to <paramref name="size"/> bytes to <paramref name="reply"/> straight from
    /// the file system's own buffer (the session answers the kernel from it). Returns false, having called nothing,
    /// when it cannot; the session then uses <see cref="ReadAsync"/>. True: <paramref name="reply"/> was called once,
    /// with 1..size bytes. When it throws, <paramref name="reply"/> was not called.
    /// </summary>
    ValueTask<bool> TryReadInPlaceAsync<TArg>(ulong inode, ulong handle, long offset, int size, System.Buffers.ReadOnlySpanAction<byte, TArg> reply, TArg replyArgument, CancellationToken cancellationToken) =>
        ValueTask.FromResult(false);

    /// <summary>
    /// Optional streamed read, tried first on the kernel's thread: when the file system serves this read from an open
    /// stream, it calls <paramref name="reply"/> with the stream's descriptor and the byte count, and the session
    /// moves exactly that many bytes from it into the answer (splice). Returns false, having called nothing, when the
    /// read is not a stream's; true when <paramref name="reply"/> was called and returned true. May block.
    /// </summary>
    bool TryReadStreamed<TArg>(ulong inode, ulong handle, long offset, int size, FuseStreamedReply<TArg> reply, TArg replyArgument) => false;

    ValueTask<int> WriteAsync(ulong inode, ulong handle, long offset, ReadOnlyMemory<byte> data, CancellationToken cancellationToken);

    ValueTask FlushAsync(ulong inode, ulong handle, CancellationToken cancellationToken);

    ValueTask FsyncAsync(ulong inode, ulong handle, bool dataOnly, CancellationToken cancellationToken);

    ValueTask ReleaseAsync(ulong inode, ulong handle, CancellationToken cancellationToken);

    ValueTask<FuseStatFs> StatFsAsync(ulong inode, CancellationToken cancellationToken);

    /// <summary>The value, or null for ENODATA.</summary>
    ValueTask<byte[]?> GetExtendedAttributeAsync(ulong inode, byte[] name, CancellationToken cancellationToken);

    ValueTask<IReadOnlyList<byte[]>> ListExtendedAttributesAsync(ulong inode, CancellationToken cancellationToken);

    ValueTask SetExtendedAttributeAsync(ulong inode, byte[] name, byte[] value, int flags, CancellationToken cancellationToken);

    ValueTask RemoveExtendedAttributeAsync(ulong inode, byte[] name, CancellationToken cancellationToken);

    /// <summary><paramref name="mask"/> is access(2)'s (<see cref="AccessMode"/>); throw EACCES/EROFS to deny.</summary>
    ValueTask AccessAsync(ulong inode, int mask, CancellationToken cancellationToken);
}

/// <summary>Takes exactly <paramref name="count"/> bytes from <paramref name="source"/> into the answer; false when it could not (nothing answered).</summary>
internal delegate bool FuseStreamedReply<in TArg>(System.Runtime.InteropServices.SafeHandle source, int count, TArg argument);
