using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace ScaiDrive.WinFsp.Interop;

/// <summary>What a mounted file system's FSP_FILE_SYSTEM.UserContext points to (through a GCHandle).</summary>
internal sealed unsafe class NativeHost(WinFspFileSystem fileSystem, delegate* unmanaged<FspOperationContext*> getOperationContext, ILogger logger)
{
    public WinFspFileSystem FileSystem { get; } = fileSystem;

    public ILogger Logger { get; } = logger;

    /// <summary>The Hint of the request being served on this dispatcher thread (FspFileSystemGetOperationContext).</summary>
    public ulong CurrentHint()
    {
        if (getOperationContext is null)
        {
            return 0;
        }

        FspOperationContext* context = getOperationContext();
        return context is null || context->Request is null ? 0 : context->Request->Hint;
    }
}

/// <summary>
/// The native entry points of FSP_FILE_SYSTEM_INTERFACE. Each one finds the <see cref="NativeHost"/> through the file
/// system's UserContext, converts C arguments to managed ones, calls <see cref="WinFspFileSystem"/> and writes the
/// out-parameters back. Nothing is thrown into the DLL: an exception at this boundary becomes a status (winfsp's own
/// .NET layer does the same). FileContext is our open-file ID (UmFileContextIsUserContext2).
/// </summary>
internal static unsafe class FspCallbacks
{
    /// <summary>Fills the interface table; the unset slots make WinFsp answer STATUS_INVALID_DEVICE_REQUEST.</summary>
    public static void Fill(FspFileSystemInterface* table)
    {
        *table = default;
        table->GetVolumeInfo = (nint)(delegate* unmanaged<FspFileSystemHeader*, FspVolumeInfo*, int>)&GetVolumeInfo;
        table->SetVolumeLabel = (nint)(delegate* unmanaged<FspFileSystemHeader*, char*, FspVolumeInfo*, int>)&SetVolumeLabel;
        table->GetSecurityByName = (nint)(delegate* unmanaged<FspFileSystemHeader*, char*, uint*, byte*, nuint*, int>)&GetSecurityByName;
        table->Create = (nint)(delegate* unmanaged<FspFileSystemHeader*, char*, uint, uint, uint, nint, ulong, nint*, FspOpenFileInfo*, int>)&Create;
        table->Open = (nint)(delegate* unmanaged<FspFileSystemHeader*, char*, uint, uint, nint*, FspOpenFileInfo*, int>)&Open;
        table->Overwrite = (nint)(delegate* unmanaged<FspFileSystemHeader*, nint, uint, byte, ulong, FspFileInfo*, int>)&Overwrite;
        table->Cleanup = (nint)(delegate* unmanaged<FspFileSystemHeader*, nint, char*, uint, void>)&Cleanup;
        table->Close = (nint)(delegate* unmanaged<FspFileSystemHeader*, nint, void>)&Close;
        table->Read = (nint)(delegate* unmanaged<FspFileSystemHeader*, nint, nint, ulong, uint, uint*, int>)&Read;
        table->Write = (nint)(delegate* unmanaged<FspFileSystemHeader*, nint, nint, ulong, uint, byte, byte, uint*, FspFileInfo*, int>)&Write;
        table->Flush = (nint)(delegate* unmanaged<FspFileSystemHeader*, nint, FspFileInfo*, int>)&Flush;
        table->GetFileInfo = (nint)(delegate* unmanaged<FspFileSystemHeader*, nint, FspFileInfo*, int>)&GetFileInfo;
        table->SetBasicInfo = (nint)(delegate* unmanaged<FspFileSystemHeader*, nint, uint, ulong, ulong, ulong, ulong, FspFileInfo*, int>)&SetBasicInfo;
        table->SetFileSize = (nint)(delegate* unmanaged<FspFileSystemHeader*, nint, ulong, byte, FspFileInfo*, int>)&SetFileSize;
        table->CanDelete = (nint)(delegate* unmanaged<FspFileSystemHeader*, nint, char*, int>)&CanDelete;
        table->Rename = (nint)(delegate* unmanaged<FspFileSystemHeader*, nint, char*, char*, byte, int>)&Rename;
        table->GetSecurity = (nint)(delegate* unmanaged<FspFileSystemHeader*, nint, byte*, nuint*, int>)&GetSecurity;
        table->ReadDirectory = (nint)(delegate* unmanaged<FspFileSystemHeader*, nint, char*, char*, nint, uint, uint*, int>)&ReadDirectory;
        table->SetDelete = (nint)(delegate* unmanaged<FspFileSystemHeader*, nint, char*, byte, int>)&SetDelete;
    }

    /// <summary>
    /// The GetSecurityByName/GetSecurity contract for the descriptor: with a size pointer, a too-small buffer gets
    /// STATUS_BUFFER_OVERFLOW and the needed size; otherwise the descriptor is copied (when a buffer is given).
    /// </summary>
    public static int CopySecurityDescriptor(ReadOnlySpan<byte> descriptor, byte* buffer, nuint* size)
    {
        if (size is null)
        {
            return NtStatus.Success;
        }

        if (*size < (nuint)descriptor.Length)
        {
            *size = (nuint)descriptor.Length;
            return NtStatus.BufferOverflow;
        }

        *size = (nuint)descriptor.Length;
        if (buffer is not null)
        {
            descriptor.CopyTo(new Span<byte>(buffer, descriptor.Length));
        }

        return NtStatus.Success;
    }

    /// <summary>Writes the stored-case path into FSP_FSCTL_OPEN_FILE_INFO's NormalizedName buffer when it fits.</summary>
    public static void SetNormalizedName(FspOpenFileInfo* openFileInfo, string? normalizedName)
    {
        if (normalizedName is null || openFileInfo->NormalizedName is null)
        {
            return;
        }

        int bytes = normalizedName.Length * sizeof(char);
        if (bytes > openFileInfo->NormalizedNameSize)
        {
            return; // the driver then keeps the name it was given, which is still correct, only not case-normalized
        }

        normalizedName.AsSpan().CopyTo(new Span<char>(openFileInfo->NormalizedName, normalizedName.Length));
        openFileInfo->NormalizedNameSize = (ushort)bytes;
    }

    private static NativeHost Host(FspFileSystemHeader* fileSystem) =>
        (NativeHost)GCHandle.FromIntPtr(fileSystem->UserContext).Target!;

    private static string? Text(char* value) => value is null ? null : new string(value);

    private static int Fail(FspFileSystemHeader* fileSystem, Exception exception)
    {
        try
        {
            Log.CallbackFailed(Host(fileSystem).Logger, exception);
        }
        catch (Exception)
        {
            // Nothing may escape into native code, not even a logging failure.
        }

        return NtStatusMap.FromException(exception);
    }

    [UnmanagedCallersOnly]
    private static int GetVolumeInfo(FspFileSystemHeader* fs, FspVolumeInfo* volumeInfo)
    {
        try
        {
            return Host(fs).FileSystem.GetVolumeInfo(out *volumeInfo);
        }
        catch (Exception ex)
        {
            return Fail(fs, ex);
        }
    }

    [UnmanagedCallersOnly]
    private static int SetVolumeLabel(FspFileSystemHeader* fs, char* label, FspVolumeInfo* volumeInfo)
    {
        try
        {
            return Host(fs).FileSystem.SetVolumeLabel(Text(label) ?? string.Empty, out *volumeInfo);
        }
        catch (Exception ex)
        {
            return Fail(fs, ex);
        }
    }

    [UnmanagedCallersOnly]
    private static int GetSecurityByName(FspFileSystemHeader* fs, char* fileName, uint* fileAttributes, byte* securityDescriptor, nuint* securityDescriptorSize)
    {
        try
        {
            int status = Host(fs).FileSystem.GetSecurityByName(Text(fileName) ?? "\\", out uint attributes, out ReadOnlyMemory<byte> descriptor);
            if (!NtStatus.IsSuccess(status))
            {
                return status;
            }

            if (fileAttributes is not null)
            {
                *fileAttributes = attributes;
            }

            return CopySecurityDescriptor(descriptor.Span, securityDescriptor, securityDescriptorSize);
        }
        catch (Exception ex)
        {
            return Fail(fs, ex);
        }
    }

    [UnmanagedCallersOnly]
    private static int Create(FspFileSystemHeader* fs, char* fileName, uint createOptions, uint grantedAccess, uint fileAttributes,
        nint securityDescriptor, ulong allocationSize, nint* fileContext, FspOpenFileInfo* openFileInfo)
    {
        try
        {
            int status = Host(fs).FileSystem.Create(Text(fileName) ?? "\\", createOptions, grantedAccess, fileAttributes, allocationSize,
                out ulong context, out FspFileInfo info, out string? normalized);
            if (NtStatus.IsSuccess(status))
            {
                *fileContext = (nint)context;
                openFileInfo->FileInfo = info;
                SetNormalizedName(openFileInfo, normalized);
            }

            return status;
        }
        catch (Exception ex)
        {
            return Fail(fs, ex);
        }
    }

    [UnmanagedCallersOnly]
    private static int Open(FspFileSystemHeader* fs, char* fileName, uint createOptions, uint grantedAccess, nint* fileContext, FspOpenFileInfo* openFileInfo)
    {
        try
        {
            int status = Host(fs).FileSystem.Open(Text(fileName) ?? "\\", createOptions, grantedAccess,
                out ulong context, out FspFileInfo info, out string? normalized);
            if (NtStatus.IsSuccess(status))
            {
                *fileContext = (nint)context;
                openFileInfo->FileInfo = info;
                SetNormalizedName(openFileInfo, normalized);
            }

            return status;
        }
        catch (Exception ex)
        {
            return Fail(fs, ex);
        }
    }

    [UnmanagedCallersOnly]
    private static int Overwrite(FspFileSystemHeader* fs, nint fileContext, uint fileAttributes, byte replaceFileAttributes, ulong allocationSize, FspFileInfo* fileInfo)
    {
        try
        {
            return Host(fs).FileSystem.Overwrite((ulong)fileContext, fileAttributes, replaceFileAttributes != 0, allocationSize, out *fileInfo);
        }
        catch (Exception ex)
        {
            return Fail(fs, ex);
        }
    }

    [UnmanagedCallersOnly]
    private static void Cleanup(FspFileSystemHeader* fs, nint fileContext, char* fileName, uint flags)
    {
        try
        {
            Host(fs).FileSystem.Cleanup((ulong)fileContext, Text(fileName), flags);
        }
        catch (Exception ex)
        {
            Fail(fs, ex);
        }
    }

    [UnmanagedCallersOnly]
    private static void Close(FspFileSystemHeader* fs, nint fileContext)
    {
        try
        {
            Host(fs).FileSystem.Close((ulong)fileContext);
        }
        catch (Exception ex)
        {
            Fail(fs, ex);
        }
    }

    [UnmanagedCallersOnly]
    private static int Read(FspFileSystemHeader* fs, nint fileContext, nint buffer, ulong offset, uint length, uint* bytesTransferred)
    {
        try
        {
            NativeHost host = Host(fs);
            return host.FileSystem.Read((ulong)fileContext, buffer, offset, length, out *bytesTransferred, host.CurrentHint());
        }
        catch (Exception ex)
        {
            return Fail(fs, ex);
        }
    }

    [UnmanagedCallersOnly]
    private static int Write(FspFileSystemHeader* fs, nint fileContext, nint buffer, ulong offset, uint length, byte writeToEndOfFile, byte constrainedIo,
        uint* bytesTransferred, FspFileInfo* fileInfo)
    {
        try
        {
            NativeHost host = Host(fs);
            return host.FileSystem.Write((ulong)fileContext, buffer, offset, length, writeToEndOfFile != 0, constrainedIo != 0,
                out *bytesTransferred, out *fileInfo, host.CurrentHint());
        }
        catch (Exception ex)
        {
            return Fail(fs, ex);
        }
    }

    [UnmanagedCallersOnly]
    private static int Flush(FspFileSystemHeader* fs, nint fileContext, FspFileInfo* fileInfo)
    {
        try
        {
            FspFileInfo info;
            int status = Host(fs).FileSystem.Flush((ulong)fileContext, out info);
            if (fileInfo is not null)
            {
                *fileInfo = info;
            }

            return status;
        }
        catch (Exception ex)
        {
            return Fail(fs, ex);
        }
    }

    [UnmanagedCallersOnly]
    private static int GetFileInfo(FspFileSystemHeader* fs, nint fileContext, FspFileInfo* fileInfo)
    {
        try
        {
            return Host(fs).FileSystem.GetFileInfo((ulong)fileContext, out *fileInfo);
        }
        catch (Exception ex)
        {
            return Fail(fs, ex);
        }
    }

    [UnmanagedCallersOnly]
    private static int SetBasicInfo(FspFileSystemHeader* fs, nint fileContext, uint fileAttributes, ulong creationTime, ulong lastAccessTime,
        ulong lastWriteTime, ulong changeTime, FspFileInfo* fileInfo)
    {
        try
        {
            return Host(fs).FileSystem.SetBasicInfo((ulong)fileContext, fileAttributes, creationTime, lastAccessTime, lastWriteTime, changeTime, out *fileInfo);
        }
        catch (Exception ex)
        {
            return Fail(fs, ex);
        }
    }

    [UnmanagedCallersOnly]
    private static int SetFileSize(FspFileSystemHeader* fs, nint fileContext, ulong newSize, byte setAllocationSize, FspFileInfo* fileInfo)
    {
        try
        {
            return Host(fs).FileSystem.SetFileSize((ulong)fileContext, newSize, setAllocationSize != 0, out *fileInfo);
        }
        catch (Exception ex)
        {
            return Fail(fs, ex);
        }
    }

    [UnmanagedCallersOnly]
    private static int CanDelete(FspFileSystemHeader* fs, nint fileContext, char* fileName)
    {
        try
        {
            return Host(fs).FileSystem.CanDelete((ulong)fileContext, Text(fileName) ?? string.Empty);
        }
        catch (Exception ex)
        {
            return Fail(fs, ex);
        }
    }

    [UnmanagedCallersOnly]
    private static int Rename(FspFileSystemHeader* fs, nint fileContext, char* fileName, char* newFileName, byte replaceIfExists)
    {
        try
        {
            return Host(fs).FileSystem.Rename((ulong)fileContext, Text(fileName) ?? string.Empty, Text(newFileName) ?? string.Empty, replaceIfExists != 0);
        }
        catch (Exception ex)
        {
            return Fail(fs, ex);
        }
    }

    [UnmanagedCallersOnly]
    private static int GetSecurity(FspFileSystemHeader* fs, nint fileContext, byte* securityDescriptor, nuint* securityDescriptorSize)
    {
        try
        {
            int status = Host(fs).FileSystem.GetSecurity((ulong)fileContext, out ReadOnlyMemory<byte> descriptor);
            return NtStatus.IsSuccess(status) ? CopySecurityDescriptor(descriptor.Span, securityDescriptor, securityDescriptorSize) : status;
        }
        catch (Exception ex)
        {
            return Fail(fs, ex);
        }
    }

    [UnmanagedCallersOnly]
    private static int ReadDirectory(FspFileSystemHeader* fs, nint fileContext, char* pattern, char* marker, nint buffer, uint length, uint* bytesTransferred)
    {
        try
        {
            NativeHost host = Host(fs);
            return host.FileSystem.ReadDirectory((ulong)fileContext, Text(pattern), Text(marker), buffer, length, out *bytesTransferred, host.CurrentHint());
        }
        catch (Exception ex)
        {
            return Fail(fs, ex);
        }
    }

    [UnmanagedCallersOnly]
    private static int SetDelete(FspFileSystemHeader* fs, nint fileContext, char* fileName, byte deleteFile)
    {
        try
        {
            return Host(fs).FileSystem.SetDelete((ulong)fileContext, Text(fileName) ?? string.Empty, deleteFile != 0);
        }
        catch (Exception ex)
        {
            return Fail(fs, ex);
        }
    }

    internal static int InterfaceSlotOf(string name) =>
        (int)(Marshal.OffsetOf<FspFileSystemInterface>(name) / (nint)Unsafe.SizeOf<nint>());
}
