using System.Diagnostics;
using System.Runtime.CompilerServices;
using ScaiDrive.Fuse.Interop;
using ScaiDrive.Fuse.Session;

namespace ScaiDrive.Fuse.Tests;

/// <summary>Compares every managed struct layout with the installed headers, as printed by native/fuse_probe.c.</summary>
public sealed unsafe class LayoutTests
{
    private static readonly Lazy<Dictionary<string, long>> s_probe = new(LoadProbe);

    private static string RepositoryRoot()
    {
        string? dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "native", "Makefile")))
        {
            dir = Path.GetDirectoryName(dir);
        }

        return dir ?? throw new InvalidOperationException("native/Makefile not found above " + AppContext.BaseDirectory);
    }

    private static Dictionary<string, long> LoadProbe()
    {
        string root = RepositoryRoot();
        string probe = Path.Combine(root, "native", "build", "fuse_probe");
        using (Process make = Process.Start(new ProcessStartInfo("make", ["-s", "-C", Path.Combine(root, "native")]) { RedirectStandardOutput = true, RedirectStandardError = true })!)
        {
            string error = make.StandardError.ReadToEnd();
            make.WaitForExit();
            Assert.True(make.ExitCode == 0, "make -C native failed: " + error);
        }

        using Process run = Process.Start(new ProcessStartInfo(probe) { RedirectStandardOutput = true })!;
        string output = run.StandardOutput.ReadToEnd();
        run.WaitForExit();
        Assert.Equal(0, run.ExitCode);
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' '))
            .ToDictionary(parts => parts[0], parts => long.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture));
    }

    private static long P(string key) => s_probe.Value.TryGetValue(key, out long v) ? v : throw new KeyNotFoundException(key + " missing from the probe");

    private static long Off<T>(T* p, void* field) where T : unmanaged => (byte*)field - (byte*)p;

    [Fact]
    public void Stat_matches()
    {
        Stat s = default;
        Stat* p = &s;
        Assert.Equal(P("sizeof(stat)"), sizeof(Stat));
        Assert.Equal(P("offsetof(stat.st_dev)"), Off(p, &p->Dev));
        Assert.Equal(P("offsetof(stat.st_ino)"), Off(p, &p->Ino));
        Assert.Equal(P("offsetof(stat.st_nlink)"), Off(p, &p->Nlink));
        Assert.Equal(P("offsetof(stat.st_mode)"), Off(p, &p->Mode));
        Assert.Equal(P("offsetof(stat.st_uid)"), Off(p, &p->Uid));
        Assert.Equal(P("offsetof(stat.st_gid)"), Off(p, &p->Gid));
        Assert.Equal(P("offsetof(stat.st_rdev)"), Off(p, &p->Rdev));
        Assert.Equal(P("offsetof(stat.st_size)"), Off(p, &p->Size));
        Assert.Equal(P("offsetof(stat.st_blksize)"), Off(p, &p->BlockSize));
        Assert.Equal(P("offsetof(stat.st_blocks)"), Off(p, &p->Blocks));
        Assert.Equal(P("offsetof(stat.st_atim)"), Off(p, &p->AccessTime));
        Assert.Equal(P("offsetof(stat.st_mtim)"), Off(p, &p->ModifyTime));
        Assert.Equal(P("offsetof(stat.st_ctim)"), Off(p, &p->ChangeTime));
    }

    [Fact]
    public void StatVfs_matches()
    {
        StatVfs s = default;
        StatVfs* p = &s;
        Assert.Equal(P("sizeof(statvfs)"), sizeof(StatVfs));
        Assert.Equal(P("offsetof(statvfs.f_bsize)"), Off(p, &p->BlockSize));
        Assert.Equal(P("offsetof(statvfs.f_frsize)"), Off(p, &p->FragmentSize));
        Assert.Equal(P("offsetof(statvfs.f_blocks)"), Off(p, &p->Blocks));
        Assert.Equal(P("offsetof(statvfs.f_bfree)"), Off(p, &p->BlocksFree));
        Assert.Equal(P("offsetof(statvfs.f_bavail)"), Off(p, &p->BlocksAvailable));
        Assert.Equal(P("offsetof(statvfs.f_files)"), Off(p, &p->Files));
        Assert.Equal(P("offsetof(statvfs.f_ffree)"), Off(p, &p->FilesFree));
        Assert.Equal(P("offsetof(statvfs.f_favail)"), Off(p, &p->FilesAvailable));
        Assert.Equal(P("offsetof(statvfs.f_fsid)"), Off(p, &p->FsId));
        Assert.Equal(P("offsetof(statvfs.f_flag)"), Off(p, &p->Flag));
        Assert.Equal(P("offsetof(statvfs.f_namemax)"), Off(p, &p->NameMax));
    }

    [Fact]
    public void EntryParam_matches()
    {
        FuseEntryParam s = default;
        FuseEntryParam* p = &s;
        Assert.Equal(P("sizeof(fuse_entry_param)"), sizeof(FuseEntryParam));
        Assert.Equal(P("offsetof(fuse_entry_param.ino)"), Off(p, &p->Ino));
        Assert.Equal(P("offsetof(fuse_entry_param.generation)"), Off(p, &p->Generation));
        Assert.Equal(P("offsetof(fuse_entry_param.attr)"), Off(p, &p->Attr));
        Assert.Equal(P("offsetof(fuse_entry_param.attr_timeout)"), Off(p, &p->AttrTimeout));
        Assert.Equal(P("offsetof(fuse_entry_param.entry_timeout)"), Off(p, &p->EntryTimeout));
    }

    [Fact]
    public void FileInfo_matches_including_bitfield_masks_for_the_header_version()
    {
        FuseFileInfo s = default;
        FuseFileInfo* p = &s;
        Assert.Equal(P("sizeof(fuse_file_info)"), sizeof(FuseFileInfo));
        Assert.Equal(P("offsetof(fuse_file_info.flags)"), Off(p, &p->Flags));
        Assert.Equal(sizeof(int), Off(p, &p->Bits));
        Assert.Equal(P("offsetof(fuse_file_info.fh)"), Off(p, &p->Fh));
        Assert.Equal(P("offsetof(fuse_file_info.lock_owner)"), Off(p, &p->LockOwner));
        Assert.Equal(P("offsetof(fuse_file_info.poll_events)"), Off(p, &p->PollEvents));

        FileInfoBits bits = FileInfoBits.ForVersion((int)P("FUSE_VERSION"));
        Assert.Equal(P("bit(fuse_file_info.direct_io)"), bits.DirectIo);
        Assert.Equal(P("bit(fuse_file_info.keep_cache)"), bits.KeepCache);
        Assert.Equal(P("bit(fuse_file_info.nonseekable)"), bits.NonSeekable);
        Assert.Equal(P("bit(fuse_file_info.cache_readdir)"), bits.CacheReaddir);
        Assert.Equal(P("bit(fuse_file_info.noflush)"), bits.NoFlush);
    }

    [Fact]
    public void Bitfield_masks_follow_the_3_15_shift()
    {
        Assert.Equal(1u << 4, FileInfoBits.ForVersion(314).NonSeekable);
        Assert.Equal(1u << 5, FileInfoBits.ForVersion(315).NonSeekable);
        Assert.Equal(1u << 8, FileInfoBits.ForVersion(316).NoFlush);
        Assert.Equal(1u << 7, FileInfoBits.ForVersion(317).NoFlush);
        Assert.Equal(1u << 2, FileInfoBits.ForVersion(316).KeepCache);
    }

    [Fact]
    public void Bufvec_matches()
    {
        FuseBufvec s = default;
        FuseBufvec* p = &s;
        Assert.Equal(P("sizeof(fuse_bufvec)"), sizeof(FuseBufvec));
        Assert.Equal(P("offsetof(fuse_bufvec.count)"), Off(p, &p->Count));
        Assert.Equal(P("offsetof(fuse_bufvec.idx)"), Off(p, &p->Index));
        Assert.Equal(P("offsetof(fuse_bufvec.off)"), Off(p, &p->Offset));
        Assert.Equal(P("offsetof(fuse_bufvec.buf)"), Off(p, &p->Buffer));

        FuseBuf b = default;
        FuseBuf* q = &b;
        Assert.Equal(P("sizeof(fuse_buf)"), sizeof(FuseBuf));
        Assert.Equal(P("offsetof(fuse_buf.size)"), Off(q, &q->Size));
        Assert.Equal(P("offsetof(fuse_buf.flags)"), Off(q, &q->Flags));
        Assert.Equal(P("offsetof(fuse_buf.mem)"), Off(q, &q->Mem));
        Assert.Equal(P("offsetof(fuse_buf.fd)"), Off(q, &q->Fd));
        Assert.Equal(P("offsetof(fuse_buf.pos)"), Off(q, &q->Pos));
        Assert.Equal(FuseBuf.IsFd, P("FUSE_BUF_IS_FD"));
    }

    [Fact]
    public void ConnInfo_matches()
    {
        FuseConnInfo s = default;
        FuseConnInfo* p = &s;
        Assert.Equal(P("sizeof(fuse_conn_info)"), sizeof(FuseConnInfo));
        Assert.Equal(P("offsetof(fuse_conn_info.proto_major)"), Off(p, &p->ProtoMajor));
        Assert.Equal(P("offsetof(fuse_conn_info.proto_minor)"), Off(p, &p->ProtoMinor));
        Assert.Equal(P("offsetof(fuse_conn_info.max_write)"), Off(p, &p->MaxWrite));
        Assert.Equal(P("offsetof(fuse_conn_info.max_read)"), Off(p, &p->MaxRead));
        Assert.Equal(P("offsetof(fuse_conn_info.max_readahead)"), Off(p, &p->MaxReadahead));
        Assert.Equal(P("offsetof(fuse_conn_info.capable)"), Off(p, &p->Capable));
        Assert.Equal(P("offsetof(fuse_conn_info.want)"), Off(p, &p->Want));
        Assert.Equal(P("offsetof(fuse_conn_info.max_background)"), Off(p, &p->MaxBackground));
        Assert.Equal(P("offsetof(fuse_conn_info.congestion_threshold)"), Off(p, &p->CongestionThreshold));
        Assert.Equal(P("offsetof(fuse_conn_info.time_gran)"), Off(p, &p->TimeGran));
    }

    [Fact]
    public void Args_ctx_and_forget_data_match()
    {
        FuseArgs a = default;
        FuseArgs* pa = &a;
        Assert.Equal(P("sizeof(fuse_args)"), sizeof(FuseArgs));
        Assert.Equal(P("offsetof(fuse_args.argc)"), Off(pa, &pa->Argc));
        Assert.Equal(P("offsetof(fuse_args.argv)"), Off(pa, &pa->Argv));
        Assert.Equal(P("offsetof(fuse_args.allocated)"), Off(pa, &pa->Allocated));

        FuseCtx c = default;
        FuseCtx* pc = &c;
        Assert.Equal(P("sizeof(fuse_ctx)"), sizeof(FuseCtx));
        Assert.Equal(P("offsetof(fuse_ctx.uid)"), Off(pc, &pc->Uid));
        Assert.Equal(P("offsetof(fuse_ctx.gid)"), Off(pc, &pc->Gid));
        Assert.Equal(P("offsetof(fuse_ctx.pid)"), Off(pc, &pc->Pid));
        Assert.Equal(P("offsetof(fuse_ctx.umask)"), Off(pc, &pc->Umask));

        FuseForgetData f = default;
        FuseForgetData* pf = &f;
        Assert.Equal(P("sizeof(fuse_forget_data)"), sizeof(FuseForgetData));
        Assert.Equal(P("offsetof(fuse_forget_data.ino)"), Off(pf, &pf->Ino));
        Assert.Equal(P("offsetof(fuse_forget_data.nlookup)"), Off(pf, &pf->Nlookup));
    }

    [Fact]
    public void LowLevelOps_matches()
    {
        FuseLowLevelOps s = default;
        FuseLowLevelOps* p = &s;
        Assert.Equal(P("sizeof(fuse_lowlevel_ops)"), sizeof(FuseLowLevelOps));
        Assert.Equal(P("offsetof(fuse_lowlevel_ops.init)"), Off(p, &p->Init));
        Assert.Equal(P("offsetof(fuse_lowlevel_ops.lookup)"), Off(p, &p->Lookup));
        Assert.Equal(P("offsetof(fuse_lowlevel_ops.create)"), Off(p, &p->Create));
        Assert.Equal(P("offsetof(fuse_lowlevel_ops.forget_multi)"), Off(p, &p->ForgetMulti));
        Assert.Equal(P("offsetof(fuse_lowlevel_ops.readdirplus)"), Off(p, &p->ReadDirPlus));
        Assert.Equal(P("offsetof(fuse_lowlevel_ops.lseek)"), Off(p, &p->Lseek));
    }

    [Fact]
    public void Constants_match()
    {
        Assert.Equal(FuseConstants.CapAsyncRead, P("FUSE_CAP_ASYNC_READ"));
        Assert.Equal(FuseConstants.CapAtomicOTrunc, P("FUSE_CAP_ATOMIC_O_TRUNC"));
        Assert.Equal(FuseConstants.CapAutoInvalData, P("FUSE_CAP_AUTO_INVAL_DATA"));
        Assert.Equal(FuseConstants.CapReaddirPlus, P("FUSE_CAP_READDIRPLUS"));
        Assert.Equal(FuseConstants.CapReaddirPlusAuto, P("FUSE_CAP_READDIRPLUS_AUTO"));
        Assert.Equal(FuseConstants.CapAsyncDio, P("FUSE_CAP_ASYNC_DIO"));
        Assert.Equal(FuseConstants.CapWritebackCache, P("FUSE_CAP_WRITEBACK_CACHE"));
        Assert.Equal(FuseConstants.CapParallelDirops, P("FUSE_CAP_PARALLEL_DIROPS"));
        Assert.Equal(FuseConstants.CapHandleKillpriv, P("FUSE_CAP_HANDLE_KILLPRIV"));
        Assert.Equal(FuseConstants.CapExportSupport, P("FUSE_CAP_EXPORT_SUPPORT"));
        Assert.Equal(FuseConstants.CapSpliceRead, P("FUSE_CAP_SPLICE_READ"));
        Assert.Equal(FuseConstants.CapSpliceWrite, P("FUSE_CAP_SPLICE_WRITE"));
        Assert.Equal(FuseConstants.CapSpliceMove, P("FUSE_CAP_SPLICE_MOVE"));
        Assert.Equal(FuseConstants.SetAttrMode, P("FUSE_SET_ATTR_MODE"));
        Assert.Equal(FuseConstants.SetAttrUid, P("FUSE_SET_ATTR_UID"));
        Assert.Equal(FuseConstants.SetAttrGid, P("FUSE_SET_ATTR_GID"));
        Assert.Equal(FuseConstants.SetAttrSize, P("FUSE_SET_ATTR_SIZE"));
        Assert.Equal(FuseConstants.SetAttrAtime, P("FUSE_SET_ATTR_ATIME"));
        Assert.Equal(FuseConstants.SetAttrMtime, P("FUSE_SET_ATTR_MTIME"));
        Assert.Equal(FuseConstants.SetAttrAtimeNow, P("FUSE_SET_ATTR_ATIME_NOW"));
        Assert.Equal(FuseConstants.SetAttrMtimeNow, P("FUSE_SET_ATTR_MTIME_NOW"));
        Assert.Equal(FuseConstants.SetAttrCtime, P("FUSE_SET_ATTR_CTIME"));
    }

    [Fact]
    public void Loaded_library_matches_the_headers()
    {
        // The probe is compiled against the headers of the same package as the library we load.
        Assert.Equal(P("FUSE_VERSION"), FuseSession.LibraryVersion);
    }

    [Fact]
    public void Timespec_round_trips()
    {
        var t = new DateTimeOffset(2024, 2, 29, 12, 34, 56, TimeSpan.Zero).AddTicks(1234567);
        Assert.Equal(t, Timespec.From(t).ToDateTimeOffset());
        var before = new DateTimeOffset(1969, 12, 31, 23, 59, 59, TimeSpan.Zero).AddTicks(5);
        Timespec ts = Timespec.From(before);
        Assert.Equal(-1, ts.Seconds);
        Assert.Equal(500, ts.Nanoseconds);
        _ = Unsafe.SizeOf<Timespec>();
    }
}
