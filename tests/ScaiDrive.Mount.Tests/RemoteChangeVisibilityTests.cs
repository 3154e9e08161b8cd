using System.Diagnostics;
using System.Text;
using ScaiDrive.Client;
using ScaiDrive.TestSupport;
using Xunit;

namespace ScaiDrive.Mount.Tests;

/// <summary>
/// Every kind of remote change the mount must follow (files and folders created, updated, renamed, moved, deleted,
/// folders with their whole subtree), made through the API by a second client, timed from the API call's return to
/// its visibility in a live mount. The mount keeps names, attributes and negative entries for a minute
/// (<c>--metadata-timeout 60s</c>), and the kernel holds what each case reads before the change: nothing can expire
/// in time, so only the change feed and its explicit kernel invalidation (entry, attributes, pages) can make a
/// change visible. Run twice: with the push socket (bound: 1 s) and without it, polling every 2 s (bound: the
/// interval plus a margin for the pull and the invalidation).
/// </summary>
public abstract class RemoteChangeVisibilityTests(VisibilityFixture fixture)
{
    private static readonly TimeSpan s_prepared = TimeSpan.FromSeconds(15);

    private string Root => fixture.Drive.MountPoint;

    private ScaiDriveClient Api => fixture.Client;

    private ShareId Share => fixture.Share;

    private string Path(params string[] parts) => System.IO.Path.Combine([Root, .. parts]);

    [Fact]
    public void PushConnectionIsAsConfigured()
    {
        string log = fixture.ReadLog();
        if (fixture.Push)
        {
            Assert.Contains("Change nudge socket connected", log, StringComparison.Ordinal);
        }
        else
        {
            Assert.DoesNotContain("Change nudge socket", log, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task FileCreated()
    {
        string path = Path("created.txt");
        Assert.False(File.Exists(path)); // the kernel now holds a negative entry for a minute
        Assert.DoesNotContain("created.txt", Names(Root));

        await Api.UploadSmallFileAsync(Share, null, "created.txt", "hello"u8.ToArray());
        await fixture.VisibleAsync("file created", () => File.Exists(path) && Names(Root).Contains("created.txt") && File.ReadAllText(path) == "hello");
    }

    [Fact]
    public async Task NewVersionReachesAnOpenDescriptorAndNewOpens()
    {
        FileItem file = await Api.UploadSmallFileAsync(Share, null, "updated.txt", "version one"u8.ToArray());
        string path = Path("updated.txt");
        await PreparedAsync(() => File.Exists(path));

        // One descriptor held open across the change: only an explicit invalidation of its pages can show it new
        // content. Same size, so the size in the kernel's attributes cannot give it away either.
        using var held = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0);
        Assert.Equal("version one", ReadAt(held));
        Assert.Equal("version one", await CatAsync(path)); // and once through another process: the page cache holds it

        file = await NewVersionAsync(file, "version two");
        await fixture.VisibleAsync("new version through the open descriptor", () => ReadAt(held) == "version two");
        Assert.Equal("version two", await CatAsync(path));

        // A longer version: the size the kernel reports changes with it.
        await NewVersionAsync(file, "version three, longer");
        await fixture.VisibleAsync(
            "longer new version",
            () => new FileInfo(path).Length == "version three, longer".Length && ReadAt(held) == "version three, longer");
    }

    [Fact]
    public async Task FileRenamed()
    {
        FolderItem dir = await Api.CreateFolderAsync(Share, null, "rename-dir");
        FileItem file = await Api.UploadSmallFileAsync(Share, dir.Id, "before.txt", "r"u8.ToArray());
        string before = Path("rename-dir", "before.txt"), after = Path("rename-dir", "after.txt");
        await PreparedAsync(() => File.Exists(before));
        Assert.False(File.Exists(after));
        Assert.Equal("r", File.ReadAllText(before));

        await Api.RenameFileAsync(file.Id, "after.txt");
        await fixture.VisibleAsync(
            "file renamed",
            () => File.Exists(after) && !File.Exists(before) && Names(Path("rename-dir")).SequenceEqual(["after.txt"]));
        Assert.Equal("r", File.ReadAllText(after));
    }

    [Fact]
    public async Task FileMoved()
    {
        FolderItem from = await Api.CreateFolderAsync(Share, null, "move-from");
        FolderItem to = await Api.CreateFolderAsync(Share, null, "move-to");
        FileItem file = await Api.UploadSmallFileAsync(Share, from.Id, "moving.txt", "m"u8.ToArray());
        string before = Path("move-from", "moving.txt"), after = Path("move-to", "moving.txt");
        await PreparedAsync(() => File.Exists(before) && Directory.Exists(Path("move-to")));
        Assert.False(File.Exists(after));
        Assert.Empty(Names(Path("move-to")));
        string inode = await InodeAsync(before);

        await Api.MoveFileAsync(file.Id, to.Id, null);
        await fixture.VisibleAsync(
            "file moved",
            () => File.Exists(after) && !File.Exists(before) && Names(Path("move-from")).Length == 0 && Names(Path("move-to")).SequenceEqual(["moving.txt"]));
        Assert.Equal(inode, await InodeAsync(after));
        Assert.Equal("m", File.ReadAllText(after));
    }

    [Fact]
    public async Task FileDeleted()
    {
        FileItem file = await Api.UploadSmallFileAsync(Share, null, "deleted.txt", "d"u8.ToArray());
        string path = Path("deleted.txt");
        await PreparedAsync(() => File.Exists(path));
        using var held = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0);
        Assert.Equal("d", ReadAt(held));

        await Api.DeleteFileAsync(file.Id);
        await fixture.VisibleAsync("file deleted", () => !File.Exists(path) && !Names(Root).Contains("deleted.txt"));
        Assert.Equal("d", ReadAt(held)); // an open descriptor keeps reading what was cached
    }

    [Fact]
    public async Task FolderTreeCreated()
    {
        string deep = Path("new-top", "sub", "leaf.txt");
        Assert.False(Directory.Exists(Path("new-top"))); // negative entry

        FolderItem top = await Api.CreateFolderAsync(Share, null, "new-top");
        FolderItem sub = await Api.CreateFolderAsync(Share, top.Id, "sub");
        await Api.UploadSmallFileAsync(Share, sub.Id, "leaf.txt", "leaf"u8.ToArray());
        await fixture.VisibleAsync(
            "folder tree created",
            () => Names(Root).Contains("new-top") && File.Exists(deep) && File.ReadAllText(deep) == "leaf");
    }

    [Fact]
    public async Task FolderRenamedWithItsSubtree()
    {
        FolderItem top = await Api.CreateFolderAsync(Share, null, "ren-top");
        FolderItem sub = await Api.CreateFolderAsync(Share, top.Id, "sub");
        await Api.UploadSmallFileAsync(Share, sub.Id, "f.txt", "deep"u8.ToArray());
        string before = Path("ren-top", "sub", "f.txt"), after = Path("ren-top2", "sub", "f.txt");
        await PreparedAsync(() => File.Exists(before));
        Assert.Equal("deep", File.ReadAllText(before));
        Assert.False(Directory.Exists(Path("ren-top2")));
        string inode = await InodeAsync(before);

        await Api.RenameFolderAsync(top.Id, "ren-top2");
        await fixture.VisibleAsync(
            "folder renamed",
            () => File.Exists(after) && !Directory.Exists(Path("ren-top")) && !File.Exists(before) && Names(Root).Contains("ren-top2") && !Names(Root).Contains("ren-top"));
        Assert.Equal(inode, await InodeAsync(after));
        Assert.Equal("deep", File.ReadAllText(after));
    }

    [Fact]
    public async Task FolderMovedWithItsSubtree()
    {
        FolderItem top = await Api.CreateFolderAsync(Share, null, "mv-top");
        FolderItem sub = await Api.CreateFolderAsync(Share, top.Id, "sub");
        FolderItem target = await Api.CreateFolderAsync(Share, null, "mv-target");
        await Api.UploadSmallFileAsync(Share, sub.Id, "f.txt", "moved deep"u8.ToArray());
        string before = Path("mv-top", "sub", "f.txt"), after = Path("mv-target", "sub", "f.txt");
        await PreparedAsync(() => File.Exists(before) && Directory.Exists(Path("mv-target")));
        Assert.Equal("moved deep", File.ReadAllText(before));
        Assert.Empty(Names(Path("mv-target")));
        string inode = await InodeAsync(before);

        await Api.MoveFolderAsync(sub.Id, target.Id, null);
        await fixture.VisibleAsync(
            "folder moved",
            () => File.Exists(after) && !Directory.Exists(Path("mv-top", "sub")) && Names(Path("mv-top")).Length == 0 && Names(Path("mv-target")).SequenceEqual(["sub"]));
        Assert.Equal(inode, await InodeAsync(after));
        Assert.Equal("moved deep", File.ReadAllText(after));
    }

    [Fact]
    public async Task FolderDeletedWithItsSubtree()
    {
        FolderItem top = await Api.CreateFolderAsync(Share, null, "del-top");
        FolderItem sub = await Api.CreateFolderAsync(Share, top.Id, "sub");
        await Api.UploadSmallFileAsync(Share, sub.Id, "f.txt", "doomed"u8.ToArray());
        string deep = Path("del-top", "sub", "f.txt");
        await PreparedAsync(() => File.Exists(deep));
        Assert.Equal("doomed", File.ReadAllText(deep));
        Assert.Equal(["sub"], Names(Path("del-top")));

        await Api.DeleteFolderAsync(top.Id);
        await fixture.VisibleAsync(
            "folder deleted",
            () => !Directory.Exists(Path("del-top")) && !File.Exists(deep) && !Names(Root).Contains("del-top"));
    }

    private static string[] Names(string directory) =>
        Directory.EnumerateFileSystemEntries(directory).Select(p => System.IO.Path.GetFileName(p)).Order(StringComparer.Ordinal).ToArray();

    /// <summary>pread from offset 0 on a descriptor kept open (no buffering in .NET: bufferSize 0).</summary>
    private static string ReadAt(FileStream stream)
    {
        byte[] buffer = new byte[256];
        int n = RandomAccess.Read(stream.SafeFileHandle, buffer, 0);
        return Encoding.UTF8.GetString(buffer, 0, n);
    }

    private static async Task<string> CatAsync(string path) => (await ProcessRunner.RunAsync("cat", [path])).StandardOutput;

    private static async Task<string> InodeAsync(string path)
    {
        ProcessResult result = await ProcessRunner.RunAsync("stat", ["-c", "%i", path]);
        result.EnsureSuccess("stat " + path);
        return result.StandardOutput.Trim();
    }

    private async Task<FileItem> NewVersionAsync(FileItem file, string content)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(content);
        return await Api.UploadResumableAsync(
            new CreateUploadSessionRequest(Share, file.FolderId, file.Name, bytes.Length) { ReplaceFileId = file.Id, BaseVersionId = file.VersionId },
            new MemoryUploadSource(bytes));
    }

    /// <summary>The state a case starts from is visible (through the feed as well: it is not what is measured).</summary>
    private static async Task PreparedAsync(Func<bool> condition)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < s_prepared, "the starting state never showed in the mount");
            await Task.Delay(20);
        }
    }
}

/// <summary>With the push socket: every change visible within 1 s (polling set to a minute, so it cannot help).</summary>
public sealed class PushedRemoteChangeTests(PushedMountFixture fixture) : RemoteChangeVisibilityTests(fixture), IClassFixture<PushedMountFixture>;

/// <summary>Without the push socket (<c>--no-push</c>): every change visible within the 2 s poll interval plus a margin.</summary>
public sealed class PolledRemoteChangeTests(PolledMountFixture fixture) : RemoteChangeVisibilityTests(fixture), IClassFixture<PolledMountFixture>;

public sealed class PushedMountFixture() : VisibilityFixture(push: true, pollInterval: TimeSpan.FromSeconds(60), bound: TimeSpan.FromSeconds(1));

// The margin covers the pull itself, applying it and the kernel invalidation on a loaded two-core machine (up to
// 0.4 s seen with five engineers' builds on it); a missed poll would take twice the interval.
public sealed class PolledMountFixture() : VisibilityFixture(push: false, pollInterval: TimeSpan.FromSeconds(2), bound: TimeSpan.FromSeconds(3));

/// <summary>One local server and one mount of its default share with long metadata timeouts, push on or off.</summary>
public abstract class VisibilityFixture(bool push, TimeSpan pollInterval, TimeSpan bound) : DriveFixture
{
    private readonly List<(string What, TimeSpan Elapsed)> _latencies = new();

    public bool Push { get; } = push;

    /// <summary>The longest a change may take to show.</summary>
    public TimeSpan Bound { get; } = bound;

    protected override MountedDriveOptions MountOptions(string share) => new()
    {
        Share = share,
        PollInterval = $"{pollInterval.TotalSeconds}s",
        ExtraArguments = Push ? ["--metadata-timeout", "60s"] : ["--metadata-timeout", "60s", "--no-push"],
    };

    public override async ValueTask InitializeAsync()
    {
        await base.InitializeAsync();

        // Following starts at the head of the feed once a cursor is stored; with push, once the socket is up too.
        var clock = Stopwatch.StartNew();
        while (!File.Exists(System.IO.Path.Combine(Drive.CacheDirectory, "state", "cursors.json"))
            || (Push && !ReadLog().Contains("Change nudge socket connected", StringComparison.Ordinal)))
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(20))
            {
                throw new TimeoutException("the mount never started following the change feed");
            }

            await Task.Delay(50);
        }

        // One change followed and read before the cases: what is measured is how soon a change shows, not how long
        // the daemon's first content fetch takes (JIT, the first connection of the read path: up to 0.7 s here).
        await Client.UploadSmallFileAsync(Share, null, "warm-up.txt", "warm"u8.ToArray());
        string warmUp = System.IO.Path.Combine(Drive.MountPoint, "warm-up.txt");
        while (!File.Exists(warmUp) || File.ReadAllText(warmUp) != "warm")
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(30))
            {
                throw new TimeoutException("the warm-up change never showed in the mount");
            }

            await Task.Delay(50);
        }
    }

    public string ReadLog()
    {
        string path = System.IO.Path.Combine(Drive.CacheDirectory, "logs", "scaidrivefs.log");
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>Waits until <paramref name="condition"/> holds and fails when that took longer than <see cref="Bound"/>.</summary>
    public async Task VisibleAsync(string what, Func<bool> condition)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > Bound + TimeSpan.FromSeconds(5))
            {
                break; // Not at all: fail below with the time waited.
            }

            await Task.Delay(10);
        }

        TimeSpan elapsed = clock.Elapsed;
        lock (_latencies)
        {
            _latencies.Add((what, elapsed));
        }

        TestContext.Current.TestOutputHelper?.WriteLine($"{what}: {elapsed.TotalMilliseconds:F0} ms (bound {Bound.TotalMilliseconds:F0} ms, push {(Push ? "on" : "off")})");
        if (elapsed > (Push ? TimeSpan.Zero : pollInterval) + TimeSpan.FromMilliseconds(500))
        {
            // Slower than one poll (or nudge) should take: the daemon's last words (retries, failed pulls) say why.
            string[] tail = ReadLog().Split('\n', StringSplitOptions.RemoveEmptyEntries).TakeLast(15).ToArray();
            DateTime started = DateTime.UtcNow - elapsed;
            TestContext.Current.SendDiagnosticMessage($"{what} took {elapsed.TotalMilliseconds:F0} ms from {started:HH:mm:ss.fff} UTC; daemon log tail:\n{string.Join('\n', tail)}");
        }

        Assert.True(condition(), $"{what}: not visible after {elapsed.TotalMilliseconds:F0} ms");
        Assert.True(elapsed <= Bound, $"{what}: visible only after {elapsed.TotalMilliseconds:F0} ms, bound {Bound.TotalMilliseconds:F0} ms");
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        lock (_latencies)
        {
            if (_latencies.Count > 0)
            {
                TestContext.Current.SendDiagnosticMessage(
                    $"push {(Push ? "on" : "off")}: " + string.Join(", ", _latencies.Select(l => $"{l.What} {l.Elapsed.TotalMilliseconds:F0} ms")));
            }
        }
    }
}
