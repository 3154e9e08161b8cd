using Microsoft.Extensions.Logging;
using ScaiDrive.Fuse;
using ScaiDrive.Vfs;
using ScaiDrive.WinFsp;

namespace ScaiDriveFS.Cli.Hosting;

/// <summary>The kernel side of a mount, whichever adapter serves it: FUSE on Linux, WinFsp on Windows.</summary>
internal sealed class PlatformMount
{
    private readonly Func<Task> _unmount;

    private PlatformMount(Task completion, Func<Task> unmount)
    {
        Completion = completion;
        _unmount = unmount;
    }

    /// <summary>Completes when the filesystem is no longer mounted, however that happened.</summary>
    public Task Completion { get; }

    public Task UnmountAsync() => _unmount();

    /// <summary>Windows mount points are drive letters (<c>S:</c>) or directories; everything else is a POSIX path.</summary>
    public static string NormalizeMountPoint(string mountPoint)
    {
        if (OperatingSystem.IsWindows() && mountPoint.Length == 2 && mountPoint[1] == ':' && char.IsAsciiLetter(mountPoint[0]))
        {
            return char.ToUpperInvariant(mountPoint[0]) + ":";
        }

        string full = Path.GetFullPath(mountPoint).TrimEnd('/');
        return full.Length == 0 ? "/" : full;
    }

    /// <summary>
    /// Whether streamed reads can be answered by splicing here (Linux, asked for, pipes can be grown enough): only
    /// then does the core start streamed runs.
    /// </summary>
    public static bool CanSpliceReads(MountSettings settings, ILogger logger)
    {
        if (settings.StreamedReadsFrom is null || !OperatingSystem.IsLinux())
        {
            return false;
        }

        if (FuseMount.CanSpliceReads(out string? reason))
        {
            return true;
        }

        logger.LogInformation("Streamed reads are off: {Reason}", reason);
        return false;
    }

    public static async Task<PlatformMount> MountAsync(VfsFileSystem fs, MountSettings settings, string mountPoint, string? volumeLabel, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        if (OperatingSystem.IsWindows())
        {
            WinFspMount winFsp = await WinFspMount.MountAsync(
                fs,
                new WinFspMountOptions { MountPoint = mountPoint, VolumeLabel = volumeLabel ?? "ScaiDrive" },
                loggerFactory,
                cancellationToken);
            return new PlatformMount(winFsp.Completion, winFsp.UnmountAsync);
        }

        FuseMount fuse = await FuseMount.MountAsync(
            fs,
            new FuseMountOptions { MountPoint = mountPoint, AllowOther = settings.AllowOther, ReadOnly = settings.ReadOnly, DirectIoReads = settings.DirectIo, SpliceReads = settings.StreamedReadsFrom is not null, Debug = settings.Debug },
            loggerFactory,
            cancellationToken);
        return new PlatformMount(fuse.Completion, fuse.UnmountAsync);
    }
}
