using System.CommandLine;
using System.Globalization;
using ScaiDriveFS.Cli.Hosting;

namespace ScaiDriveFS.Cli.Commands;

/// <summary>`scaidrivefs mount MOUNTPOINT [options]`.</summary>
internal static class MountCommand
{
    public static Command Create()
    {
        var options = new MountOptions();
        var command = new Command("mount", "Mount a ScaiDrive (or the embedded local server) as a filesystem.");
        command.Arguments.Add(options.MountPoint);
        foreach (Option option in options.All)
        {
            command.Options.Add(option);
        }

        command.SetAction(async (ParseResult parse, CancellationToken cancellationToken) =>
        {
            bool isChild = parse.GetValue(options.DaemonChild);
            try
            {
                MountSettings settings = options.Read(parse);
                if (!parse.GetValue(options.Foreground))
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

    /// <summary>The mount command's argument and options, and the one place that reads them into <see cref="MountSettings"/>.</summary>
    private sealed class MountOptions
    {
        public Argument<string> MountPoint { get; } = new("mountpoint") { Description = "Directory to mount on (Linux) — or a drive letter such as S: (Windows)." };

        public Option<string?> Url { get; } = new("--url") { Description = "ScaiDrive server URL (default: SCAIDRIVE_URL, else the embedded local server)." };

        public Option<string?> TokenFile { get; } = new("--token-file") { Description = "File holding the access token, re-read when it changes (default: SCAIDRIVE_TOKEN)." };

        public Option<string?> Share { get; } = new("--share") { Description = "Mount one share (name or ID) as the root; default: every share as a directory." };

        public Option<string?> CacheDir { get; } = new("--cache-dir") { Description = "Cache directory (block cache, staged writes, journal). Default: ~/.cache/scaidrivefs/<remote>." };

        public Option<string?> CacheMaxSize { get; } = new("--cache-max-size") { Description = "Disk cache limit, e.g. 10G (staged writes are never evicted)." };

        public Option<bool> ReadOnly { get; } = new("--read-only") { Description = "Mount read-only." };

        public Option<bool> DirectIo { get; } = new("--direct-io")
        {
            Description = "Files opened read-only bypass the kernel's page cache: faster cold sequential reads, but such files cannot be memory-mapped (Linux).",
        };

        public Option<string?> ReadAheadStreams { get; } = new("--read-ahead-streams")
        {
            Description = "Range requests one sequential reader keeps in flight, 1-16 (default 2; more helps when the server caps each connection's bandwidth).",
        };

        public Option<string?> StreamedReadsFrom { get; } = new("--streamed-reads-from")
        {
            Description = "A sequential read that gets this far into a file continues as one HTTP stream spliced into the kernel (Linux, plain-HTTP servers; default 64M); 'off' keeps block read-ahead for the whole file.",
        };

        public Option<bool> AllowOther { get; } = new("--allow-other") { Description = "Let other users see the mount (needs user_allow_other in /etc/fuse.conf unless root)." };

        public Option<bool> Foreground { get; } = new("--foreground", "-f") { Description = "Stay in the foreground and log to the terminal." };

        public Option<string?> WriteBackDelay { get; } = new("--write-back-delay") { Description = "Delay after the last close before an upload starts, e.g. 1s, 500ms (default 1s)." };

        public Option<string?> PollInterval { get; } = new("--poll-interval") { Description = "Change-feed poll interval when no push connection is up, e.g. 10s (default 10s)." };

        public Option<bool> NoPush { get; } = new("--no-push")
        {
            Description = "Do not open the server's push connection (WebSocket): remote changes are seen by polling the change feed every --poll-interval only (for proxies that refuse WebSockets).",
        };

        // Tests: with long timeouts, only the change feed's explicit invalidation can make a remote change visible.
        public Option<string?> MetadataTimeout { get; } = new("--metadata-timeout") { Hidden = true };

        public Option<bool> Debug { get; } = new("--debug") { Description = "Verbose logging." };

        public Option<bool> DaemonChild { get; } = new(DaemonLauncher.ChildFlag) { Hidden = true };

        public IEnumerable<Option> All =>
        [
            Url, TokenFile, Share, CacheDir, CacheMaxSize, ReadOnly, DirectIo, ReadAheadStreams, StreamedReadsFrom, AllowOther, Foreground, WriteBackDelay, PollInterval, NoPush, MetadataTimeout, Debug, DaemonChild,
        ];

        public MountSettings Read(ParseResult parse)
        {
            string? urlText = parse.GetValue(Url) ?? Environment.GetEnvironmentVariable("SCAIDRIVE_URL");
            Uri? parsedUrl = null;
            if (!string.IsNullOrWhiteSpace(urlText))
            {
                if (!Uri.TryCreate(urlText, UriKind.Absolute, out parsedUrl) || (parsedUrl.Scheme != Uri.UriSchemeHttp && parsedUrl.Scheme != Uri.UriSchemeHttps))
                {
                    throw new CliException($"'{urlText}' is not an http(s) URL.");
                }
            }

            long? cacheMaxBytes = null;
            if (parse.GetValue(CacheMaxSize) is { } maxText)
            {
                if (!SizeParser.TryParse(maxText, out long bytes) || bytes <= 0)
                {
                    throw new CliException($"--cache-max-size '{maxText}' is not a size (examples: 512M, 10G).");
                }

                cacheMaxBytes = bytes;
            }

            TimeSpan? pollInterval = ParseDuration(parse.GetValue(PollInterval), "--poll-interval");
            if (pollInterval is { } poll && poll <= TimeSpan.Zero)
            {
                throw new CliException("--poll-interval must be longer than zero.");
            }

            int? readAheadStreams = null;
            if (parse.GetValue(ReadAheadStreams) is { } streamsText)
            {
                if (!int.TryParse(streamsText, NumberStyles.None, CultureInfo.InvariantCulture, out int streams) || streams is < 1 or > 16)
                {
                    throw new CliException($"--read-ahead-streams must be a whole number from 1 to 16, not '{streamsText}'.");
                }

                readAheadStreams = streams;
            }

            long? streamedReadsFrom = MountSettings.DefaultStreamedReadsFrom;
            if (parse.GetValue(StreamedReadsFrom) is { } streamText)
            {
                if (string.Equals(streamText, "off", StringComparison.OrdinalIgnoreCase))
                {
                    streamedReadsFrom = null;
                }
                else if (SizeParser.TryParse(streamText, out long from) && from >= 0)
                {
                    streamedReadsFrom = from;
                }
                else
                {
                    throw new CliException($"--streamed-reads-from '{streamText}' is not a size (examples: 64M, 1G) or 'off'.");
                }
            }

            return new MountSettings
            {
                MountPoint = parse.GetValue(MountPoint)!,
                Url = parsedUrl,
                TokenFile = parse.GetValue(TokenFile),
                Share = parse.GetValue(Share),
                CacheDirectory = parse.GetValue(CacheDir),
                CacheMaxBytes = cacheMaxBytes,
                ReadOnly = parse.GetValue(ReadOnly),
                DirectIo = parse.GetValue(DirectIo),
                ReadAheadStreams = readAheadStreams,
                StreamedReadsFrom = streamedReadsFrom,
                AllowOther = parse.GetValue(AllowOther),
                WriteBackDelay = ParseDuration(parse.GetValue(WriteBackDelay), "--write-back-delay"),
                PollInterval = pollInterval,
                Push = !parse.GetValue(NoPush),
                MetadataTimeout = ParseDuration(parse.GetValue(MetadataTimeout), "--metadata-timeout"),
                Debug = parse.GetValue(Debug),
            };
        }
    }
}
