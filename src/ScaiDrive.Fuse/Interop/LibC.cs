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
}
