using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using ScaiDrive.Fuse.Interop;

namespace ScaiDrive.Fuse.Session;

/// <summary>Settings of one libfuse session.</summary>
internal sealed record FuseSessionOptions
{
    public required string MountPoint { get; init; }

    /// <summary>Passed as one <c>-o</c> list (fsname=, subtype=, default_permissions, allow_other, ro, …).</summary>
    public IReadOnlyList<string> MountOptions { get; init; } = [];

    public bool Debug { get; init; }

    public uint Uid { get; init; }

    public uint Gid { get; init; }

    /// <summary>The kernel default of 12 queues cache-miss readahead; 128 keeps parallel reads parallel.</summary>
    public uint MaxBackground { get; init; } = 128;

    /// <summary>1 MiB: libfuse 3.14's buffer holds 256 pages, and max_pages follows max_write (reads use it too).</summary>
    public uint MaxWrite { get; init; } = 1024 * 1024;

    /// <summary>st_blksize: programs size their buffers from it (cp, cat).</summary>
    public int PreferredIoSize { get; init; } = 128 * 1024;

    /// <summary>After the loop ends, how long running handlers may still finish before the session is destroyed.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Run libfuse's single-threaded loop even where the multi-threaded one is available.</summary>
    public bool SingleThreaded { get; init; }

    /// <summary>
    /// Answer streamed reads (<see cref="IFuseFileSystem.TryReadStreamed"/>) by splicing, where pipes can be grown
    /// enough and the kernel offers FUSE_CAP_SPLICE_WRITE. Off: the file system is never asked for streamed reads.
    /// </summary>
    public bool SpliceReads { get; init; }

    /// <summary>How long a spliced read waits for the next bytes of its stream before it gives up on the stream.</summary>
    public TimeSpan SpliceWait { get; init; } = TimeSpan.FromSeconds(30);

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}

/// <summary>What the kernel and libfuse agreed at INIT.</summary>
internal sealed record FuseConnectionInfo(uint ProtocolMajor, uint ProtocolMinor, uint MaxWrite, uint MaxReadahead, uint Capable, uint Want, uint MaxBackground);

/// <summary>
/// One libfuse low-level session: mounts, runs libfuse's loop on a dedicated thread, dispatches each request to an
/// <see cref="IFuseFileSystem"/> and replies from the task that finishes it.
/// <para>
/// Lifetime: <see cref="Start"/> creates and mounts; the loop ends when the kernel connection goes away (unmount by
/// anyone, or an abort). Then running handlers are cancelled and get <see cref="FuseSessionOptions.DrainTimeout"/> to
/// finish; the reply gate closes (a later reply is dropped, never sent to freed memory); the session is destroyed and
/// <see cref="Completion"/> completes. This class never unmounts by itself: the owner (FuseMount) does.
/// </para>
/// Threads: callbacks run on libfuse's loop threads (several with the multi-threaded loop); the synchronous part of a
/// handler runs there, the rest on the thread pool. No lock is held while calling libfuse.
/// </summary>
internal sealed partial class FuseSession
{
    private static readonly Lazy<int> s_libraryVersion = new(FuseNative.Version);

    private readonly IFuseFileSystem _fs;
    private readonly FuseSessionOptions _options;
    private readonly ILogger _logger;
    private readonly FileInfoBits _bits;
    private readonly TaskCompletionSource<FuseConnectionInfo> _initialized = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _shutdown = new();
    private readonly ConcurrentDictionary<ulong, DirectoryStream> _directories = new();
    private readonly bool _multiThreaded;
    private GCHandle _self;
    private unsafe FuseLowLevelOps* _ops;
    private nint _session;

    // Requests begun (callback entered) and not yet answered. Interlocked.
    private long _inFlight;

    // Replies and notifications inside libfuse right now; with _gateClosed, a Dekker pair (see EnterReply). Interlocked.
    private int _insideLibrary;
    private volatile bool _gateClosed;
    private SpliceReplier? _splicer;
    private uint _maxRead;
    private long _nextDirectoryHandle;

    private FuseSession(IFuseFileSystem fs, FuseSessionOptions options, ILogger logger)
    {
        _fs = fs;
        _options = options;
        _logger = logger;
        _bits = FileInfoBits.ForVersion(LibraryVersion);
        _multiThreaded = !options.SingleThreaded && LibraryVersion >= FuseConstants.LoopMtConfigVersion;
        if (options.SpliceReads)
        {
            _splicer = SpliceReplier.TryCreate(options.SpliceWait, out string? reason);
            if (_splicer is null)
            {
                Log.SpliceUnavailable(_logger, reason!);
            }
        }
    }

    /// <summary>fuse_version() of the loaded libfuse3, e.g. 314.</summary>
    public static int LibraryVersion => s_libraryVersion.Value;

    public IFuseFileSystem FileSystem => _fs;

    public FuseSessionOptions Options => _options;

    /// <summary>Completes when the kernel's INIT was answered; faults when the loop ended first.</summary>
    public Task<FuseConnectionInfo> Initialized => _initialized.Task;

    /// <summary>Completes when the loop ended and the session was destroyed.</summary>
    public Task Completion => _completion.Task;

    public long RequestsInFlight => Interlocked.Read(ref _inFlight);

    internal DateTimeOffset Now => _options.TimeProvider.GetUtcNow();

    /// <summary>Creates the session, mounts it and starts the loop. Throws <see cref="FuseMountException"/> when libfuse refuses.</summary>
    public static unsafe FuseSession Start(IFuseFileSystem fs, FuseSessionOptions options, ILogger logger)
    {
        var session = new FuseSession(fs, options, logger);
        session._self = GCHandle.Alloc(session);
        session._ops = FuseCallbacks.CreateOps();
        try
        {
            if (session._splicer is { } splicer && splicer.MaxReplyBytes < options.MaxWrite)
            {
                // Reads the kernel sends must fit a spliced reply (see SpliceReplier); it takes the limit as a mount
                // option and in INIT.
                session._maxRead = (uint)splicer.MaxReplyBytes;
                options = options with { MountOptions = [.. options.MountOptions, $"max_read={session._maxRead}"] };
            }

            session._session = NewSession(session._ops, GCHandle.ToIntPtr(session._self), options);
            if (session._session == 0)
            {
                throw new FuseMountException($"libfuse refused the session options ({string.Join(",", options.MountOptions)}); see its message on stderr");
            }

            if (FuseNative.SessionMount(session._session, options.MountPoint) != 0)
            {
                throw new FuseMountException($"libfuse could not mount {options.MountPoint}; see its message on stderr");
            }
        }
        catch
        {
            session.FreeNative();
            throw;
        }

        session.StartLoop();
        return session;
    }

    private static unsafe nint NewSession(FuseLowLevelOps* ops, nint userData, FuseSessionOptions options)
    {
        var argv = new List<string> { "scaidrivefs" };
        if (options.MountOptions.Count > 0)
        {
            argv.Add("-o");
            argv.Add(string.Join(",", options.MountOptions));
        }

        if (options.Debug)
        {
            argv.Add("-d");
        }

        byte** native = (byte**)NativeMemory.AllocZeroed((nuint)(argv.Count + 1), (nuint)sizeof(byte*));
        try
        {
            for (int i = 0; i < argv.Count; i++)
            {
                native[i] = (byte*)Marshal.StringToCoTaskMemUTF8(argv[i]);
            }

            var args = new FuseArgs { Argc = argv.Count, Argv = native, Allocated = 0 };
            nint session = FuseNative.SessionNew(&args, ops, (nuint)sizeof(FuseLowLevelOps), userData);

            // Parsing may have replaced argv with copies libfuse owns.
            if (args.Allocated != 0)
            {
                FuseNative.OptFreeArgs(&args);
            }

            return session;
        }
        finally
        {
            for (int i = 0; i < argv.Count; i++)
            {
                Marshal.FreeCoTaskMem((nint)native[i]);
            }

            NativeMemory.Free(native);
        }
    }

    private void StartLoop()
    {
        var thread = new Thread(RunLoop) { IsBackground = true, Name = "fuse-loop" };
        thread.Start();
    }

    private void RunLoop()
    {
        int result = _multiThreaded ? FuseNative.SessionLoopMt(_session, 0) : FuseNative.SessionLoop(_session);
        Log.LoopEnded(_logger, _options.MountPoint, result);
        _initialized.TrySetException(new FuseMountException($"the FUSE connection at {_options.MountPoint} ended before the kernel's INIT (loop result {result})"));

        // Nobody waits for answers any more: cancel what runs, let it finish, then close the gate and destroy.
        _shutdown.Cancel();
        long deadline = Environment.TickCount64 + (long)_options.DrainTimeout.TotalMilliseconds;
        while (Interlocked.Read(ref _inFlight) > 0 && Environment.TickCount64 < deadline)
        {
            Thread.Sleep(5);
        }

        long left = Interlocked.Read(ref _inFlight);
        if (left > 0)
        {
            Log.DrainTimedOut(_logger, left, _options.DrainTimeout);
        }

        CloseGate();
        FreeNative();
        _splicer?.Dispose();
        _completion.TrySetResult();
    }

    private void CloseGate()
    {
        _gateClosed = true;
        Interlocked.MemoryBarrier();
        var spin = default(SpinWait);
        while (Volatile.Read(ref _insideLibrary) != 0)
        {
            spin.SpinOnce();
        }
    }

    private unsafe void FreeNative()
    {
        if (_session != 0)
        {
            FuseNative.SessionDestroy(_session);
            _session = 0;
        }

        if (_ops is not null)
        {
            NativeMemory.Free(_ops);
            _ops = null;
        }

        if (_self.IsAllocated)
        {
            _self.Free();
        }
    }

    /// <summary>Cancels the token every running handler got; they answer EINTR (or whatever they do on cancellation).</summary>
    public void CancelRequests() => _shutdown.Cancel();

    internal static FuseSession FromUserData(nint userData) => (FuseSession)GCHandle.FromIntPtr(userData).Target!;

    internal void BeginRequest() => Interlocked.Increment(ref _inFlight);

    /// <summary>
    /// Admits one call into libfuse for a request's reply unless the gate closed. Pairs with <see cref="ExitReply"/>
    /// when it returns true; when false, the request is over (dropped).
    /// </summary>
    internal bool EnterReply()
    {
        if (EnterLibrary())
        {
            return true;
        }

        Interlocked.Decrement(ref _inFlight);
        return false;
    }

    internal void ExitReply()
    {
        ExitLibrary();
        Interlocked.Decrement(ref _inFlight);
    }

    private bool EnterLibrary()
    {
        Interlocked.Increment(ref _insideLibrary);
        if (_gateClosed)
        {
            Interlocked.Decrement(ref _insideLibrary);
            return false;
        }

        return true;
    }

    private void ExitLibrary() => Interlocked.Decrement(ref _insideLibrary);

    internal void OnDispatchFailed(Exception exception) => Log.DispatchFailed(_logger, exception);

    // ---- kernel cache invalidation -------------------------------------------------------------------------------

    /// <summary>
    /// Drops the kernel's attributes of <paramref name="inode"/> and, with <paramref name="content"/>, its cached pages.
    /// Blocks until the kernel did it; never call from a callback of a related request (libfuse's deadlock rule).
    /// Returns 0, or a negative errno (-ENOENT: the kernel did not have it cached).
    /// </summary>
    public int InvalidateInode(ulong inode, bool content)
    {
        if (!EnterLibrary())
        {
            return -Errno.ENOTCONN;
        }

        try
        {
            int result = FuseNative.NotifyInvalInode(_session, inode, content ? 0 : -1, 0);
            Log.NotifyResult(_logger, inode, result);
            return result;
        }
        finally
        {
            ExitLibrary();
        }
    }

    /// <summary>Drops the kernel's dentry <paramref name="name"/> in <paramref name="parent"/>, positive or negative.</summary>
    public unsafe int InvalidateEntry(ulong parent, ReadOnlySpan<byte> name)
    {
        if (!EnterLibrary())
        {
            return -Errno.ENOTCONN;
        }

        try
        {
            // libfuse wants a NUL after the name although it also takes the length.
            byte[] z = new byte[name.Length + 1];
            name.CopyTo(z);
            fixed (byte* p = z)
            {
                int result = FuseNative.NotifyInvalEntry(_session, parent, p, (nuint)name.Length);
                Log.NotifyResult(_logger, parent, result);
                return result;
            }
        }
        finally
        {
            ExitLibrary();
        }
    }

    // ---- conversions --------------------------------------------------------------------------------------------

    internal Stat ToStat(in FuseAttributes a)
    {
        Stat stat = default;
        stat.Ino = a.Inode;
        stat.Mode = a.Mode;
        stat.Nlink = a.LinkCount;
        stat.Uid = _options.Uid;
        stat.Gid = _options.Gid;
        stat.Size = a.Size;
        stat.BlockSize = _options.PreferredIoSize;
        stat.Blocks = (a.Size + 511) / 512;
        stat.AccessTime = Timespec.From(a.AccessedAt);
        stat.ModifyTime = Timespec.From(a.ModifiedAt);
        stat.ChangeTime = Timespec.From(a.ChangedAt);
        return stat;
    }

    internal FuseEntryParam ToEntryParam(in FuseAttributes a)
    {
        FuseCacheTimeouts timeouts = _fs.Timeouts;
        return new FuseEntryParam
        {
            Ino = a.Inode,
            Generation = 0,
            Attr = ToStat(a),
            AttrTimeout = timeouts.Attribute.TotalSeconds,
            EntryTimeout = timeouts.Entry.TotalSeconds,
        };
    }

    internal FuseFileInfo ToFileInfo(in FuseOpenResult open)
    {
        FuseFileInfo info = default;
        info.Fh = open.Handle;
        if (open.KeepCache)
        {
            info.Bits |= _bits.KeepCache;
        }

        if (open.DirectIo)
        {
            info.Bits |= _bits.DirectIo;
        }

        return info;
    }

    internal unsafe void OnInit(FuseConnInfo* conn)
    {
        try
        {
            uint capable = conn->Capable;
            uint want = conn->Want;
            want |= capable & (FuseConstants.CapAsyncRead | FuseConstants.CapParallelDirops | FuseConstants.CapAtomicOTrunc
                | FuseConstants.CapAutoInvalData | FuseConstants.CapReaddirPlus | FuseConstants.CapReaddirPlusAuto
                | FuseConstants.CapAsyncDio);

            // Write-back caching would let the kernel hold dirty pages and merge writes; our core stages writes
            // itself and mtime would come from the kernel: keep it off.
            want &= ~FuseConstants.CapWritebackCache;
            if (_splicer is not null)
            {
                if ((capable & FuseConstants.CapSpliceWrite) != 0)
                {
                    // libfuse splices only replies made with fuse_reply_data, which only streamed reads use.
                    want |= FuseConstants.CapSpliceWrite;
                    Log.SpliceEnabled(_logger, _splicer.MaxReplyBytes / 1024);
                }
                else
                {
                    Log.SpliceUnavailable(_logger, "the kernel does not offer FUSE_CAP_SPLICE_WRITE");
                    Interlocked.Exchange(ref _splicer, null)?.Dispose();
                }
            }

            conn->Want = want;
            conn->MaxBackground = _options.MaxBackground;
            conn->CongestionThreshold = _options.MaxBackground * 3 / 4;
            conn->MaxWrite = _options.MaxWrite;
            if (_maxRead != 0)
            {
                conn->MaxRead = _maxRead;
            }

            conn->TimeGran = 1;
            var info = new FuseConnectionInfo(conn->ProtoMajor, conn->ProtoMinor, conn->MaxWrite, conn->MaxReadahead, capable, want, conn->MaxBackground);
            Log.Initialized(_logger, _options.MountPoint, info.ProtocolMajor, info.ProtocolMinor, LibraryVersion, info.MaxWrite, info.MaxReadahead, info.MaxBackground, _multiThreaded ? "multi-threaded loop" : "single-threaded loop");
            _initialized.TrySetResult(info);
        }
        catch (Exception e)
        {
            _initialized.TrySetException(e);
        }
    }

    // ---- request handlers: each answers exactly once -------------------------------------------------------------

    private CancellationToken Token => _shutdown.Token;

    private void Fail(FuseRequest r, string operation, Exception e)
    {
        int errno = ErrnoMap.FromException(e);
        LogFailure(operation, errno, e);
        r.ReplyError(errno);
    }

    private void LogFailure(string operation, int errno, Exception e)
    {
        if (e is FuseErrnoException or Vfs.VfsException or OperationCanceledException)
        {
            Log.RequestError(_logger, operation, errno, e.Message);
        }
        else
        {
            Log.RequestFailed(_logger, operation, errno, e);
        }
    }

    internal void Lookup(FuseRequest r, ulong parent, byte[] name) => _ = LookupAsync(r, parent, name);

    private async Task LookupAsync(FuseRequest r, ulong parent, byte[] name)
    {
        FuseAttributes attributes;
        try
        {
            attributes = await _fs.LookupAsync(parent, name, Token).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            int errno = ErrnoMap.FromException(e);
            TimeSpan negative = _fs.Timeouts.NegativeEntry;
            if (errno == Errno.ENOENT && negative > TimeSpan.Zero)
            {
                r.ReplyNegativeEntry(negative);
            }
            else
            {
                Fail(r, "lookup", e);
            }

            return;
        }

        r.ReplyEntry(attributes);
    }

    internal void Forget(FuseRequest r, ulong inode, ulong count)
    {
        try
        {
            _fs.Forget(inode, count);
        }
        catch (Exception e)
        {
            LogFailure("forget", Errno.EIO, e);
        }

        r.ReplyNone();
    }

    internal void ForgetMany(FuseRequest r, FuseForgetData[] forgets)
    {
        foreach (FuseForgetData forget in forgets)
        {
            try
            {
                _fs.Forget(forget.Ino, forget.Nlookup);
            }
            catch (Exception e)
            {
                LogFailure("forget", Errno.EIO, e);
            }
        }

        r.ReplyNone();
    }

    internal void GetAttributes(FuseRequest r, ulong inode, ulong? handle) => _ = GetAttributesAsync(r, inode, handle);

    private async Task GetAttributesAsync(FuseRequest r, ulong inode, ulong? handle)
    {
        FuseAttributes attributes;
        try
        {
            attributes = await _fs.GetAttributesAsync(inode, handle, Token).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Fail(r, "getattr", e);
            return;
        }

        r.ReplyAttributes(attributes);
    }

    internal void SetAttributes(FuseRequest r, ulong inode, FuseSetAttributes changes, ulong? handle) => _ = SetAttributesAsync(r, inode, changes, handle);

    private async Task SetAttributesAsync(FuseRequest r, ulong inode, FuseSetAttributes changes, ulong? handle)
    {
        FuseAttributes attributes;
        try
        {
            attributes = await _fs.SetAttributesAsync(inode, changes, handle, Token).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Fail(r, "setattr", e);
            return;
        }

        r.ReplyAttributes(attributes);
    }

    internal void MakeNode(FuseRequest r, ulong parent, byte[] name, uint mode) => _ = MakeNodeAsync(r, parent, name, mode);

    private async Task MakeNodeAsync(FuseRequest r, ulong parent, byte[] name, uint mode)
    {
        FuseAttributes attributes;
        try
        {
            // Only regular files exist here; EPERM is mknod(2)'s "type not supported by the filesystem".
            if ((mode & FileTypeBits.Mask) != FileTypeBits.Regular)
            {
                throw new FuseErrnoException(Errno.EPERM, "only regular files can be created");
            }

            (attributes, FuseOpenResult open) = await _fs.CreateAsync(parent, name, mode, OpenFlags.WriteOnly | OpenFlags.Create | OpenFlags.Exclusive, Token).ConfigureAwait(false);
            await _fs.ReleaseAsync(attributes.Inode, open.Handle, Token).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Fail(r, "mknod", e);
            return;
        }

        r.ReplyEntry(attributes);
    }

    internal void MakeDirectory(FuseRequest r, ulong parent, byte[] name, uint mode) => _ = MakeDirectoryAsync(r, parent, name, mode);

    private async Task MakeDirectoryAsync(FuseRequest r, ulong parent, byte[] name, uint mode)
    {
        FuseAttributes attributes;
        try
        {
            attributes = await _fs.MakeDirectoryAsync(parent, name, mode, Token).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Fail(r, "mkdir", e);
            return;
        }

        r.ReplyEntry(attributes);
    }

    internal void Unlink(FuseRequest r, ulong parent, byte[] name) => _ = CompleteAsync(r, "unlink", _fs.UnlinkAsync(parent, name, Token));

    internal void RemoveDirectory(FuseRequest r, ulong parent, byte[] name) => _ = CompleteAsync(r, "rmdir", _fs.RemoveDirectoryAsync(parent, name, Token));

    internal void Rename(FuseRequest r, ulong parent, byte[] name, ulong newParent, byte[] newName, uint flags) =>
        _ = CompleteAsync(r, "rename", _fs.RenameAsync(parent, name, newParent, newName, flags, Token));

    internal void Flush(FuseRequest r, ulong inode, ulong handle) => _ = CompleteAsync(r, "flush", _fs.FlushAsync(inode, handle, Token));

    internal void Fsync(FuseRequest r, ulong inode, ulong handle, bool dataOnly) => _ = CompleteAsync(r, "fsync", _fs.FsyncAsync(inode, handle, dataOnly, Token));

    internal void Release(FuseRequest r, ulong inode, ulong handle) => _ = CompleteAsync(r, "release", _fs.ReleaseAsync(inode, handle, Token));

    internal void Access(FuseRequest r, ulong inode, int mask) => _ = CompleteAsync(r, "access", _fs.AccessAsync(inode, mask, Token));

    internal void SetExtendedAttribute(FuseRequest r, ulong inode, byte[] name, byte[] value, int flags) =>
        _ = CompleteAsync(r, "setxattr", _fs.SetExtendedAttributeAsync(inode, name, value, flags, Token));

    internal void RemoveExtendedAttribute(FuseRequest r, ulong inode, byte[] name) =>
        _ = CompleteAsync(r, "removexattr", _fs.RemoveExtendedAttributeAsync(inode, name, Token));

    /// <summary>
    /// Answers 0 or the errno of <paramref name="operation"/>, which is already started. A handler that is not an
    /// async method may throw before returning its ValueTask: that reaches the callback, which answers instead.
    /// </summary>
    private async Task CompleteAsync(FuseRequest r, string name, ValueTask operation)
    {
        try
        {
            await operation.ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Fail(r, name, e);
            return;
        }

        r.ReplyOk();
    }

    internal void Open(FuseRequest r, ulong inode, int flags) => _ = OpenAsync(r, inode, flags);

    private async Task OpenAsync(FuseRequest r, ulong inode, int flags)
    {
        FuseOpenResult open;
        try
        {
            open = await _fs.OpenAsync(inode, flags, Token).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Fail(r, "open", e);
            return;
        }

        if (!r.ReplyOpen(open))
        {
            // The opener was interrupted and will never release this handle.
            await ReleaseQuietlyAsync(inode, open.Handle).ConfigureAwait(false);
        }
    }

    internal void Create(FuseRequest r, ulong parent, byte[] name, uint mode, int flags) => _ = CreateAsync(r, parent, name, mode, flags);

    private async Task CreateAsync(FuseRequest r, ulong parent, byte[] name, uint mode, int flags)
    {
        FuseAttributes attributes;
        FuseOpenResult open;
        try
        {
            (attributes, open) = await _fs.CreateAsync(parent, name, mode, flags, Token).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Fail(r, "create", e);
            return;
        }

        if (!r.ReplyCreate(attributes, open))
        {
            await ReleaseQuietlyAsync(attributes.Inode, open.Handle).ConfigureAwait(false);
            _fs.Forget(attributes.Inode, 1);
        }
    }

    private async Task ReleaseQuietlyAsync(ulong inode, ulong handle)
    {
        try
        {
            await _fs.ReleaseAsync(inode, handle, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            LogFailure("release", ErrnoMap.FromException(e), e);
        }
    }

    internal void Read(FuseRequest r, ulong inode, ulong handle, long offset, int size) => _ = ReadAsync(r, inode, handle, offset, size);

    // The in-place reply: answers the kernel from the file system's buffer (one copy, into the kernel, in writev).
    private static readonly System.Buffers.ReadOnlySpanAction<byte, InPlaceReply> s_replyInPlace = static (data, state) =>
    {
        state.Replied = true;
        state.Request.ReplyBuffer(data);
    };

    /// <summary>Carries the request into the in-place reply and records that the answer went out.</summary>
    private sealed class InPlaceReply(FuseRequest request)
    {
        public FuseRequest Request { get; } = request;

        public bool Replied;
    }

    // The spliced reply of a streamed read: the stream's next `count` bytes go from its socket into the answer.
    private static readonly FuseStreamedReply<InPlaceReply> s_replySpliced = static (source, count, state) =>
        state.Replied = state.Request.Session._splicer!.TryReply(state.Request, source, count);

    private async Task ReadAsync(FuseRequest r, ulong inode, ulong handle, long offset, int size)
    {
        var inPlace = new InPlaceReply(r);
        try
        {
            // Synchronously, on the kernel's thread: a streamed read blocks for its bytes, in file order.
            if (_splicer is not null && _fs.TryReadStreamed(inode, handle, offset, size, s_replySpliced, inPlace))
            {
                return;
            }

            if (inPlace.Replied)
            {
                return;
            }

            if (await _fs.TryReadInPlaceAsync(inode, handle, offset, size, s_replyInPlace, inPlace, Token).ConfigureAwait(false))
            {
                return;
            }
        }
        catch (Exception e)
        {
            // A contract breach (throwing after replying) must not become a second answer.
            if (!inPlace.Replied)
            {
                Fail(r, "read", e);
            }

            return;
        }

        if (inPlace.Replied)
        {
            return;
        }

        byte[] buffer = ArrayPool<byte>.Shared.Rent(size);
        try
        {
            int read;
            try
            {
                read = await _fs.ReadAsync(inode, handle, offset, buffer.AsMemory(0, size), Token).ConfigureAwait(false);
                if ((uint)read > (uint)size)
                {
                    throw new InvalidOperationException($"read returned {read} for a request of {size} bytes");
                }
            }
            catch (Exception e)
            {
                Fail(r, "read", e);
                return;
            }

            r.ReplyBuffer(buffer.AsSpan(0, read));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Copies the kernel's buffer (valid only during the callback) before going async.</summary>
    internal void Write(FuseRequest r, ulong inode, ulong handle, long offset, ReadOnlySpan<byte> data)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(data.Length);
        data.CopyTo(buffer);
        _ = WriteAsync(r, inode, handle, offset, buffer, data.Length);
    }

    private async Task WriteAsync(FuseRequest r, ulong inode, ulong handle, long offset, byte[] buffer, int length)
    {
        try
        {
            int written;
            try
            {
                written = await _fs.WriteAsync(inode, handle, offset, buffer.AsMemory(0, length), Token).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                Fail(r, "write", e);
                return;
            }

            r.ReplyWrite(written);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    internal void StatFs(FuseRequest r, ulong inode) => _ = StatFsAsync(r, inode);

    private async Task StatFsAsync(FuseRequest r, ulong inode)
    {
        FuseStatFs result;
        try
        {
            result = await _fs.StatFsAsync(inode, Token).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Fail(r, "statfs", e);
            return;
        }

        r.ReplyStatFs(result);
    }

    internal void GetExtendedAttribute(FuseRequest r, ulong inode, byte[] name, int size) => _ = GetExtendedAttributeAsync(r, inode, name, size);

    private async Task GetExtendedAttributeAsync(FuseRequest r, ulong inode, byte[] name, int size)
    {
        byte[]? value;
        try
        {
            value = await _fs.GetExtendedAttributeAsync(inode, name, Token).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Fail(r, "getxattr", e);
            return;
        }

        if (value is null)
        {
            // The common answer (ls -l asks for security.selinux of every entry): no exception, no log line.
            r.ReplyError(Errno.ENODATA);
            return;
        }

        ReplySized(r, value, size);
    }

    internal void ListExtendedAttributes(FuseRequest r, ulong inode, int size) => _ = ListExtendedAttributesAsync(r, inode, size);

    private async Task ListExtendedAttributesAsync(FuseRequest r, ulong inode, int size)
    {
        byte[] list;
        try
        {
            IReadOnlyList<byte[]> names = await _fs.ListExtendedAttributesAsync(inode, Token).ConfigureAwait(false);
            list = new byte[names.Sum(n => n.Length + 1)];
            int at = 0;
            foreach (byte[] n in names)
            {
                n.CopyTo(list, at);
                at += n.Length + 1;
            }
        }
        catch (Exception e)
        {
            Fail(r, "listxattr", e);
            return;
        }

        ReplySized(r, list, size);
    }

    /// <summary>The xattr size protocol: size 0 asks for the length; a too small buffer is ERANGE.</summary>
    private static void ReplySized(FuseRequest r, byte[] value, int size)
    {
        if (size == 0)
        {
            r.ReplyXattrSize(value.Length);
        }
        else if (size < value.Length)
        {
            r.ReplyError(Errno.ERANGE);
        }
        else
        {
            r.ReplyBuffer(value);
        }
    }

    // ---- directories: a listing snapshot per open handle -----------------------------------------------------------

    /// <summary>One opendir: the listing read at open (re-read on rewind), served by offset. Guarded by nothing:
    /// the kernel serializes readdir on one file (f_pos_lock), and the fields are replaced whole.</summary>
    private sealed class DirectoryStream(ulong inode, IReadOnlyList<FuseDirectoryEntry> entries)
    {
        public ulong Inode { get; } = inode;

        public volatile IReadOnlyList<FuseDirectoryEntry> Entries = entries;

        public volatile bool Served;
    }

    internal void OpenDirectory(FuseRequest r, ulong inode) => _ = OpenDirectoryAsync(r, inode);

    private async Task OpenDirectoryAsync(FuseRequest r, ulong inode)
    {
        IReadOnlyList<FuseDirectoryEntry> entries;
        try
        {
            entries = await _fs.ReadDirectoryAsync(inode, Token).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Fail(r, "opendir", e);
            return;
        }

        ulong handle = (ulong)Interlocked.Increment(ref _nextDirectoryHandle);
        _directories[handle] = new DirectoryStream(inode, entries);
        if (!r.ReplyOpen(new FuseOpenResult(handle)))
        {
            _directories.TryRemove(handle, out _);
        }
    }

    internal void ReadDirectory(FuseRequest r, ulong inode, ulong handle, long offset, int size, bool plus) =>
        _ = ReadDirectoryAsync(r, inode, handle, offset, size, plus);

    private async Task ReadDirectoryAsync(FuseRequest r, ulong inode, ulong handle, long offset, int size, bool plus)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(size);
        try
        {
            int used;
            try
            {
                if (!_directories.TryGetValue(handle, out DirectoryStream? stream))
                {
                    throw new FuseErrnoException(Errno.EBADF, "unknown directory handle");
                }

                if (offset == 0 && stream.Served)
                {
                    // rewinddir: a fresh listing, as a local filesystem would show.
                    stream.Entries = await _fs.ReadDirectoryAsync(inode, Token).ConfigureAwait(false);
                }

                stream.Served = true;
                used = r.FillDirectory(buffer.AsSpan(0, size), stream.Inode, stream.Entries, offset, plus);
            }
            catch (Exception e)
            {
                Fail(r, plus ? "readdirplus" : "readdir", e);
                return;
            }

            r.ReplyBuffer(buffer.AsSpan(0, used));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    internal void ReleaseDirectory(FuseRequest r, ulong handle)
    {
        _directories.TryRemove(handle, out _);
        r.ReplyOk();
    }
}
