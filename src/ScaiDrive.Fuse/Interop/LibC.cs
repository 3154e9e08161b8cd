using System.Runtime.InteropServices;

namespace ScaiDrive.Fuse.Interop;

internal static partial class LibC
{
    private const string Lib = "libc";

    public const int MntDetach = 2;
    public const int FOk = 0;

    [LibraryImport(Lib, EntryPoint = "umount2", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int Umount2(string target, int flags);

    [LibraryImport(Lib, EntryPoint = "access", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int Access(string path, int mode);

    [LibraryImport(Lib, EntryPoint = "geteuid")]
    public static partial uint GetEffectiveUserId();

    [LibraryImport(Lib, EntryPoint = "getegid")]
    public static partial uint GetEffectiveGroupId();

    // ---- pipes and splice, for replies that move socket bytes into the kernel without a copy (SpliceReplier) ----

    public const int OCloexec = 0x80000;
    public const int FSetPipeSize = 1031;       // F_SETPIPE_SZ
    public const int FionRead = 0x541B;         // FIONREAD
    public const uint SpliceMove = 1;           // SPLICE_F_MOVE
    public const uint SpliceNonblock = 2;       // SPLICE_F_NONBLOCK
    public const short PollIn = 1;              // POLLIN
    public const int EIntr = 4;
    public const int EAgain = 11;

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport(Lib, EntryPoint = "pipe2", SetLastError = true)]
    public static unsafe partial int Pipe2(int* fds, int flags);

    [LibraryImport(Lib, EntryPoint = "fcntl", SetLastError = true)]
    public static partial int Fcntl(int fd, int command, int argument);

    [LibraryImport(Lib, EntryPoint = "ioctl", SetLastError = true)]
    public static unsafe partial int Ioctl(int fd, nuint request, int* argument);

    [LibraryImport(Lib, EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport(Lib, EntryPoint = "splice", SetLastError = true)]
    public static unsafe partial nint Splice(int fdIn, long* offIn, int fdOut, long* offOut, nuint length, uint flags);

    [LibraryImport(Lib, EntryPoint = "poll", SetLastError = true)]
    public static unsafe partial int Poll(PollFd* fds, nuint count, int timeoutMs);
}
