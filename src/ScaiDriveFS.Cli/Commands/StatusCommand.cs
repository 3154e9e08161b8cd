using System.CommandLine;
using System.Text.Json;
using ScaiDriveFS.Cli.Control;

namespace ScaiDriveFS.Cli.Commands;

/// <summary>`scaidrivefs status MOUNTPOINT [--json]`.</summary>
internal static class StatusCommand
{
    public static Command Create()
    {
        var mountPoint = new Argument<string>("mountpoint") { Description = "The mount point (or drive letter)." };
        var json = new Option<bool>("--json") { Description = "Print JSON (at least pending_uploads)." };
        var command = new Command("status", "Connection, pending uploads, cache use and recent errors of a mount.") { mountPoint, json };
        command.SetAction(async (ParseResult parse, CancellationToken cancellationToken) =>
        {
            string path = Hosting.PlatformMount.NormalizeMountPoint(parse.GetValue(mountPoint)!);
            MountStatusReport? status = await ControlClient.TryGetStatusAsync(path, cancellationToken);
            if (status is null)
            {
                await Console.Error.WriteLineAsync($"scaidrivefs: no scaidrivefs daemon serves {path}.");
                return 1;
            }

            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(status, ControlJsonContext.Default.MountStatusReport));
                return 0;
            }

            Console.WriteLine($"mount point:     {status.MountPoint}{(status.Unmounting ? " (unmounting)" : "")}");
            Console.WriteLine($"server:          {status.Server}{(status.Share is null ? "" : $"  share: {status.Share}")}");
            Console.WriteLine($"connected:       {(status.Connected ? "yes" : "no")}");
            Console.WriteLine($"pending uploads: {status.PendingUploads} ({SizeParser.Format(status.PendingUploadBytes)}, {SizeParser.Format(status.UploadedBytesInFlight)} sent of the ones in flight)");
            Console.WriteLine($"failed uploads:  {status.FailedUploads}{(status.FailedUploads > 0 ? $" (content kept in {Path.Combine(status.CacheDirectory, "recovery")})" : "")}");
            Console.WriteLine($"cache:           {SizeParser.Format(status.CacheBytesUsed)} of {SizeParser.Format(status.CacheBytesLimit)} in {status.CacheDirectory}");
            Console.WriteLine($"streamed reads:  {SizeParser.Format(status.StreamedReadBytes)}");
            Console.WriteLine($"daemon pid:      {status.ProcessId}");
            if (status.RecentErrors.Count > 0)
            {
                Console.WriteLine("recent errors:");
                foreach (StatusErrorReport error in status.RecentErrors)
                {
                    Console.WriteLine($"  {error.At:u}  {error.Path}: {error.Message}");
                }
            }

            return 0;
        });
        return command;
    }
}
