/* Prints the sizes, offsets and bitfield masks of the libfuse3 structures our managed binding declares, as
 * "name value" lines, from the installed headers. tests/ScaiDrive.Fuse.Tests compares them with the managed
 * layouts (Interop/FuseStructs.cs) so that a header change fails a test instead of corrupting memory. */
#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#define SIZE(t) printf("sizeof(%s) %zu\n", #t, sizeof(struct t))
#define OFF(t, f) printf("offsetof(%s.%s) %zu\n", #t, #f, offsetof(struct t, f))
#define CONST(c) printf("%s %lld\n", #c, (long long)(c))

/* Bitfields have no offsetof: set one bit field in a zeroed struct and print the word it lands in. */
#define BIT(f)                                                                   \
    do {                                                                         \
        struct fuse_file_info fi;                                                \
        unsigned int word;                                                       \
        memset(&fi, 0, sizeof fi);                                               \
        fi.f = 1;                                                                \
        memcpy(&word, (char *)&fi + sizeof(int), sizeof word);                   \
        printf("bit(fuse_file_info.%s) %u\n", #f, word);                         \
    } while (0)

int main(void)
{
    SIZE(stat);
    OFF(stat, st_dev); OFF(stat, st_ino); OFF(stat, st_nlink); OFF(stat, st_mode); OFF(stat, st_uid);
    OFF(stat, st_gid); OFF(stat, st_rdev); OFF(stat, st_size); OFF(stat, st_blksize); OFF(stat, st_blocks);
    OFF(stat, st_atim); OFF(stat, st_mtim); OFF(stat, st_ctim);

    SIZE(statvfs);
    OFF(statvfs, f_bsize); OFF(statvfs, f_frsize); OFF(statvfs, f_blocks); OFF(statvfs, f_bfree);
    OFF(statvfs, f_bavail); OFF(statvfs, f_files); OFF(statvfs, f_ffree); OFF(statvfs, f_favail);
    OFF(statvfs, f_fsid); OFF(statvfs, f_flag); OFF(statvfs, f_namemax);

    SIZE(fuse_entry_param);
    OFF(fuse_entry_param, ino); OFF(fuse_entry_param, generation); OFF(fuse_entry_param, attr);
    OFF(fuse_entry_param, attr_timeout); OFF(fuse_entry_param, entry_timeout);

    SIZE(fuse_file_info);
    OFF(fuse_file_info, flags); OFF(fuse_file_info, fh); OFF(fuse_file_info, lock_owner);
    OFF(fuse_file_info, poll_events);
    BIT(writepage); BIT(direct_io); BIT(keep_cache); BIT(flush); BIT(nonseekable); BIT(flock_release);
    BIT(cache_readdir); BIT(noflush);

    SIZE(fuse_conn_info);
    OFF(fuse_conn_info, proto_major); OFF(fuse_conn_info, proto_minor); OFF(fuse_conn_info, max_write);
    OFF(fuse_conn_info, max_read); OFF(fuse_conn_info, max_readahead); OFF(fuse_conn_info, capable);
    OFF(fuse_conn_info, want); OFF(fuse_conn_info, max_background); OFF(fuse_conn_info, congestion_threshold);
    OFF(fuse_conn_info, time_gran);

    SIZE(fuse_args);
    OFF(fuse_args, argc); OFF(fuse_args, argv); OFF(fuse_args, allocated);

    SIZE(fuse_ctx);
    OFF(fuse_ctx, uid); OFF(fuse_ctx, gid); OFF(fuse_ctx, pid); OFF(fuse_ctx, umask);

    SIZE(fuse_buf);
    OFF(fuse_buf, size); OFF(fuse_buf, flags); OFF(fuse_buf, mem); OFF(fuse_buf, fd); OFF(fuse_buf, pos);
    SIZE(fuse_bufvec);
    OFF(fuse_bufvec, count); OFF(fuse_bufvec, idx); OFF(fuse_bufvec, off); OFF(fuse_bufvec, buf);
    CONST(FUSE_BUF_IS_FD);

    SIZE(fuse_forget_data);
    OFF(fuse_forget_data, ino); OFF(fuse_forget_data, nlookup);

    SIZE(fuse_lowlevel_ops);
    OFF(fuse_lowlevel_ops, init); OFF(fuse_lowlevel_ops, lookup); OFF(fuse_lowlevel_ops, create);
    OFF(fuse_lowlevel_ops, forget_multi); OFF(fuse_lowlevel_ops, readdirplus); OFF(fuse_lowlevel_ops, lseek);

    CONST(FUSE_CAP_ASYNC_READ); CONST(FUSE_CAP_ATOMIC_O_TRUNC); CONST(FUSE_CAP_AUTO_INVAL_DATA);
    CONST(FUSE_CAP_READDIRPLUS); CONST(FUSE_CAP_READDIRPLUS_AUTO); CONST(FUSE_CAP_ASYNC_DIO);
    CONST(FUSE_CAP_WRITEBACK_CACHE); CONST(FUSE_CAP_PARALLEL_DIROPS); CONST(FUSE_CAP_HANDLE_KILLPRIV);
    CONST(FUSE_CAP_EXPORT_SUPPORT); CONST(FUSE_CAP_SPLICE_READ); CONST(FUSE_CAP_SPLICE_WRITE);
    CONST(FUSE_CAP_SPLICE_MOVE);
    CONST(FUSE_SET_ATTR_MODE); CONST(FUSE_SET_ATTR_UID); CONST(FUSE_SET_ATTR_GID); CONST(FUSE_SET_ATTR_SIZE);
    CONST(FUSE_SET_ATTR_ATIME); CONST(FUSE_SET_ATTR_MTIME); CONST(FUSE_SET_ATTR_ATIME_NOW);
    CONST(FUSE_SET_ATTR_MTIME_NOW); CONST(FUSE_SET_ATTR_CTIME);
    CONST(FUSE_VERSION);
    return 0;
}
