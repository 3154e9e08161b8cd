using System.Diagnostics;
using ScaiDrive.Fuse.Session;

namespace ScaiDrive.Fuse.Tests;

/// <summary>A real mount of an <see cref="IFuseFileSystem"/> under a fresh temp dir; disposing unmounts and deletes it.</summary>
internal sealed class TestMount : IAsyncDisposable
{
    private TestMount(string directory, FuseMount mount)
    {
        Directory = directory;
        Mount = mount;
    }

    public string Directory { get; }

    public FuseMount Mount { get; }

    public string MountPoint => Mount.MountPoint;

    public string PathOf(string relative) => System.IO.Path.Combine(MountPoint, relative);

    public static string? WhyNot()
    {
        if (FuseEnvironment.CheckAvailable() is { } missing)
        {
            return missing;
        }

        return Environment.UserName == "root" || File.Exists("/usr/bin/fusermount3") ? null : "fusermount3 missing";
    }

    public static async Task<TestMount> StartAsync(IFuseFileSystem fs, Func<FuseMountOptions, FuseMountOptions>? configure = null)
    {
        if (WhyNot() is { } why)
        {
            Assert.Skip(why);
        }

        string directory = TempDirectory.Create();
        string mountPoint = System.IO.Path.Combine(directory, "mnt");
        System.IO.Directory.CreateDirectory(mountPoint);
        var options = new FuseMountOptions { MountPoint = mountPoint, FsName = "sdfs-test", UnmountTimeout = TimeSpan.FromSeconds(5), DrainTimeout = TimeSpan.FromSeconds(2) };
        options = configure?.Invoke(options) ?? options;
        try
        {
            FuseMount mount = await FuseMount.MountAsync(fs, options, null, TestContext.Current.CancellationToken);
            return new TestMount(directory, mount);
        }
        catch
        {
            TempDirectory.Delete(directory);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Mount.UnmountAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            if (!FuseEnvironment.IsMountPoint(MountPoint))
            {
                TempDirectory.Delete(Directory);
            }
        }
    }
}

internal static class TempDirectory
{
    /// <summary>Names contain "sdfs" so the suite's leftover-mount check recognizes them.</summary>
    public static string Create()
    {
        string path = Path.Combine(Path.GetTempPath(), $"sdfs-fuse-{Guid.NewGuid():N}");
        Directory.CreateDirectory(path);
        return path;
    }

    public static void Delete(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

internal sealed record ProcessResult(int ExitCode, string Stdout, string Stderr);

/// <summary>Runs a program against the mount from another process: a kernel wait there can never block a FUSE callback.</summary>
internal static class Run
{
    public static async Task<ProcessResult> ProgramAsync(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        using Process process = Process.Start(start)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', arguments)} did not finish in 30 s");
        }

        return new ProcessResult(process.ExitCode, await stdout, await stderr);
    }

    public static Process Start(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        return Process.Start(start)!;
    }
}
