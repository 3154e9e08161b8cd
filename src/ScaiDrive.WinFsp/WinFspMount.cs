using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ScaiDrive.Vfs;
using ScaiDrive.WinFsp.Interop;

namespace ScaiDrive.WinFsp;

/// <summary>
/// A live WinFsp mount of a <see cref="VfsFileSystem"/>: <c>scaidrivefs mount S:</c> on Windows. Windows only; on other
/// systems <see cref="MountAsync"/> throws <see cref="PlatformNotSupportedException"/>.
/// </summary>
public sealed class WinFspMount : IAsyncDisposable
{
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly VfsFileSystem _vfs;
    private readonly ILogger _logger;
    private readonly WinFspKernelNotifier _notifier;
    private readonly Func<ValueTask> _teardown;
    private int _unmounted;

    private WinFspMount(VfsFileSystem vfs, string mountPoint, WinFspKernelNotifier notifier, ILogger logger, Func<ValueTask> teardown)
    {
        _vfs = vfs;
        MountPoint = mountPoint;
        _notifier = notifier;
        _logger = logger;
        _teardown = teardown;
    }

    /// <summary>Where Windows shows the volume ("S:" or a directory).</summary>
    public string MountPoint { get; }

    /// <summary>Completes when the volume is unmounted.</summary>
    public Task Completion => _completion.Task;

    public static Task<WinFspMount> MountAsync(VfsFileSystem fs, WinFspMountOptions o, ILoggerFactory? lf, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(fs);
        ArgumentNullException.ThrowIfNull(o);
        ct.ThrowIfCancellationRequested();
        if (!OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException(
                "WinFsp mounts need Windows with WinFsp installed. On Linux and macOS mount a directory through FUSE instead " +
                "(scaidrivefs mount <directory>).");
        }

        ValidateMountPoint(o);
        return Task.FromResult(MountOnWindows(fs, o, lf ?? NullLoggerFactory.Instance));
    }

    /// <summary>Stops the dispatcher, removes the drive letter or directory junction and releases the volume.</summary>
    public async Task UnmountAsync()
    {
        if (Interlocked.Exchange(ref _unmounted, 1) != 0)
        {
            await Completion.ConfigureAwait(false);
            return;
        }

        try
        {
            _vfs.KernelNotifier = null;
            await _notifier.DisposeAsync().ConfigureAwait(false);
            await _teardown().ConfigureAwait(false);
            Log.Unmounted(_logger, MountPoint);
            _completion.TrySetResult();
        }
        catch (Exception ex)
        {
            _completion.TrySetException(ex);
            throw;
        }
    }

    public async ValueTask DisposeAsync() => await UnmountAsync().ConfigureAwait(false);

    internal static void ValidateMountPoint(WinFspMountOptions options)
    {
        string mountPoint = options.MountPoint;
        bool driveLetter = mountPoint == "*" || (mountPoint.Length == 2 && char.IsAsciiLetter(mountPoint[0]) && mountPoint[1] == ':');
        if (!driveLetter && options.NetworkDrive)
        {
            throw new ArgumentException(
                $"'{mountPoint}' is a directory; Windows only mounts network file systems on drive letters. Use a letter such as S: or turn network-drive mode off.",
                nameof(options));
        }

        if (!driveLetter && string.IsNullOrWhiteSpace(mountPoint))
        {
            throw new ArgumentException("A mount point (drive letter or directory) is required.", nameof(options));
        }
    }

    /// <summary>
    /// The volume parameters: case-insensitive and case-preserving Unicode names, ACLs from GetSecurityByName,
    /// FileContext = our open-file ID, cleanup only for modified files, caching timeouts from the options.
    /// </summary>
    internal static unsafe FspVolumeParams BuildVolumeParams(WinFspMountOptions options, VfsOptions vfsOptions, TimeProvider time)
    {
        FspVolumeParams p = default;
        p.Version = FspVolumeParams.Size;
        p.SectorSize = WinFspFileSystem.AllocationUnit;
        p.SectorsPerAllocationUnit = 1;
        p.MaxComponentLength = 255;
        p.VolumeCreationTime = (ulong)time.GetUtcNow().ToFileTime();
        p.VolumeSerialNumber = (uint)StringComparer.OrdinalIgnoreCase.GetHashCode(options.VolumeLabel + "|" + options.MountPoint);
        p.IrpTimeout = 300_000;
        p.IrpCapacity = 1000;
        p.FileInfoTimeout = Millis(options.FileInfoTimeout);
        p.Flags = FspVolumeFlags.CasePreservedNames
            | FspVolumeFlags.UnicodeOnDisk
            | FspVolumeFlags.PersistentAcls
            | FspVolumeFlags.PostCleanupWhenModifiedOnly
            | FspVolumeFlags.UmFileContextIsUserContext2;
        if (vfsOptions.ReadOnly)
        {
            p.Flags |= FspVolumeFlags.ReadOnlyVolume;
        }

        p.AdditionalFlags = FspVolumeAdditionalFlags.VolumeInfoTimeoutValid | FspVolumeAdditionalFlags.DirInfoTimeoutValid;
        p.VolumeInfoTimeout = Millis(options.VolumeInfoTimeout);
        p.DirInfoTimeout = Millis(options.DirInfoTimeout);
        p.SetFileSystemName("ScaiDriveFS");
        if (options.NetworkDrive)
        {
            p.SetPrefix(options.VolumePrefix ?? DefaultPrefix(options.VolumeLabel));
        }

        return p;
    }

    /// <summary>"\scaidrive\&lt;label&gt;": Explorer shows it as the UNC path of the drive.</summary>
    internal static string DefaultPrefix(string label)
    {
        Span<char> share = stackalloc char[Math.Min(label.Length, 64)];
        int n = 0;
        foreach (char c in label.AsSpan(0, share.Length))
        {
            share[n++] = char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '-';
        }

        return n == 0 ? @"\scaidrive\drive" : @"\scaidrive\" + new string(share[..n]);
    }

    private static uint Millis(TimeSpan value) => (uint)Math.Clamp(value.TotalMilliseconds, 0, uint.MaxValue);

    [SupportedOSPlatform("windows")]
    private static unsafe WinFspMount MountOnWindows(VfsFileSystem vfs, WinFspMountOptions options, ILoggerFactory loggerFactory)
    {
        ILogger logger = loggerFactory.CreateLogger("ScaiDrive.WinFsp");
        FspApi api = FspApi.Load();
        NativeDriver driver = new(api);
        WinFspFileSystem fileSystem = new(vfs, options, driver, logger);
        NativeHost host = new(fileSystem, api.FileSystemGetOperationContext, logger);
        GCHandle hostHandle = GCHandle.Alloc(host);
        FspFileSystemInterface* table = (FspFileSystemInterface*)NativeMemory.AllocZeroed((nuint)sizeof(FspFileSystemInterface));
        FspFileSystemHeader* native = null;
        try
        {
            FspCallbacks.Fill(table);
            FspVolumeParams volumeParams = BuildVolumeParams(options, vfs.Options, TimeProvider.System);
            string device = options.NetworkDrive ? FspApi.NetDeviceName : FspApi.DiskDeviceName;
            int status;
            fixed (char* devicePath = device)
            {
                status = api.FileSystemCreate(devicePath, &volumeParams, table, &native);
            }

            ThrowIfFailed(status, "FspFileSystemCreate");
            native->UserContext = GCHandle.ToIntPtr(hostHandle);
            driver.FileSystem = native;

            fixed (char* mountPoint = options.MountPoint == "*" ? null : options.MountPoint)
            {
                ThrowIfFailed(api.FileSystemSetMountPoint(native, mountPoint), "FspFileSystemSetMountPoint");
            }

            ThrowIfFailed(api.FileSystemStartDispatcher(native, (uint)Math.Max(0, options.DispatcherThreads)), "FspFileSystemStartDispatcher");
            string mounted = native->MountPoint is null ? options.MountPoint : new string(native->MountPoint);

            WinFspKernelNotifier notifier = new(fileSystem, driver, logger);
            vfs.KernelNotifier = notifier;
            Log.Mounted(logger, mounted, device);

            FspFileSystemHeader* owned = native;
            return new WinFspMount(vfs, mounted, notifier, logger, () =>
            {
                api.FileSystemStopDispatcher(owned);
                api.FileSystemRemoveMountPoint(owned);
                driver.FileSystem = null;
                api.FileSystemDelete(owned);
                NativeMemory.Free(table);
                hostHandle.Free();
                return ValueTask.CompletedTask;
            });
        }
        catch
        {
            driver.FileSystem = null;
            if (native is not null)
            {
                api.FileSystemDelete(native);
            }

            NativeMemory.Free(table);
            hostHandle.Free();
            throw;
        }
    }

    private static void ThrowIfFailed(int status, string call)
    {
        if (!NtStatus.IsSuccess(status))
        {
            throw new IOException($"{call} failed with NTSTATUS 0x{status:X8}.", status);
        }
    }
}
