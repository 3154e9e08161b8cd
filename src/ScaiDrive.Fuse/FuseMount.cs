using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ScaiDrive.Fuse.Interop;
using ScaiDrive.Fuse.Session;
using ScaiDrive.Vfs;

namespace ScaiDrive.Fuse;

/// <summary>
/// A live FUSE mount of a <see cref="VfsFileSystem"/>. <see cref="MountAsync"/> returns once the kernel finished its
/// INIT handshake; <see cref="Completion"/> completes when the mount is gone, whoever unmounted it. The mount is the
/// core's <see cref="IKernelCacheNotifier"/> for as long as it lives.
/// </summary>
public sealed class FuseMount : IAsyncDisposable, IKernelCacheNotifier
{
    private readonly FuseSession _session;
    private readonly FuseMountOptions _options;
    private readonly ILogger _logger;
    private readonly VfsFuseFileSystem? _adapter;
    private readonly VfsFileSystem? _vfs;
    private readonly string _mountPoint;
    private MountEntry? _entry;
    private Task? _unmount;

    // Guards _unmount's creation.
    private readonly Lock _gate = new();

    private FuseMount(FuseSession session, FuseMountOptions options, string mountPoint, ILogger logger, VfsFuseFileSystem? adapter, VfsFileSystem? vfs)
    {
        _session = session;
        _options = options;
        _mountPoint = mountPoint;
        _logger = logger;
        _adapter = adapter;
        _vfs = vfs;
    }

    /// <summary>The absolute mount point.</summary>
    public string MountPoint => _mountPoint;

    /// <summary>Completes when the filesystem is unmounted (by <see cref="UnmountAsync"/>, fusermount3 -u, or umount) and the session is torn down.</summary>
    public Task Completion => _session.Completion;

    internal FuseSession Session => _session;

    /// <summary>Mounts <paramref name="fs"/>; throws <see cref="FuseMountException"/> with the reason when it cannot.</summary>
    public static async Task<FuseMount> MountAsync(VfsFileSystem fs, FuseMountOptions options, ILoggerFactory? loggerFactory = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fs);
        ArgumentNullException.ThrowIfNull(options);
        ILoggerFactory factory = loggerFactory ?? NullLoggerFactory.Instance;
        var adapter = new VfsFuseFileSystem(fs, factory.CreateLogger<VfsFuseFileSystem>(), options.Uid ?? LibC.GetEffectiveUserId(), options.Gid ?? LibC.GetEffectiveGroupId())
        {
            DirectIoReads = options.DirectIoReads,
        };
        FuseMount mount = await MountCoreAsync(adapter, options, factory, adapter, fs, cancellationToken).ConfigureAwait(false);
        fs.KernelNotifier = mount;
        return mount;
    }

    /// <summary>Mounts any <see cref="IFuseFileSystem"/> (tests' purpose-built filesystems).</summary>
    internal static Task<FuseMount> MountAsync(IFuseFileSystem fs, FuseMountOptions options, ILoggerFactory? loggerFactory = null, CancellationToken cancellationToken = default) =>
        MountCoreAsync(fs, options, loggerFactory ?? NullLoggerFactory.Instance, null, null, cancellationToken);

    private static async Task<FuseMount> MountCoreAsync(IFuseFileSystem fs, FuseMountOptions options, ILoggerFactory factory, VfsFuseFileSystem? adapter, VfsFileSystem? vfs, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ILogger logger = factory.CreateLogger<FuseMount>();
        if (options.FsName.Length == 0 || options.FsName.IndexOfAny([',', '\\', ' ', '\n']) >= 0)
        {
            throw new ArgumentException("FsName must be non-empty without commas, backslashes or whitespace", nameof(options));
        }

        if (FuseEnvironment.CheckAvailable() is { } missing)
        {
            throw new FuseMountException(missing);
        }

        string mountPoint = MountTable.Normalize(options.MountPoint);
        if (!Directory.Exists(mountPoint))
        {
            if (FuseEnvironment.TryCleanStaleMount(mountPoint))
            {
                Log.StaleMountCleaned(logger, mountPoint);
            }

            if (!Directory.Exists(mountPoint))
            {
                throw new FuseMountException($"mount point {mountPoint} does not exist or is not a directory");
            }
        }
        else if (FuseEnvironment.IsMountPoint(mountPoint))
        {
            if (!FuseEnvironment.TryCleanStaleMount(mountPoint))
            {
                throw new FuseMountException($"{mountPoint} is already a mount point; unmount it first");
            }

            Log.StaleMountCleaned(logger, mountPoint);
        }

        var mountOptions = new List<string> { $"fsname={options.FsName}", "subtype=scaidrivefs", "default_permissions" };
        if (options.AllowOther)
        {
            mountOptions.Add("allow_other");
        }

        if (options.ReadOnly)
        {
            mountOptions.Add("ro");
        }

        var sessionOptions = new FuseSessionOptions
        {
            MountPoint = mountPoint,
            MountOptions = mountOptions,
            Debug = options.Debug,
            Uid = options.Uid ?? LibC.GetEffectiveUserId(),
            Gid = options.Gid ?? LibC.GetEffectiveGroupId(),
            MaxBackground = (uint)Math.Clamp(options.MaxBackground, 1, ushort.MaxValue),
            DrainTimeout = options.DrainTimeout,
            SingleThreaded = options.SingleThreaded,
            SpliceReads = options.SpliceReads,
        };

        // fuse_session_mount may run fusermount3 and wait for it: keep it off the caller's thread.
        FuseSession session = await Task.Run(() => FuseSession.Start(fs, sessionOptions, factory.CreateLogger<FuseSession>()), cancellationToken).ConfigureAwait(false);
        var mount = new FuseMount(session, options, mountPoint, logger, adapter, vfs);
        try
        {
            await session.Initialized.WaitAsync(options.InitTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            await mount.UnmountAsync().ConfigureAwait(false);
            if (e is OperationCanceledException && cancellationToken.IsCancellationRequested)
            {
                throw;
            }

            throw e as FuseMountException ?? new FuseMountException($"the kernel did not initialize the mount at {mountPoint}: {e.Message}", e);
        }

        mount._entry = MountTable.Find(mountPoint);
        mount.RaiseReadAhead();
        return mount;
    }

    /// <summary>Whether this process can answer reads by splicing (it can have pipes of at least 1 MiB); the reason when not.</summary>
    public static bool CanSpliceReads(out string? reason)
    {
        using SpliceReplier? probe = SpliceReplier.TryCreate(TimeSpan.FromSeconds(1), out reason);
        return probe is not null;
    }

    private void RaiseReadAhead()
    {
        if (_options.ReadAheadKilobytes <= 0 || _entry is null)
        {
            return;
        }

        string path = $"/sys/class/bdi/{_entry.Device}/read_ahead_kb";
        try
        {
            File.WriteAllText(path, _options.ReadAheadKilobytes.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Log.ReadAheadSet(_logger, path, _options.ReadAheadKilobytes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Only root may write there; the kernel's default still works, just slower for sequential reads.
            Log.ReadAheadFailed(_logger, _mountPoint, e.Message);
        }
    }

    /// <summary>
    /// Lazy unmount (the mount point is free at once), then waits for open files to close; after
    /// <see cref="FuseMountOptions.UnmountTimeout"/> it aborts the connection. Completes with <see cref="Completion"/>.
    /// Safe to call more than once and after an external unmount.
    /// </summary>
    public Task UnmountAsync()
    {
        lock (_gate)
        {
            return _unmount ??= UnmountCoreAsync();
        }
    }

    private async Task UnmountCoreAsync()
    {
        if (!_session.Completion.IsCompleted)
        {
            // Only unmount what is still ours: after an external unmount a new mount may sit on the same path.
            MountEntry? current = MountTable.Find(_mountPoint);
            if (current is not null && (_entry is null || current.Device == _entry.Device))
            {
                Log.Unmounting(_logger, _mountPoint);
                if (MountTable.UnmountLazy(_mountPoint) is { } error)
                {
                    Log.UnmountFailed(_logger, _mountPoint, error);
                }
            }
        }

        if (await WaitAsync(_session.Completion, _options.UnmountTimeout).ConfigureAwait(false))
        {
            return;
        }

        // A reader is stuck on a request we have not answered: ask the handlers to give up first.
        _session.CancelRequests();
        if (await WaitAsync(_session.Completion, _options.DrainTimeout).ConfigureAwait(false))
        {
            return;
        }

        string connection = _entry?.DeviceMinor ?? "?";
        Log.Aborting(_logger, _mountPoint, _options.UnmountTimeout, connection);
        if (_entry is not null && MountTable.AbortConnection(_entry.DeviceMinor) is { } abortError)
        {
            Log.UnmountFailed(_logger, _mountPoint, abortError);
        }

        await _session.Completion.ConfigureAwait(false);
    }

    private static async Task<bool> WaitAsync(Task task, TimeSpan timeout)
    {
        try
        {
            await task.WaitAsync(timeout).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_vfs is not null && ReferenceEquals(_vfs.KernelNotifier, this))
        {
            _vfs.KernelNotifier = null;
        }

        await UnmountAsync().ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public void InvalidateEntry(ulong parentInode, string name) => _session.InvalidateEntry(parentInode, Encoding.UTF8.GetBytes(name));

    /// <inheritdoc/>
    public void InvalidateInode(ulong inode, bool content)
    {
        if (content)
        {
            _adapter?.OnContentInvalidated(inode);
        }

        _session.InvalidateInode(inode, content);
    }

    /// <summary>Raw-name form for filesystems whose names are not UTF-8 text.</summary>
    internal void InvalidateEntry(ulong parentInode, ReadOnlySpan<byte> name) => _session.InvalidateEntry(parentInode, name);
}
