using System.Runtime.InteropServices;

namespace ScaiDrive.WinFsp.Interop;

/// <summary>
/// FSP_FILE_SYSTEM_INTERFACE (winfsp.h): 64 function pointers, in header order. The order is the ABI: the driver
/// DLL calls slot N for operation N, so a field moved here calls the wrong function. Slots we leave at zero make
/// the DLL answer STATUS_INVALID_DEVICE_REQUEST for that operation. Filled by <see cref="FspCallbacks"/>.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct FspFileSystemInterface
{
    public const int SlotCount = 64;

    public nint GetVolumeInfo;          // 0
    public nint SetVolumeLabel;         // 1
    public nint GetSecurityByName;      // 2
    public nint Create;                 // 3
    public nint Open;                   // 4
    public nint Overwrite;              // 5
    public nint Cleanup;                // 6
    public nint Close;                  // 7
    public nint Read;                   // 8
    public nint Write;                  // 9
    public nint Flush;                  // 10
    public nint GetFileInfo;            // 11
    public nint SetBasicInfo;           // 12
    public nint SetFileSize;            // 13
    public nint CanDelete;              // 14
    public nint Rename;                 // 15
    public nint GetSecurity;            // 16
    public nint SetSecurity;            // 17
    public nint ReadDirectory;          // 18
    public nint ResolveReparsePoints;   // 19
    public nint GetReparsePoint;        // 20
    public nint SetReparsePoint;        // 21
    public nint DeleteReparsePoint;     // 22
    public nint GetStreamInfo;          // 23
    public nint GetDirInfoByName;       // 24
    public nint Control;                // 25
    public nint SetDelete;              // 26
    public nint CreateEx;               // 27
    public nint OverwriteEx;            // 28
    public nint GetEa;                  // 29
    public nint SetEa;                  // 30
    public nint Obsolete0;              // 31
    public fixed ulong Reserved[32];    // 32..63 (64-bit only: winfsp-x64.dll / winfsp-a64.dll)
}
