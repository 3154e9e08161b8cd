using System.Runtime.Versioning;

namespace ScaiDrive.WinFsp.Interop;

/// <summary><see cref="IWinFspDriver"/> over the DLL for one mounted file system.</summary>
[SupportedOSPlatform("windows")]
internal sealed unsafe class NativeDriver(FspApi api) : IWinFspDriver
{
    /// <summary>Set once FspFileSystemCreate returned; cleared before FspFileSystemDelete.</summary>
    public FspFileSystemHeader* FileSystem { get; set; }

    public void SendResponse(in FspTransactResponse response)
    {
        FspFileSystemHeader* fileSystem = FileSystem;
        if (fileSystem is null)
        {
            return;
        }

        FspTransactResponse copy = response;
        api.FileSystemSendResponse(fileSystem, &copy);
    }

    public int NotifyBegin(TimeSpan timeout)
    {
        FspFileSystemHeader* fileSystem = FileSystem;
        return fileSystem is null ? NtStatus.InvalidDeviceRequest : api.FileSystemNotifyBegin(fileSystem, (uint)timeout.TotalMilliseconds);
    }

    public int Notify(ReadOnlySpan<byte> notifyInfoBuffer)
    {
        FspFileSystemHeader* fileSystem = FileSystem;
        if (fileSystem is null)
        {
            return NtStatus.InvalidDeviceRequest;
        }

        fixed (byte* buffer = notifyInfoBuffer)
        {
            return api.FileSystemNotify(fileSystem, buffer, (nuint)notifyInfoBuffer.Length);
        }
    }

    public int NotifyEnd()
    {
        FspFileSystemHeader* fileSystem = FileSystem;
        return fileSystem is null ? NtStatus.InvalidDeviceRequest : api.FileSystemNotifyEnd(fileSystem);
    }
}
