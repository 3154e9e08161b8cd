using System.CommandLine;
using System.Diagnostics;
using ScaiDrive.Fuse;
using ScaiDriveFS.Cli.Control;

namespace ScaiDriveFS.Cli.Commands;

/// <summary>`scaidrivefs unmount MOUNTPOINT`: the daemon finishes pending uploads (progress shown here), then unmounts.</summary>
internal static class UnmountCommand
{
    public static Command Create()
    {
        var mountPoint = new Argument<string>("mountpoint") { Description = "The mount point (or drive letter) to unmount." };
        var command = new Command("unmount", "Finish pending uploads, then unmount.") { mountPoint };
        command.Aliases.Add("umount");
        command.SetAction(async (ParseResult parse, CancellationToken cancellationToken) =>
        {
            string path = Hosting.PlatformMount.NormalizeMountPoint(parse.GetValue(mountPoint)!);
            IAsyncEnumerable<UnmountProgress>? progress = await ControlClient.TryUnmountAsync(path, cancellationToken);
            if (progress is null)
            {
                return ForceUnmount(path);
            }

            int lastPending = -1;
            await foreach (UnmountProgress line in progress)
            {
                if (line.Event == "error")
                {
                    await Console.Error.WriteLineAsync("scaidrivefs: " + line.Message);
                    return 1;
                }

                if (line.PendingUploads != lastPending && line.PendingUploads > 0)
                {
                    await Console.Error.WriteLineAsync($"scaidrivefs: waiting for {line.PendingUploads} pending upload(s), {SizeParser.Format(line.PendingUploadBytes)}...");
                }

                lastPending = line.PendingUploads;
                if (line.Event == "done")
                {
                    break;
                }
            }

            // The daemon has unmounted; wait until the kernel agrees, so a script can reuse the path at once.
            var clock = Stopwatch.StartNew();
            while (FuseEnvironment.IsMountPoint(path) && clock.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(50, cancellationToken);
            }

            await Console.Error.WriteLineAsync($"scaidrivefs: unmounted {path}");
            return 0;
        });
        return command;
    }

    /// <summary>No daemon answers (it died): detach the kernel mount so the path is usable again.</summary>
    private static int ForceUnmount(string path)
    {
        if (!FuseEnvironment.IsMountPoint(path))
        {
            Console.Error.WriteLine($"scaidrivefs: {path} is not mounted.");
            return 1;
        }

        if (FuseEnvironment.TryCleanStaleMount(path) || !FuseEnvironment.IsMountPoint(path))
        {
            Console.Error.WriteLine($"scaidrivefs: no daemon answered for {path}; detached the mount. Pending uploads finish at the next mount.");
            return 0;
        }

        Console.Error.WriteLine($"scaidrivefs: {path} is mounted but no scaidrivefs daemon answers for it; try fusermount3 -u {path}.");
        return 1;
    }
}
