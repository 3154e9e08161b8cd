using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using ScaiDrive.Vfs;
using ScaiDrive.WinFsp.Interop;

namespace ScaiDrive.WinFsp;

/// <summary>
/// The Windows adapter: each method is one operation of WinFsp's FSP_FILE_SYSTEM_INTERFACE with managed parameters,
/// called by <see cref="FspCallbacks"/> on a dispatcher thread (and by tests exactly the same way). Every method
/// returns an NTSTATUS and never throws. Paths are WinFsp's: rooted, '\'-separated, any case.
/// </summary>
/// <remarks>
/// Threading: WinFsp runs operations on several dispatcher threads at once and its FSD already serializes
/// conflicting operations on one file. Namespace operations (Create, Open, Rename, ...) must answer synchronously,
/// so they wait for the core on the dispatcher thread, bounded by <see cref="WinFspMountOptions.OperationTimeout"/>.
/// Read, Write and ReadDirectory return STATUS_PENDING when the core cannot answer at once and complete later
/// through <see cref="IWinFspDriver.SendResponse"/>, so slow network I/O never holds a dispatcher thread.
/// Lock order: <see cref="OpenFile.HandleGate"/> is the only lock held across core calls; nothing nests in it.
/// </remarks>
internal sealed partial class WinFspFileSystem
{
    private readonly VfsFileSystem _vfs;
    private readonly WinFspMountOptions _options;
    private readonly IWinFspDriver _driver;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly bool _readOnlyMount;

    private readonly ConcurrentDictionary<ulong, OpenFile> _openFiles = new();
    private long _nextFileId;

    /// <summary>Stored-case paths of inodes we have seen, for change notifications (which are by name).</summary>
    private readonly ConcurrentDictionary<ulong, string> _knownPaths = new();
    private const int KnownPathsLimit = 200_000;

    // Guarded by _volumeGate.
    private readonly Lock _volumeGate = new();
    private VfsStatFs? _volumeStats;
    private long _volumeStatsAt;
    private Task? _volumeRefresh;

    public WinFspFileSystem(VfsFileSystem vfs, WinFspMountOptions options, IWinFspDriver driver, ILogger logger, TimeProvider? timeProvider = null)
    {
        _vfs = vfs;
        _options = options;
        _driver = driver;
        _logger = logger;
        _time = timeProvider ?? TimeProvider.System;
        _readOnlyMount = vfs.Options.ReadOnly;
    }

    internal int OpenFileCount => _openFiles.Count;

    internal bool TryGetOpenFile(ulong fileContext, out OpenFile openFile) => _openFiles.TryGetValue(fileContext, out openFile!);

    internal bool TryGetKnownPath(ulong inode, out string path) => _knownPaths.TryGetValue(inode, out path!);

    // ---- volume ----------------------------------------------------------------------------------

    /// <summary>
    /// GetVolumeInfo: label from the options, sizes from the quota (core statfs). The answer is cached for
    /// <see cref="WinFspMountOptions.VolumeInfoTimeout"/> and refreshed in the background after that, because Explorer
    /// asks for free space very often and this operation cannot be completed asynchronously.
    /// </summary>
    public int GetVolumeInfo(out FspVolumeInfo volumeInfo)
    {
        volumeInfo = default;
        VfsStatFs? stats;
        lock (_volumeGate)
        {
            stats = _volumeStats;
            bool stale = stats is null || _time.GetElapsedTime(_volumeStatsAt) >= _options.VolumeInfoTimeout;
            if (stale && stats is not null && _volumeRefresh is null)
            {
                _volumeRefresh = Task.Run(RefreshVolumeStatsAsync);
            }
        }

        if (stats is null)
        {
            int status = RunSync(async ct =>
            {
                await FetchVolumeStatsAsync(ct).ConfigureAwait(false);
                return NtStatus.Success;
            });
            if (!NtStatus.IsSuccess(status))
            {
                return status;
            }

            lock (_volumeGate)
            {
                stats = _volumeStats;
            }
        }

        VfsStatFs value = stats.GetValueOrDefault();
        volumeInfo.TotalSize = (ulong)Math.Max(0, value.TotalBytes);
        volumeInfo.FreeSize = (ulong)Math.Clamp(value.FreeBytes, 0, Math.Max(0, value.TotalBytes));
        volumeInfo.SetVolumeLabel(_options.VolumeLabel);
        return NtStatus.Success;
    }

    /// <summary>SetVolumeLabel: the label belongs to the mount options, not to the server.</summary>
    public int SetVolumeLabel(string volumeLabel, out FspVolumeInfo volumeInfo)
    {
        GetVolumeInfo(out volumeInfo);
        return NtStatus.AccessDenied;
    }

    private async Task RefreshVolumeStatsAsync()
    {
        try
        {
            using CancellationTokenSource timeout = new(_options.OperationTimeout, _time);
            await FetchVolumeStatsAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.VolumeRefreshFailed(_logger, ex);
        }
        finally
        {
            lock (_volumeGate)
            {
                _volumeRefresh = null;
            }
        }
    }

    private async Task FetchVolumeStatsAsync(CancellationToken cancellationToken)
    {
        VfsStatFs stats = await _vfs.StatFsAsync(VfsFileSystem.RootInode, cancellationToken).ConfigureAwait(false);
        lock (_volumeGate)
        {
            _volumeStats = stats;
            _volumeStatsAt = _time.GetTimestamp();
        }
    }

    // ---- security --------------------------------------------------------------------------------

    /// <summary>
    /// GetSecurityByName: the attributes and security descriptor of a path, before any Create or Open. The answer
    /// distinguishes a missing name (STATUS_OBJECT_NAME_NOT_FOUND) from a missing folder on the way
    /// (STATUS_OBJECT_PATH_NOT_FOUND), as Win32 programs expect.
    /// </summary>
    public int GetSecurityByName(string fileName, out uint fileAttributes, out ReadOnlyMemory<byte> securityDescriptor)
    {
        uint attributes = 0;
        ReadOnlyMemory<byte> descriptor = ReadOnlyMemory<byte>.Empty;
        int status = RunSync(async ct =>
        {
            Resolved resolved = await ResolveAsync(fileName, ct).ConfigureAwait(false);
            ReleaseLookup(resolved);
            attributes = ToFileAttributes(resolved.Entry.Attributes);
            descriptor = DescriptorFor(resolved.Entry.Attributes);
            return NtStatus.Success;
        });
        fileAttributes = attributes;
        securityDescriptor = descriptor;
        return status;
    }

    /// <summary>GetSecurity of an open file.</summary>
    public int GetSecurity(ulong fileContext, out ReadOnlyMemory<byte> securityDescriptor)
    {
        securityDescriptor = ReadOnlyMemory<byte>.Empty;
        if (!_openFiles.TryGetValue(fileContext, out OpenFile? file))
        {
            return NtStatus.InvalidParameter;
        }

        ReadOnlyMemory<byte> descriptor = ReadOnlyMemory<byte>.Empty;
        int status = RunSync(async ct =>
        {
            VfsAttributes attributes = await _vfs.GetAttributesAsync(file.Inode, ct).ConfigureAwait(false);
            descriptor = DescriptorFor(attributes);
            return NtStatus.Success;
        });
        securityDescriptor = descriptor;
        return status;
    }

    private ReadOnlyMemory<byte> DescriptorFor(in VfsAttributes attributes) =>
        _readOnlyMount || (attributes.Kind == VfsNodeKind.File && !IsWritableMode(attributes.Mode))
            ? SecurityDescriptors.ReadOnly
            : SecurityDescriptors.Writable;

    // ---- helpers ---------------------------------------------------------------------------------

    /// <summary>
    /// Runs a core call to completion on the calling (dispatcher) thread, bounded by the operation timeout, and turns
    /// every failure into an NTSTATUS. Dispatcher threads have no synchronization context, so blocking here cannot
    /// deadlock the continuations, which run on the thread pool.
    /// </summary>
    private int RunSync(Func<CancellationToken, ValueTask<int>> operation)
    {
        using CancellationTokenSource timeout = new(_options.OperationTimeout, _time);
        try
        {
            ValueTask<int> task = operation(timeout.Token);
            return task.IsCompletedSuccessfully ? task.Result : task.AsTask().GetAwaiter().GetResult();
        }
        catch (Exception ex)
        {
            return StatusFor(ex, timeout.IsCancellationRequested);
        }
    }

    private int StatusFor(Exception ex, bool timedOut)
    {
        int status = ex is OperationCanceledException && timedOut ? NtStatus.IoTimeout : NtStatusMap.FromException(ex);
        if (status == NtStatus.UnexpectedIoError)
        {
            Log.OperationFailed(_logger, ex);
        }

        return status;
    }

    private OpenFile AddOpenFile(ulong inode, bool isDirectory, string path, uint grantedAccess, bool holdsReference)
    {
        ulong id = (ulong)Interlocked.Increment(ref _nextFileId);
        OpenFile file = new(id, inode, isDirectory, path, grantedAccess, holdsReference);
        _openFiles[id] = file;
        RememberPath(inode, path);
        return file;
    }

    private void RememberPath(ulong inode, string path)
    {
        if (_knownPaths.Count >= KnownPathsLimit)
        {
            // A cheap bound: forgetting paths only makes later remote-change notifications coarser.
            _knownPaths.Clear();
        }

        _knownPaths[inode] = path;
    }

    internal FspFileInfo ToFileInfo(in VfsAttributes attributes) => new()
    {
        FileAttributes = ToFileAttributes(attributes),
        ReparseTag = 0,
        FileSize = attributes.Kind == VfsNodeKind.Directory ? 0 : (ulong)attributes.Size,
        AllocationSize = attributes.Kind == VfsNodeKind.Directory ? 0 : AllocationSizeFor(attributes.Size),
        CreationTime = ToFileTime(attributes.CreatedAt),
        LastAccessTime = ToFileTime(attributes.AccessedAt),
        LastWriteTime = ToFileTime(attributes.ModifiedAt),
        ChangeTime = ToFileTime(attributes.ChangedAt),
        IndexNumber = attributes.Inode,
        HardLinks = 0,
        EaSize = 0,
    };

    /// <summary>
    /// Directories are FILE_ATTRIBUTE_DIRECTORY; files are FILE_ATTRIBUTE_ARCHIVE (as NTFS marks new files), plus
    /// FILE_ATTRIBUTE_READONLY when the core shows no owner write bit (viewer shares, read-only mounts, or set by a
    /// program through SetBasicInfo). Hidden and system are not stored by the server and never shown.
    /// </summary>
    internal uint ToFileAttributes(in VfsAttributes attributes)
    {
        if (attributes.Kind == VfsNodeKind.Directory)
        {
            return Win32.FileAttributeDirectory;
        }

        uint result = Win32.FileAttributeArchive;
        if (_readOnlyMount || !IsWritableMode(attributes.Mode))
        {
            result |= Win32.FileAttributeReadOnly;
        }

        return result;
    }

    internal const int AllocationUnit = 4096;

    private static ulong AllocationSizeFor(long size) => (ulong)((size + AllocationUnit - 1) / AllocationUnit * AllocationUnit);

    private static bool IsWritableMode(uint mode) => (mode & 0b010_000_000) != 0;

    internal static ulong ToFileTime(DateTimeOffset time) =>
        time <= DateTimeOffset.FromFileTime(0) ? 0 : (ulong)time.ToFileTime();

    internal static DateTimeOffset FromFileTime(ulong fileTime) => DateTimeOffset.FromFileTime((long)fileTime);
}
