// FUSE's own ceiling for a cold sequential read on this machine, for scripts/bench.sh's read rounds.
//
//   nullfs SIZE_BYTES MOUNTPOINT      mounts one read-only file, MOUNTPOINT/big.bin, in the foreground
//
// Every read is answered at once from one static buffer: no network, no cache lookup, no allocation. What a `dd`
// through it costs is what any FUSE filesystem pays at the least for the same read here: the kernel's requests and
// their round trips, the copy of each reply into the page cache, and dd's copy out of it. Configured like the
// ScaiDriveFS mount (1 MiB reads and writes, the kernel's own read-ahead, 128 background requests, a
// multi-threaded session loop), so the two differ only in where the bytes come from. Unmount with `fusermount3 -u MOUNTPOINT`.
#define FUSE_USE_VERSION 34
#include <errno.h>
#include <fuse_lowlevel.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_REPLY (1 << 20)

static off_t file_size;
static char reply[MAX_REPLY];

static void fill_attr(fuse_ino_t ino, struct stat *st)
{
    memset(st, 0, sizeof *st);
    st->st_ino = ino;
    if (ino == FUSE_ROOT_ID) {
        st->st_mode = S_IFDIR | 0755;
        st->st_nlink = 2;
    } else {
        st->st_mode = S_IFREG | 0444;
        st->st_nlink = 1;
        st->st_size = file_size;
    }
}

static void null_init(void *userdata, struct fuse_conn_info *conn)
{
    (void)userdata;
    conn->max_read = MAX_REPLY;
    conn->max_write = MAX_REPLY; // libfuse derives the kernel's max_pages (the largest read) from max_write
    conn->max_background = 128;
    conn->congestion_threshold = 96;
}

static void null_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    if (parent != FUSE_ROOT_ID || strcmp(name, "big.bin") != 0) {
        fuse_reply_err(req, ENOENT);
        return;
    }

    struct fuse_entry_param entry;
    memset(&entry, 0, sizeof entry);
    entry.ino = 2;
    entry.attr_timeout = entry.entry_timeout = 3600;
    fill_attr(entry.ino, &entry.attr);
    fuse_reply_entry(req, &entry);
}

static void null_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    (void)fi;
    struct stat st;
    fill_attr(ino, &st);
    fuse_reply_attr(req, &st, 3600);
}

static void null_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    (void)ino;
    fuse_reply_open(req, fi);
}

static void null_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
    (void)ino;
    (void)fi;
    if (off >= file_size) {
        fuse_reply_buf(req, NULL, 0);
        return;
    }

    if ((off_t)size > file_size - off)
        size = (size_t)(file_size - off);
    if (size > MAX_REPLY)
        size = MAX_REPLY;
    fuse_reply_buf(req, reply, size);
}

static const struct fuse_lowlevel_ops null_ops = {
    .init = null_init,
    .lookup = null_lookup,
    .getattr = null_getattr,
    .open = null_open,
    .read = null_read,
};

int main(int argc, char **argv)
{
    if (argc != 3 || atoll(argv[1]) <= 0) {
        fprintf(stderr, "usage: nullfs SIZE_BYTES MOUNTPOINT\n");
        return 2;
    }

    file_size = atoll(argv[1]);
    memset(reply, 'x', sizeof reply);
    char *fuse_argv[] = { argv[0], "-o", "max_read=1048576,fsname=nullfs,subtype=nullfs" };
    struct fuse_args args = FUSE_ARGS_INIT(3, fuse_argv);
    struct fuse_session *session = fuse_session_new(&args, &null_ops, sizeof null_ops, NULL);
    if (session == NULL)
        return 1;
    if (fuse_set_signal_handlers(session) != 0 || fuse_session_mount(session, argv[2]) != 0) {
        fuse_session_destroy(session);
        return 1;
    }

    struct fuse_loop_config *loop = fuse_loop_cfg_create();
    fuse_loop_cfg_set_max_threads(loop, 16);
    int rc = fuse_session_loop_mt(session, loop);
    fuse_loop_cfg_destroy(loop);
    fuse_session_unmount(session);
    fuse_remove_signal_handlers(session);
    fuse_session_destroy(session);
    return rc == 0 ? 0 : 1;
}
