using System.Text.Json;
using ScaiDrive.TestSupport;
using Xunit;

namespace ScaiDrive.Mount.Tests;

/// <summary>The `scaidrivefs` command itself: bad input gives a clear message and a non-zero exit, never a stack trace.</summary>
public sealed class CliTests
{
    private static Task<ProcessResult> Cli(IDictionary<string, string?>? environment, params string[] args) =>
        ProcessRunner.RunAsync("dotnet", [MountedDrive.CliPath, .. args], environment: environment, timeout: TimeSpan.FromMinutes(2));

    private static void AssertCleanFailure(ProcessResult result, string expected)
    {
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains(expected, result.StandardError, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("   at ", result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MountOnMissingDirectoryFails()
    {
        await using LocalServer server = await LocalServer.StartAsync();
        ProcessResult result = await Cli(new Dictionary<string, string?> { ["SCAIDRIVE_TOKEN"] = server.OwnerToken }, "mount", "/nonexistent/sdfs", "--url", server.BaseUrl.ToString(), "--foreground");
        AssertCleanFailure(result, "does not exist");
    }

    [Fact]
    public async Task MountWithoutTokenFails()
    {
        await using LocalServer server = await LocalServer.StartAsync();
        DirectoryInfo mp = Directory.CreateTempSubdirectory("sdfs-mnt-");
        try
        {
            ProcessResult result = await Cli(new Dictionary<string, string?> { ["SCAIDRIVE_TOKEN"] = null }, "mount", mp.FullName, "--url", server.BaseUrl.ToString(), "--foreground");
            AssertCleanFailure(result, "no token");
            Assert.False(MountedDrive.IsMounted(mp.FullName));
        }
        finally
        {
            mp.Delete();
        }
    }

    [Fact]
    public async Task MountWithBadTokenFails()
    {
        await using LocalServer server = await LocalServer.StartAsync();
        DirectoryInfo mp = Directory.CreateTempSubdirectory("sdfs-mnt-");
        try
        {
            ProcessResult result = await Cli(new Dictionary<string, string?> { ["SCAIDRIVE_TOKEN"] = "not-a-token" }, "mount", mp.FullName, "--url", server.BaseUrl.ToString(), "--foreground");
            AssertCleanFailure(result, "token");
            Assert.DoesNotContain("not-a-token", result.StandardError, StringComparison.Ordinal);
        }
        finally
        {
            mp.Delete();
        }
    }

    [Fact]
    public async Task MountWithUnreachableUrlFails()
    {
        DirectoryInfo mp = Directory.CreateTempSubdirectory("sdfs-mnt-");
        try
        {
            ProcessResult result = await Cli(new Dictionary<string, string?> { ["SCAIDRIVE_TOKEN"] = "x" }, "mount", mp.FullName, "--url", "http://127.0.0.1:9/", "--foreground");
            AssertCleanFailure(result, "reach");
        }
        finally
        {
            mp.Delete();
        }
    }

    [Fact]
    public async Task MountHelpDocumentsPushAndPolling()
    {
        ProcessResult help = (await Cli(null, "mount", "--help")).EnsureSuccess("mount --help");
        Assert.Contains("--no-push", help.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("--poll-interval", help.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("--metadata-timeout", help.StandardOutput, StringComparison.Ordinal); // tests only
    }

    [Theory]
    [InlineData("--poll-interval", "0s", "longer than zero")]
    [InlineData("--poll-interval", "soon", "not a duration")]
    [InlineData("--write-back-delay", "-1s", "not a duration")]
    [InlineData("--read-ahead-streams", "0", "from 1 to 16")]
    [InlineData("--read-ahead-streams", "17", "from 1 to 16")]
    [InlineData("--read-ahead-streams", "many", "from 1 to 16")]
    [InlineData("--streamed-reads-from", "lots", "is not a size")]
    public async Task MountWithBadOptionValueFails(string option, string value, string expected)
    {
        DirectoryInfo mp = Directory.CreateTempSubdirectory("sdfs-mnt-");
        try
        {
            ProcessResult result = await Cli(new Dictionary<string, string?> { ["SCAIDRIVE_TOKEN"] = "x" }, "mount", mp.FullName, "--url", "http://127.0.0.1:9/", "--foreground", option, value);
            AssertCleanFailure(result, expected);
            Assert.False(MountedDrive.IsMounted(mp.FullName));
        }
        finally
        {
            mp.Delete();
        }
    }

    [Fact]
    public async Task UnmountOfAPathThatIsNotMountedFails()
    {
        DirectoryInfo mp = Directory.CreateTempSubdirectory("sdfs-mnt-");
        try
        {
            AssertCleanFailure(await Cli(null, "unmount", mp.FullName), "not mounted");
        }
        finally
        {
            mp.Delete();
        }
    }

    [Fact]
    public async Task BackgroundMountReturnsWhenReadyAndKeepsTheTokenOutOfTheProcessList()
    {
        await using LocalServer server = await LocalServer.StartAsync();
        DirectoryInfo mp = Directory.CreateTempSubdirectory("sdfs-mnt-");
        DirectoryInfo cache = Directory.CreateTempSubdirectory("sdfs-cache-");
        try
        {
            ProcessResult mount = await Cli(
                new Dictionary<string, string?> { ["SCAIDRIVE_TOKEN"] = server.OwnerToken },
                "mount", mp.FullName, "--url", server.BaseUrl.ToString(), "--cache-dir", cache.FullName);
            mount.EnsureSuccess("background mount");
            Assert.True(MountedDrive.IsMounted(mp.FullName), "mounted when the command returned");

            // The daemon's command line holds no token.
            ProcessResult ps = (await ProcessRunner.RunAsync("ps", ["-eo", "args"])).EnsureSuccess("ps");
            Assert.Contains("scaidrivefs", ps.StandardOutput, StringComparison.Ordinal);
            Assert.DoesNotContain(server.OwnerToken, ps.StandardOutput, StringComparison.Ordinal);

            ProcessResult status = (await Cli(null, "status", mp.FullName, "--json")).EnsureSuccess("status");
            using JsonDocument json = JsonDocument.Parse(status.StandardOutput);
            Assert.Equal(JsonValueKind.Number, json.RootElement.GetProperty("pending_uploads").ValueKind);

            // A second mount on a live mount point is refused.
            ProcessResult again = await Cli(
                new Dictionary<string, string?> { ["SCAIDRIVE_TOKEN"] = server.OwnerToken },
                "mount", mp.FullName, "--url", server.BaseUrl.ToString(), "--foreground");
            AssertCleanFailure(again, "already");

            (await Cli(null, "unmount", mp.FullName)).EnsureSuccess("unmount");
            Assert.False(MountedDrive.IsMounted(mp.FullName));
        }
        finally
        {
            if (MountedDrive.IsMounted(mp.FullName))
            {
                await ProcessRunner.RunAsync("fusermount3", ["-u", "-z", mp.FullName]);
            }

            mp.Delete(recursive: true);
            cache.Delete(recursive: true);
        }
    }
}
