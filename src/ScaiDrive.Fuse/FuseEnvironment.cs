using System.Runtime.InteropServices;
using ScaiDrive.Fuse.Interop;
using ScaiDrive.Fuse.Session;

namespace ScaiDrive.Fuse;

/// <summary>Checks and repairs the machine's side of FUSE before a mount.</summary>
public static class FuseEnvironment
{
    /// <summary>The oldest libfuse3 we run on (fuse_lowlevel_notify_* and readdirplus exist since 3.0).</summary>
    internal const int MinimumLibraryVersion = 300;

    /// <summary>Null when a mount can work here; otherwise what is missing, in words a user can act on.</summary>
    public static string? CheckAvailable()
    {
        if (!OperatingSystem.IsLinux())
        {
            return "FUSE mounts need Linux";
        }

        if (!RuntimeInformation.ProcessArchitecture.Equals(Architecture.X64))
        {
            return $"the FUSE binding's structure layouts are those of x86_64; {RuntimeInformation.ProcessArchitecture} is not supported yet";
        }

        if (!File.Exists("/dev/fuse"))
        {
            return "/dev/fuse is missing: load the fuse kernel module (modprobe fuse) or, in a container, pass the device";
        }

        if (!NativeLibrary.TryLoad("libfuse3.so.3", typeof(FuseEnvironment).Assembly, null, out nint handle))
        {
            return "libfuse3 is not installed (Debian/Ubuntu: apt-get install fuse3 libfuse3-3)";
        }

        NativeLibrary.Free(handle);
        int version = FuseSession.LibraryVersion;
        if (version < MinimumLibraryVersion)
        {
            return $"libfuse {version / 100}.{version % 100} is too old; 3.x is needed";
        }

        if (!MountTable.IsRoot && !ExistsOnPath("fusermount3"))
        {
            return "fusermount3 is missing (Debian/Ubuntu: apt-get install fuse3); it mounts for users other than root";
        }

        return null;
    }

    /// <summary>True when something is mounted exactly at <paramref name="path"/>.</summary>
    public static bool IsMountPoint(string path) => MountTable.Find(path) is not null;

    /// <summary>
    /// Removes a dead FUSE mount at <paramref name="path"/>, the kind a killed process leaves behind ("Transport
    /// endpoint is not connected"), with a lazy unmount. Returns true when one was found and removed; false when
    /// nothing is mounted there, when the mount is alive (never touched), or when removing it failed.
    /// </summary>
    public static bool TryCleanStaleMount(string path)
    {
        MountEntry? entry = MountTable.Find(path);
        if (entry is null || !MountTable.IsFuse(entry) || !IsStale(entry.MountPoint))
        {
            return false;
        }

        return MountTable.UnmountLazy(entry.MountPoint) is null && !IsStillStale(entry.MountPoint);
    }

    internal static bool IsStale(string mountPoint)
    {
        if (LibC.Access(mountPoint, LibC.FOk) == 0)
        {
            return false;
        }

        int errno = Marshal.GetLastPInvokeError();
        return errno is Errno.ENOTCONN or EConnAborted;
    }

    private const int EConnAborted = 103;

    private static bool IsStillStale(string mountPoint) => MountTable.Find(mountPoint) is { } e && MountTable.IsFuse(e) && IsStale(mountPoint);

    private static bool ExistsOnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin")
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Any(dir => File.Exists(Path.Combine(dir, program)));
}
