using ScaiDrive.TestSupport;
using Xunit;

namespace ScaiDrive.Mount.Tests;

/// <summary>
/// `mount --direct-io`: files opened read-only bypass the kernel's page cache. Reads return the server's bytes; a shared
/// memory map of such a file is refused (the sign that the page cache really is bypassed), while a private one (git's
/// pack files) and running a program from the mount still work.
/// </summary>
public sealed class DirectIoMountTests
{
    [Fact]
    public async Task ReadsBypassThePageCacheButProgramsStillRun()
    {
        await using LocalServer server = await LocalServer.StartAsync();
        using UploadedFile file = await UploadedFile.UploadAsync(server, "movie.bin", (12 * 1024 * 1024) + 12345);
        string expected = file.ExpectedPath;
        await using MountedDrive drive = await MountedDrive.StartAsync(server, new MountedDriveOptions
        {
            Share = server.DefaultShareId,
            CacheDirectory = file.CacheDirectory,
            ExtraArguments = ["--direct-io"],
        });
        string movie = Path.Combine(drive.MountPoint, "movie.bin");
        (await ProcessRunner.RunAsync("cmp", [expected, movie])).EnsureSuccess("cmp of the file read through the mount");
        (await ProcessRunner.BashAsync($"dd if='{movie}' bs=4k skip=777 count=3 status=none | cmp - <(dd if='{expected}' bs=4k skip=777 count=3 status=none)", drive.MountPoint))
            .EnsureSuccess("a small read in the middle");

        ProcessResult map = await ProcessRunner.RunAsync("python3", ["-c", $"import mmap; f = open('{movie}', 'rb'); mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)"]);
        Assert.NotEqual(0, map.ExitCode);
        Assert.Contains("No such device", map.StandardError);
        (await ProcessRunner.RunAsync("python3", ["-c", $"import mmap, sys; f = open('{movie}', 'rb'); m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY); sys.exit(0 if m[-12345:] == open('{expected}', 'rb').read()[-12345:] else 1)"]))
            .EnsureSuccess("a private memory map");

        string program = Path.Combine(drive.MountPoint, "true-copy");
        (await ProcessRunner.RunAsync("install", ["-m", "755", "/bin/true", program])).EnsureSuccess("install of a program into the mount");
        (await ProcessRunner.RunAsync(program, [])).EnsureSuccess("a program started from the mount");
    }
}
