using System.CommandLine;
using System.Globalization;
using ScaiDriveFS.Cli.Hosting;

namespace ScaiDriveFS.Cli.Commands;

/// <summary>`scaidrivefs mount MOUNTPOINT [options]`.</summary>
internal static class MountCommand
{
    public static Command Create()
    {
        var mountPoint = new Argument<string>("mountpoint") { Description = "Directory to mount on (Linux) — or a drive letter such as S: (Windows)." };
        var url = new Option<string?>("--url") { Description = "ScaiDrive server URL (default: SCAIDRIVE_URL, else the embedded local server)." };
        var tokenFile = new Option<string?>("--token-file") { Description = "File holding the access token, re-read when it changes (default: SCAIDRIVE_TOKEN)." };
        var share = new Option<string?>("--share") { Description = "Mount one share (name or ID) as the root; default: every share as a directory." };
        var cacheDir = new Option<string?>("--cache-dir") { Description = "Cache directory (block cache, staged writes, journal). Default: ~/.cache/scaidrivefs/<remote>." };
        var cacheMax = new Option<string?>("--cache-max-size") { Description = "Disk cache limit, e.g. 10G (staged writes are never evicted)." };
        var readOnly = new Option<bool>("--read-only") { Description = "Mount read-only." };
        var allowOther = new Option<bool>("--allow-other") { Description = "Let other users see the mount (needs user_allow_other in /etc/fuse.conf unless root)." };
        var foreground = new Option<bool>("--foreground", "-f") { Description = "Stay in the foreground and log to the terminal." };
        var writeBackDelay = new Option<string?>("--write-back-delay") { Description = "Delay after the last close before an upload starts, e.g. 1s, 500ms (default 1s)." };
        var pollInterval = new Option<string?>("--poll-interval") { Description = "Change-feed poll interval when no push connection is up, e.g. 10s." };
        var debug = new Option<bool>("--debug") { Description = "Verbose logging." };
        var daemonChild = new Option<bool>(DaemonLauncher.ChildFlag) { Hidden = true };

        var command = new Command("mount", "Mount a ScaiDrive (or the embedded local server) as a filesystem.")
        {
            mountPoint, url, tokenFile, share, cacheDir, cacheMax, readOnly, allowOther, foreground, writeBackDelay, pollInterval, debug, daemonChild,
        };

        command.SetAction(async (ParseResult parse, CancellationToken cancellationToken) =>
        {
            bool isChild = parse.GetValue(daemonChild);
            try
            {
                MountSettings settings = BuildSettings(parse, mountPoint, url, tokenFile, share, cacheDir, cacheMax, readOnly, allowOther, writeBackDelay, pollInterval, debug);
                if (!parse.GetValue(foreground))
                {
                    // Forward the command line as given (it holds no secrets: tokens never come from arguments).
                    return await DaemonLauncher.LaunchAsync(Environment.GetCommandLineArgs()[1..], cancellationToken);
                }

                var host = new MountHost(settings, ready: mounted =>
                {
                    if (isChild)
                    {
                        // Tell the waiting parent, then let go of the pipes: the parent exits and nobody reads them any more.
                        Console.Out.WriteLine(DaemonLauncher.ReadyLine + " " + mounted);
                        Console.Out.Flush();
                        Console.SetOut(TextWriter.Null);
                        Console.SetError(TextWriter.Null);
                    }
                    else
                    {
                        Console.Error.WriteLine($"scaidrivefs: mounted {mounted}; press Ctrl-C or run `scaidrivefs unmount {mounted}` to unmount.");
                    }
                });
                return await host.RunAsync(logToConsole: !isChild, cancellationToken);
            }
            catch (CliException ex)
            {
                if (isChild)
                {
                    Console.Out.WriteLine(DaemonLauncher.FailedLine + " " + ex.Message);
                    Console.Out.Flush();
                }
                else
                {
                    await Console.Error.WriteLineAsync("scaidrivefs: " + ex.Message);
                }

                return ex.ExitCode;
            }
        });
        return command;
    }

    private static MountSettings BuildSettings(
        ParseResult parse,
        Argument<string> mountPoint,
        Option<string?> url,
        Option<string?> tokenFile,
        Option<string?> share,
        Option<string?> cacheDir,
        Option<string?> cacheMax,
        Option<bool> readOnly,
        Option<bool> allowOther,
        Option<string?> writeBackDelay,
        Option<string?> pollInterval,
        Option<bool> debug)
    {
        string? urlText = parse.GetValue(url) ?? Environment.GetEnvironmentVariable("SCAIDRIVE_URL");
        Uri? parsedUrl = null;
        if (!string.IsNullOrWhiteSpace(urlText))
        {
            if (!Uri.TryCreate(urlText, UriKind.Absolute, out parsedUrl) || (parsedUrl.Scheme != Uri.UriSchemeHttp && parsedUrl.Scheme != Uri.UriSchemeHttps))
            {
                throw new CliException($"'{urlText}' is not an http(s) URL.");
            }
        }

        long? cacheMaxBytes = null;
        if (parse.GetValue(cacheMax) is { } maxText)
        {
            if (!SizeParser.TryParse(maxText, out long bytes) || bytes <= 0)
            {
                throw new CliException($"--cache-max-size '{maxText}' is not a size (examples: 512M, 10G).");
            }

            cacheMaxBytes = bytes;
        }

        return new MountSettings
        {
            MountPoint = parse.GetValue(mountPoint)!,
            Url = parsedUrl,
            TokenFile = parse.GetValue(tokenFile),
            Share = parse.GetValue(share),
            CacheDirectory = parse.GetValue(cacheDir),
            CacheMaxBytes = cacheMaxBytes,
            ReadOnly = parse.GetValue(readOnly),
            AllowOther = parse.GetValue(allowOther),
            WriteBackDelay = ParseDuration(parse.GetValue(writeBackDelay), "--write-back-delay"),
            PollInterval = ParseDuration(parse.GetValue(pollInterval), "--poll-interval"),
            Debug = parse.GetValue(debug),
        };
    }

    /// <summary>Durations like 500ms, 2s, 1m, or plain seconds.</summary>
    internal static TimeSpan? ParseDuration(string? text, string option)
    {
        if (text is null)
        {
            return null;
        }

        string s = text.Trim().ToLowerInvariant();
        (string number, double scale) = s.EndsWith("ms", StringComparison.Ordinal) ? (s[..^2], 0.001)
            : s.EndsWith('s') ? (s[..^1], 1)
            : s.EndsWith('m') ? (s[..^1], 60)
            : (s, 1);
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || value < 0)
        {
            throw new CliException($"{option} '{text}' is not a duration (examples: 500ms, 2s, 1m).");
        }

        return TimeSpan.FromSeconds(value * scale);
    }
}
