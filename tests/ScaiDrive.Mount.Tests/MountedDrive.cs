using System.Diagnostics;
using ScaiDrive.TestSupport;

namespace ScaiDrive.Mount.Tests;

public sealed record MountedDriveOptions
{
    /// <summary>Reuse a cache directory (remount tests); a fresh temp one otherwise.</summary>
    public string? CacheDirectory { get; init; }

    public string? Share { get; init; }

    public string? Token { get; init; }

    public bool ReadOnly { get; init; }

    public string WriteBackDelay { get; init; } = "100ms";

    public string PollInterval { get; init; } = "1s";

    public IReadOnlyList<string> ExtraArguments { get; init; } = [];
}

/// <summary>
/// A real mount: `scaidrivefs mount --foreground` of the local server in a child process (so the kernel never
/// waits on this test process), unmounted in DisposeAsync whatever happened: `scaidrivefs unmount`, then kill and a
/// lazy unmount if the daemon does not answer.
/// </summary>
public sealed class MountedDrive : IAsyncDisposable
{
    private readonly Process _daemon;
    private readonly bool _ownsCache;
    private readonly Task<string> _daemonStderr;

    private MountedDrive(string mountPoint, string cacheDirectory, bool ownsCache, Process daemon, Task<string> daemonStderr)
    {
        MountPoint = mountPoint;
        CacheDirectory = cacheDirectory;
        _ownsCache = ownsCache;
        _daemon = daemon;
        _daemonStderr = daemonStderr;
    }

    public string MountPoint { get; }

    public string CacheDirectory { get; }

    public int DaemonProcessId => _daemon.Id;

    /// <summary>Path of the built CLI next to the test assembly (the project references the CLI).</summary>
    public static string CliPath => Path.Combine(AppContext.BaseDirectory, "scaidrivefs.dll");

    public static async Task<MountedDrive> StartAsync(LocalServer server, MountedDriveOptions? options = null, string? mountPoint = null)
    {
        options ??= new MountedDriveOptions();
        mountPoint ??= Directory.CreateTempSubdirectory("sdfs-mnt-").FullName;
        Directory.CreateDirectory(mountPoint);
        bool ownsCache = options.CacheDirectory is null;
        string cache = options.CacheDirectory ?? Directory.CreateTempSubdirectory("sdfs-cache-").FullName;

        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        string[] args =
        [
            CliPath, "mount", mountPoint, "--url", server.BaseUrl.ToString(), "--cache-dir", cache, "--foreground",
            "--write-back-delay", options.WriteBackDelay, "--poll-interval", options.PollInterval,
        ];
        foreach (string a in args.Concat(options.ExtraArguments))
        {
            start.ArgumentList.Add(a);
        }

        if (options.Share is { } share)
        {
            start.ArgumentList.Add("--share");
            start.ArgumentList.Add(share);
        }

        if (options.ReadOnly)
        {
            start.ArgumentList.Add("--read-only");
        }

        // The token travels in the environment, never on the command line.
        start.Environment["SCAIDRIVE_TOKEN"] = options.Token ?? server.OwnerToken;
        start.Environment.Remove("SCAIDRIVE_URL");

        Process daemon = Process.Start(start) ?? throw new InvalidOperationException("could not start scaidrivefs");
        daemon.StandardInput.Close();
        Task<string> stderr = daemon.StandardError.ReadToEndAsync();
        _ = daemon.StandardOutput.ReadToEndAsync();
        var drive = new MountedDrive(mountPoint, cache, ownsCache, daemon, stderr);

        var clock = Stopwatch.StartNew();
        while (!IsMounted(mountPoint))
        {
            if (daemon.HasExited)
            {
                string said = await stderr;
                throw new InvalidOperationException($"scaidrivefs mount exited with {daemon.ExitCode} before mounting:\n{said}");
            }

            if (clock.Elapsed > TimeSpan.FromSeconds(60))
            {
                await drive.DisposeAsync();
                throw new TimeoutException("scaidrivefs mount did not mount within 60 s");
            }

            await Task.Delay(50);
        }

        return drive;
    }

    public static bool IsMounted(string mountPoint)
    {
        string target = Path.GetFullPath(mountPoint).TrimEnd('/');
        foreach (string line in File.ReadLines("/proc/mounts"))
        {
            string[] fields = line.Split(' ');
            if (fields.Length > 2 && fields[1].Replace("\\040", " ", StringComparison.Ordinal) == target && fields[2].StartsWith("fuse", StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Runs `scaidrivefs ARGS` (unmount, status …) as a separate process.</summary>
    public static Task<ProcessResult> CliAsync(params string[] arguments) =>
        ProcessRunner.RunAsync("dotnet", [CliPath, .. arguments], timeout: TimeSpan.FromMinutes(3));

    /// <summary>`scaidrivefs unmount` (drains pending uploads), then waits for the daemon to exit.</summary>
    public async Task UnmountAsync()
    {
        if (_daemon.HasExited)
        {
            return;
        }

        (await CliAsync("unmount", MountPoint)).EnsureSuccess("scaidrivefs unmount");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await _daemon.WaitForExitAsync(cts.Token);
    }

    /// <summary>kill -9 of the daemon, then the stale mount is detached (as after a crash).</summary>
    public async Task KillAsync()
    {
        if (!_daemon.HasExited)
        {
            _daemon.Kill(entireProcessTree: true);
            await _daemon.WaitForExitAsync();
        }

        await LazyUnmountAsync(MountPoint);
    }

    public string DaemonStandardError => _daemonStderr.IsCompleted ? _daemonStderr.Result : "(daemon still running)";

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_daemon.HasExited)
            {
                try
                {
                    using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                    ProcessResult result = await ProcessRunner.RunAsync("dotnet", [CliPath, "unmount", MountPoint], timeout: TimeSpan.FromSeconds(60));
                    if (result.ExitCode == 0)
                    {
                        await _daemon.WaitForExitAsync(cts.Token);
                    }
                }
                catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
                {
                }

                if (!_daemon.HasExited)
                {
                    _daemon.Kill(entireProcessTree: true);
                    await _daemon.WaitForExitAsync();
                }
            }
        }
        finally
        {
            // Whatever happened above, never leave a mount behind.
            if (IsMounted(MountPoint))
            {
                await LazyUnmountAsync(MountPoint);
            }

            _daemon.Dispose();
            TryDelete(MountPoint);
            if (_ownsCache)
            {
                TryDelete(CacheDirectory);
            }
        }
    }

    private static async Task LazyUnmountAsync(string mountPoint)
    {
        for (int attempt = 0; attempt < 5 && IsMounted(mountPoint); attempt++)
        {
            await ProcessRunner.RunAsync("fusermount3", ["-u", "-z", mountPoint], timeout: TimeSpan.FromSeconds(20));
            if (IsMounted(mountPoint))
            {
                await ProcessRunner.RunAsync("umount", ["-l", mountPoint], timeout: TimeSpan.FromSeconds(20));
            }

            await Task.Delay(100);
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            if (Directory.Exists(path) && !IsMounted(path))
            {
                Directory.Delete(path, recursive: true);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
