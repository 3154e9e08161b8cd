namespace ScaiDrive.Fuse.Interop;

/// <summary>
/// Masks of the <c>fuse_file_info</c> bitfields we set, chosen by the running library's version: libfuse 3.15 and
/// 3.16 inserted <c>parallel_direct_writes</c> at bit 3 and shifted the later bits by one (undone in 3.17, which also
/// grew the struct). Only bits 0–2 are the same everywhere.
/// </summary>
internal readonly record struct FileInfoBits(uint DirectIo, uint KeepCache, uint NonSeekable, uint CacheReaddir, uint NoFlush)
{
    public static FileInfoBits ForVersion(int fuseVersion)
    {
        int shift = fuseVersion is >= 315 and < 317 ? 1 : 0;
        return new FileInfoBits(
            DirectIo: 1u << 1,
            KeepCache: 1u << 2,
            NonSeekable: 1u << (4 + shift),
            CacheReaddir: 1u << (6 + shift),
            NoFlush: 1u << (7 + shift));
    }
}

/// <summary>FUSE_CAP_* and FUSE_SET_ATTR_* of fuse_common.h / fuse_lowlevel.h (stable across 3.x; checked by LayoutTests).</summary>
internal static class FuseConstants
{
    public const uint CapAsyncRead = 1u << 0;
    public const uint CapAtomicOTrunc = 1u << 3;
    public const uint CapExportSupport = 1u << 4;
    public const uint CapSpliceWrite = 1u << 7;
    public const uint CapSpliceMove = 1u << 8;
    public const uint CapSpliceRead = 1u << 9;
    public const uint CapAutoInvalData = 1u << 12;
    public const uint CapReaddirPlus = 1u << 13;
    public const uint CapReaddirPlusAuto = 1u << 14;
    public const uint CapAsyncDio = 1u << 15;
    public const uint CapWritebackCache = 1u << 16;
    public const uint CapParallelDirops = 1u << 18;
    public const uint CapHandleKillpriv = 1u << 20;

    public const int SetAttrMode = 1 << 0;
    public const int SetAttrUid = 1 << 1;
    public const int SetAttrGid = 1 << 2;
    public const int SetAttrSize = 1 << 3;
    public const int SetAttrAtime = 1 << 4;
    public const int SetAttrMtime = 1 << 5;
    public const int SetAttrAtimeNow = 1 << 7;
    public const int SetAttrMtimeNow = 1 << 8;
    public const int SetAttrCtime = 1 << 10;

    /// <summary>First version whose <c>fuse_session_loop_mt</c> symbol takes the opaque 3.12 config (NULL allowed).</summary>
    public const int LoopMtConfigVersion = 312;
}
