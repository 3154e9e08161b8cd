using System.Runtime.InteropServices;

namespace ScaiDrive.Fuse.Interop;

/// <summary>The libfuse3 low-level entry points we use. Every reply function may be called from any thread, once per request.</summary>
internal static unsafe partial class FuseNative
{
    private const string Lib = "libfuse3.so.3";

    [LibraryImport(Lib, EntryPoint = "fuse_version")]
    public static partial int Version();

    [LibraryImport(Lib, EntryPoint = "fuse_session_new")]
    public static partial nint SessionNew(FuseArgs* args, FuseLowLevelOps* ops, nuint opsSize, nint userData);

    [LibraryImport(Lib, EntryPoint = "fuse_session_mount", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int SessionMount(nint session, string mountPoint);

    [LibraryImport(Lib, EntryPoint = "fuse_session_loop")]
    public static partial int SessionLoop(nint session);

    /// <summary>Resolves to the 3.12 form (default symbol version): only call when <see cref="Version"/> ≥ 312.</summary>
    [LibraryImport(Lib, EntryPoint = "fuse_session_loop_mt")]
    public static partial int SessionLoopMt(nint session, nint config);

    [LibraryImport(Lib, EntryPoint = "fuse_session_destroy")]
    public static partial void SessionDestroy(nint session);

    [LibraryImport(Lib, EntryPoint = "fuse_session_exit")]
    public static partial void SessionExit(nint session);

    [LibraryImport(Lib, EntryPoint = "fuse_opt_free_args")]
    public static partial void OptFreeArgs(FuseArgs* args);

    [LibraryImport(Lib, EntryPoint = "fuse_req_userdata")]
    public static partial nint ReqUserData(nint req);

    [LibraryImport(Lib, EntryPoint = "fuse_req_ctx")]
    public static partial FuseCtx* ReqCtx(nint req);

    [LibraryImport(Lib, EntryPoint = "fuse_reply_err")]
    public static partial int ReplyErr(nint req, int errno);

    [LibraryImport(Lib, EntryPoint = "fuse_reply_none")]
    public static partial void ReplyNone(nint req);

    [LibraryImport(Lib, EntryPoint = "fuse_reply_entry")]
    public static partial int ReplyEntry(nint req, FuseEntryParam* entry);

    [LibraryImport(Lib, EntryPoint = "fuse_reply_create")]
    public static partial int ReplyCreate(nint req, FuseEntryParam* entry, FuseFileInfo* fileInfo);

    [LibraryImport(Lib, EntryPoint = "fuse_reply_attr")]
    public static partial int ReplyAttr(nint req, Stat* attr, double attrTimeout);

    [LibraryImport(Lib, EntryPoint = "fuse_reply_open")]
    public static partial int ReplyOpen(nint req, FuseFileInfo* fileInfo);

    [LibraryImport(Lib, EntryPoint = "fuse_reply_write")]
    public static partial int ReplyWrite(nint req, nuint count);

    [LibraryImport(Lib, EntryPoint = "fuse_reply_buf")]
    public static partial int ReplyBuf(nint req, byte* buffer, nuint size);

    [LibraryImport(Lib, EntryPoint = "fuse_reply_data")]
    public static partial int ReplyData(nint req, FuseBufvec* buffers, int copyFlags);

    [LibraryImport(Lib, EntryPoint = "fuse_reply_statfs")]
    public static partial int ReplyStatfs(nint req, StatVfs* stat);

    [LibraryImport(Lib, EntryPoint = "fuse_reply_xattr")]
    public static partial int ReplyXattr(nint req, nuint count);

    [LibraryImport(Lib, EntryPoint = "fuse_add_direntry")]
    public static partial nuint AddDirEntry(nint req, byte* buffer, nuint bufferSize, byte* name, Stat* stat, long nextOffset);

    [LibraryImport(Lib, EntryPoint = "fuse_add_direntry_plus")]
    public static partial nuint AddDirEntryPlus(nint req, byte* buffer, nuint bufferSize, byte* name, FuseEntryParam* entry, long nextOffset);

    [LibraryImport(Lib, EntryPoint = "fuse_lowlevel_notify_inval_inode")]
    public static partial int NotifyInvalInode(nint session, ulong ino, long offset, long length);

    [LibraryImport(Lib, EntryPoint = "fuse_lowlevel_notify_inval_entry")]
    public static partial int NotifyInvalEntry(nint session, ulong parent, byte* name, nuint nameLength);
}
