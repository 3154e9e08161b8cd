using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using ScaiDrive.Fuse.Interop;

namespace ScaiDrive.Fuse.Session;

// Why: answering a read from a managed buffer costs two copies of every byte in the daemon (socket → buffer in recv,
// buffer → kernel in the reply's writev, which also pins the buffer one page at a time). For a streamed run the bytes
// are still in the socket when the read arrives, so they can go to the kernel without entering user space:
// splice(socket → our pipe) moves references to the socket's pages, and fuse_reply_data with the pipe as a descriptor
// buffer lets libfuse splice the pipe into /dev/fuse, where the kernel copies them once, into the file's page cache.
//
// libfuse does that last step with a pipe of its own per thread, grown to hold the reply, its header and three pages of
// slack; when it cannot grow it, it falls back to reading our pipe into a buffer and writing that, which is worse than
// no splicing at all. A pipe holds at most pipe-max-size (1 MiB by default; only CAP_SYS_RESOURCE exceeds it), so a
// 1 MiB reply needs pipe-max-size raised to 2 MiB or more. Otherwise replies are capped at 512 KiB (MaxReplyBytes):
// the session then asks the kernel for reads of at most that size (max_read).

/// <summary>Answers reads with bytes spliced from a socket (see above). Thread-safe; pipes are pooled.</summary>
internal sealed unsafe class SpliceReplier : IDisposable
{
    /// <summary>Room for a 1 MiB reply even when the socket's pages arrive in small fragments (one pipe slot each).</summary>
    private const int PreferredPipeBytes = 4 * 1024 * 1024;
    private const int FullReplyPipeBytes = 2 * 1024 * 1024;
    private const int MinimumPipeBytes = 1024 * 1024;

    private readonly ConcurrentBag<Pipe> _pipes = [];
    private readonly int _pipeBytes;
    private readonly int _waitMs;
    private int _disposed;

    private SpliceReplier(int pipeBytes, TimeSpan wait)
    {
        _pipeBytes = pipeBytes;
        _waitMs = (int)Math.Clamp(wait.TotalMilliseconds, 1, int.MaxValue);
    }

    /// <summary>Largest reply this replier can splice: 1 MiB with pipes of 2 MiB or more, else 512 KiB.</summary>
    public int MaxReplyBytes => _pipeBytes >= FullReplyPipeBytes ? 1024 * 1024 : 512 * 1024;

    /// <summary>Pipes created so far that are not in use (for tests).</summary>
    internal int PooledPipes => _pipes.Count;

    /// <summary>
    /// A replier, or null with the reason when pipes cannot be grown enough here. <paramref name="wait"/> bounds the
    /// wait for the socket's next bytes.
    /// </summary>
    public static SpliceReplier? TryCreate(TimeSpan wait, out string? reason)
    {
        Pipe? probe = Pipe.TryCreate(PreferredPipeBytes) ?? Pipe.TryCreate(FullReplyPipeBytes) ?? Pipe.TryCreate(MinimumPipeBytes);
        if (probe is null)
        {
            reason = $"pipes cannot be grown to {MinimumPipeBytes / 1024} KiB (fs.pipe-max-size)";
            return null;
        }

        var replier = new SpliceReplier(probe.Bytes, wait);
        replier._pipes.Add(probe);
        reason = null;
        return replier;
    }

    /// <summary>
    /// Moves exactly <paramref name="count"/> bytes from <paramref name="source"/> (a socket) into a pipe, then answers
    /// <paramref name="request"/> with them. True: answered (or dropped because the session is closing). False: the
    /// request was not answered, and 0..count bytes were taken from the socket (it ended, broke, stalled past the wait,
    /// or arrived in fragments too small for the pipe): the caller answers it another way and drops the stream.
    /// </summary>
    public bool TryReply(FuseRequest request, SafeHandle source, int count)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (count > MaxReplyBytes)
        {
            return false; // cannot happen with max_read set from MaxReplyBytes; never risk libfuse's copying fallback
        }

        Pipe? pipe = Rent();
        if (pipe is null || !Fill(pipe, source, count))
        {
            pipe?.Dispose();
            return false;
        }

        FuseBufvec buffers = default;
        buffers.Count = 1;
        buffers.Buffer.Size = (nuint)count;
        buffers.Buffer.Flags = FuseBuf.IsFd;
        buffers.Buffer.Fd = pipe.ReadEnd;
        // A reply that failed (the request was interrupted, the session is closing) may leave bytes behind: never
        // reuse such a pipe. The request is answered or dropped either way.
        if (request.ReplyData(&buffers) || pipe.IsEmpty())
        {
            _pipes.Add(pipe);
        }
        else
        {
            pipe.Dispose();
        }

        return true;
    }

    private Pipe? Rent() => _pipes.TryTake(out Pipe? pipe) ? pipe : Pipe.TryCreate(_pipeBytes);

    private bool Fill(Pipe pipe, SafeHandle source, int count)
    {
        bool added = false;
        try
        {
            source.DangerousAddRef(ref added);
            int fd = (int)source.DangerousGetHandle();
            int moved = 0;
            bool readable = false;
            while (moved < count)
            {
                // Non-blocking, so a full pipe cannot hang us; poll waits for the socket's bytes instead.
                nint n = LibC.Splice(fd, null, pipe.WriteEnd, null, (nuint)(count - moved), LibC.SpliceMove | LibC.SpliceNonblock);
                if (n > 0)
                {
                    moved += (int)n;
                    readable = false;
                    continue;
                }

                if (n == 0)
                {
                    return false; // the connection ended early
                }

                int errno = Marshal.GetLastPInvokeError();
                if (errno == LibC.EIntr)
                {
                    continue;
                }

                if (errno != LibC.EAgain || readable)
                {
                    // An error, or the socket is readable and the pipe still takes nothing: the pipe is full.
                    return false;
                }

                LibC.PollFd poll = new() { Fd = fd, Events = LibC.PollIn };
                int ready;
                do
                {
                    ready = LibC.Poll(&poll, 1, _waitMs);
                }
                while (ready < 0 && Marshal.GetLastPInvokeError() == LibC.EIntr);

                if (ready <= 0)
                {
                    return false; // stalled past the wait, or poll failed
                }

                readable = true;
            }

            return true;
        }
        catch (ObjectDisposedException)
        {
            return false; // the stream was closed under us (a release or unmount)
        }
        finally
        {
            if (added)
            {
                source.DangerousRelease();
            }
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        while (_pipes.TryTake(out Pipe? pipe))
        {
            pipe.Dispose();
        }
    }

    /// <summary>An anonymous pipe grown to a given size.</summary>
    private sealed class Pipe : IDisposable
    {
        private int _readEnd;
        private int _writeEnd;

        private Pipe(int readEnd, int writeEnd, int bytes)
        {
            _readEnd = readEnd;
            _writeEnd = writeEnd;
            Bytes = bytes;
        }

        public int ReadEnd => _readEnd;

        public int WriteEnd => _writeEnd;

        public int Bytes { get; }

        public static Pipe? TryCreate(int bytes)
        {
            int* fds = stackalloc int[2];
            if (LibC.Pipe2(fds, LibC.OCloexec) != 0)
            {
                return null;
            }

            var pipe = new Pipe(fds[0], fds[1], bytes);
            if (LibC.Fcntl(fds[0], LibC.FSetPipeSize, bytes) < bytes)
            {
                pipe.Dispose();
                return null;
            }

            return pipe;
        }

        public bool IsEmpty()
        {
            int pending = 0;
            return LibC.Ioctl(_readEnd, LibC.FionRead, &pending) == 0 && pending == 0;
        }

        public void Dispose()
        {
            if (_readEnd >= 0)
            {
                LibC.Close(_readEnd);
                LibC.Close(_writeEnd);
                _readEnd = _writeEnd = -1;
            }
        }
    }
}
