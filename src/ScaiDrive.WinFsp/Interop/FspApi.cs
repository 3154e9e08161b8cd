using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using Microsoft.Win32;

namespace ScaiDrive.WinFsp.Interop;

/// <summary>
/// The exports of WinFsp's user-mode DLL that we call, resolved once with <see cref="NativeLibrary"/>. The DLL is not
/// on the search path: WinFsp's installer records its directory under HKLM\SOFTWARE\WOW6432Node\WinFsp (InstallDir),
/// and the DLL lives in its bin folder as winfsp-x64.dll (winfsp-a64.dll on ARM64). Never loaded outside Windows.
/// </summary>
[SupportedOSPlatform("windows")]
internal sealed unsafe class FspApi
{
    public const string DiskDeviceName = "WinFsp.Disk";
    public const string NetDeviceName = "WinFsp.Net";

    public required nint Library { get; init; }

    public required delegate* unmanaged<char*, FspVolumeParams*, FspFileSystemInterface*, FspFileSystemHeader**, int> FileSystemCreate { get; init; }

    public required delegate* unmanaged<FspFileSystemHeader*, void> FileSystemDelete { get; init; }

    public required delegate* unmanaged<FspFileSystemHeader*, char*, int> FileSystemSetMountPoint { get; init; }

    public required delegate* unmanaged<FspFileSystemHeader*, void> FileSystemRemoveMountPoint { get; init; }

    public required delegate* unmanaged<FspFileSystemHeader*, uint, int> FileSystemStartDispatcher { get; init; }

    public required delegate* unmanaged<FspFileSystemHeader*, void> FileSystemStopDispatcher { get; init; }

    public required delegate* unmanaged<FspFileSystemHeader*, FspTransactResponse*, void> FileSystemSendResponse { get; init; }

    public required delegate* unmanaged<FspOperationContext*> FileSystemGetOperationContext { get; init; }

    public required delegate* unmanaged<FspFileSystemHeader*, uint, int> FileSystemNotifyBegin { get; init; }

    public required delegate* unmanaged<FspFileSystemHeader*, int> FileSystemNotifyEnd { get; init; }

    public required delegate* unmanaged<FspFileSystemHeader*, byte*, nuint, int> FileSystemNotify { get; init; }

    public static FspApi Load()
    {
        string dllPath = FindDll();
        nint library = NativeLibrary.Load(dllPath);
        return new FspApi
        {
            Library = library,
            FileSystemCreate = (delegate* unmanaged<char*, FspVolumeParams*, FspFileSystemInterface*, FspFileSystemHeader**, int>)Export(library, "FspFileSystemCreate"),
            FileSystemDelete = (delegate* unmanaged<FspFileSystemHeader*, void>)Export(library, "FspFileSystemDelete"),
            FileSystemSetMountPoint = (delegate* unmanaged<FspFileSystemHeader*, char*, int>)Export(library, "FspFileSystemSetMountPoint"),
            FileSystemRemoveMountPoint = (delegate* unmanaged<FspFileSystemHeader*, void>)Export(library, "FspFileSystemRemoveMountPoint"),
            FileSystemStartDispatcher = (delegate* unmanaged<FspFileSystemHeader*, uint, int>)Export(library, "FspFileSystemStartDispatcher"),
            FileSystemStopDispatcher = (delegate* unmanaged<FspFileSystemHeader*, void>)Export(library, "FspFileSystemStopDispatcher"),
            FileSystemSendResponse = (delegate* unmanaged<FspFileSystemHeader*, FspTransactResponse*, void>)Export(library, "FspFileSystemSendResponse"),
            FileSystemGetOperationContext = (delegate* unmanaged<FspOperationContext*>)Export(library, "FspFileSystemGetOperationContext"),
            FileSystemNotifyBegin = (delegate* unmanaged<FspFileSystemHeader*, uint, int>)Export(library, "FspFileSystemNotifyBegin"),
            FileSystemNotifyEnd = (delegate* unmanaged<FspFileSystemHeader*, int>)Export(library, "FspFileSystemNotifyEnd"),
            FileSystemNotify = (delegate* unmanaged<FspFileSystemHeader*, byte*, nuint, int>)Export(library, "FspFileSystemNotify"),
        };
    }

    private static nint Export(nint library, string name) => NativeLibrary.GetExport(library, name);

    private static string FindDll()
    {
        string? installDir =
            Registry.LocalMachine.OpenSubKey(@"SOFTWARE\WOW6432Node\WinFsp")?.GetValue("InstallDir") as string
            ?? RegistryKey.OpenBaseKey(RegistryHive.LocalMachine, RegistryView.Registry32).OpenSubKey(@"SOFTWARE\WinFsp")?.GetValue("InstallDir") as string;
        if (string.IsNullOrEmpty(installDir))
        {
            throw new DllNotFoundException("WinFsp is not installed (no InstallDir under HKLM\\SOFTWARE\\WOW6432Node\\WinFsp). Install WinFsp 2.x from winfsp.dev.");
        }

        string arch = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => "x64",
            Architecture.Arm64 => "a64",
            Architecture other => throw new PlatformNotSupportedException($"WinFsp mounts need a 64-bit process; this one is {other}."),
        };
        string dll = Path.Combine(installDir, "bin", $"winfsp-{arch}.dll");
        return File.Exists(dll) ? dll : throw new DllNotFoundException($"WinFsp's DLL was not found at {dll}.");
    }
}
