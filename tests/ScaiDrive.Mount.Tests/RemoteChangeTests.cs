using System.Diagnostics;
using System.Text;
using ScaiDrive.Client;
using ScaiDrive.TestSupport;
using Xunit;

namespace ScaiDrive.Mount.Tests;

/// <summary>
/// Changes made through the API by a second client show in a live mount within a second (WebSocket nudge → change
/// feed → cache update → kernel invalidation), including new content of a file the kernel had cached. This mount
/// keeps the default 1 s metadata timeouts and polls every second, so most of these bounds could also be met by
/// expiry; <see cref="PushedRemoteChangeTests"/> and <see cref="PolledRemoteChangeTests"/> time every change kind
/// with 60 s timeouts, where only the feed's explicit invalidation can make a change visible.
/// </summary>
public sealed class RemoteChangeTests(DriveFixture fixture) : IClassFixture<DriveFixture>
{
    private static readonly TimeSpan s_visibleWithin = TimeSpan.FromSeconds(1);

    private string Root => fixture.Root;

    private ScaiDriveClient Api => fixture.Client;

    [Fact]
    public async Task CreatedFileAppearsEvenAfterANegativeLookup()
    {
        string path = Path.Combine(Root, "remote-created.txt");
        Assert.False(File.Exists(path)); // the kernel now holds a negative entry for the name
        await Api.UploadSmallFileAsync(fixture.Share, null, "remote-created.txt", "hi"u8.ToArray());
        await AssertWithinAsync(() => File.Exists(path) && File.ReadAllText(path) == "hi", "created file visible");
    }

    [Fact]
    public async Task NewVersionReplacesCachedContent()
    {
        FileItem file = await Api.UploadSmallFileAsync(fixture.Share, null, "remote-updated.txt", "version one"u8.ToArray());
        string path = Path.Combine(Root, "remote-updated.txt");
        await AssertWithinAsync(() => File.Exists(path), "file visible", TimeSpan.FromSeconds(5));
        Assert.Equal("version one", await ReadThroughProcessAsync(path)); // pages now in the kernel's cache

        byte[] two = Encoding.UTF8.GetBytes("version two, longer");
        await Api.UploadResumableAsync(
            new CreateUploadSessionRequest(fixture.Share, null, file.Name, two.Length) { ReplaceFileId = file.Id, BaseVersionId = file.VersionId },
            new MemoryUploadSource(two));
        await AssertWithinAsync(async () => await ReadThroughProcessAsync(path) == "version two, longer", "new content visible");
    }

    [Fact]
    public async Task RenameMoveAndDeleteAreReflected()
    {
        FolderItem folder = await Api.CreateFolderAsync(fixture.Share, null, "remote-dir");
        FileItem file = await Api.UploadSmallFileAsync(fixture.Share, folder.Id, "a.txt", "a"u8.ToArray());
        await AssertWithinAsync(() => File.Exists(Path.Combine(Root, "remote-dir/a.txt")), "file visible", TimeSpan.FromSeconds(5));

        await Api.RenameFileAsync(file.Id, "b.txt");
        await AssertWithinAsync(() => File.Exists(Path.Combine(Root, "remote-dir/b.txt")) && !File.Exists(Path.Combine(Root, "remote-dir/a.txt")), "rename visible");

        await Api.MoveFileAsync(file.Id, null, fixture.Share);
        await AssertWithinAsync(() => File.Exists(Path.Combine(Root, "b.txt")) && !File.Exists(Path.Combine(Root, "remote-dir/b.txt")), "move visible");

        await Api.RenameFolderAsync(folder.Id, "remote-dir-renamed");
        await AssertWithinAsync(() => Directory.Exists(Path.Combine(Root, "remote-dir-renamed")) && !Directory.Exists(Path.Combine(Root, "remote-dir")), "folder rename visible");

        await Api.DeleteFileAsync(file.Id);
        await AssertWithinAsync(() => !File.Exists(Path.Combine(Root, "b.txt")), "delete visible");
    }

    /// <summary>
    /// The other tests allow a second, which the mount's 1 s attribute timeout could meet without any feed. Here new
    /// versions of a file whose content the kernel holds must show well inside that timeout, round after round.
    /// </summary>
    [Fact]
    public async Task NewVersionsArriveThroughTheFeedNotByCacheExpiry()
    {
        const int Rounds = 8;
        TimeSpan fast = TimeSpan.FromMilliseconds(400);
        FileItem file = await Api.UploadSmallFileAsync(fixture.Share, null, "fast.txt", "round 0"u8.ToArray());
        string path = Path.Combine(Root, "fast.txt");
        await AssertWithinAsync(() => File.Exists(path), "file visible", TimeSpan.FromSeconds(5));
        var elapsed = new List<TimeSpan>();
        for (int round = 1; round <= Rounds; round++)
        {
            Assert.Equal($"round {round - 1}", await ReadThroughProcessAsync(path)); // the kernel holds this content now
            byte[] next = Encoding.UTF8.GetBytes($"round {round}");
            file = await Api.UploadResumableAsync(
                new CreateUploadSessionRequest(fixture.Share, null, file.Name, next.Length) { ReplaceFileId = file.Id, BaseVersionId = file.VersionId },
                new MemoryUploadSource(next));
            var clock = Stopwatch.StartNew();
            await AssertWithinAsync(async () => await ReadThroughProcessAsync(path) == $"round {round}", $"round {round}", TimeSpan.FromSeconds(5));
            elapsed.Add(clock.Elapsed);
        }

        // One slow round is tolerated (a loaded machine); expiry alone would put about 60% of them above 400 ms.
        Assert.True(elapsed.Count(e => e <= fast) >= Rounds - 1, "latencies: " + string.Join(", ", elapsed.Select(e => $"{e.TotalMilliseconds:F0} ms")));
    }

    [Fact]
    public async Task ConflictKeepsBothContents()
    {
        FileItem file = await Api.UploadSmallFileAsync(fixture.Share, null, "conflicted.txt", "base"u8.ToArray());
        string path = Path.Combine(Root, "conflicted.txt");
        await AssertWithinAsync(() => File.Exists(path), "file visible", TimeSpan.FromSeconds(5));

        // A local edit, then (before its upload can run) a new version from elsewhere.
        await using (MountedDrive slow = await MountedDrive.StartAsync(fixture.Server, new MountedDriveOptions { Share = fixture.Server.DefaultShareId, WriteBackDelay = "3s" }))
        {
            string slowPath = Path.Combine(slow.MountPoint, "conflicted.txt");
            (await ProcessRunner.BashAsync($"printf 'local edit' > '{slowPath}'", slow.MountPoint)).EnsureSuccess("local edit");
            byte[] remote = "remote edit"u8.ToArray();
            await Api.UploadResumableAsync(
                new CreateUploadSessionRequest(fixture.Share, null, file.Name, remote.Length) { ReplaceFileId = file.Id, BaseVersionId = file.VersionId },
                new MemoryUploadSource(remote));
            await slow.UnmountAsync(); // waits for the upload, which meets the conflict
        }

        FolderListing listing = await Api.ListChildrenAsync(fixture.Share, null);
        FileItem server = listing.Files.Single(f => f.Name == "conflicted.txt");
        Assert.Equal(ShellToolTests.Sha256Hex("remote edit"u8.ToArray()), server.ChecksumSha256);
        FileItem copy = Assert.Single(listing.Files, f => f.Name.StartsWith("conflicted (conflict ", StringComparison.Ordinal) && f.Name.EndsWith(".txt", StringComparison.Ordinal));
        Assert.Equal(ShellToolTests.Sha256Hex("local edit"u8.ToArray()), copy.ChecksumSha256);

        // The other mount, which had the file cached, shows the server's version and the conflict copy beside it.
        await AssertWithinAsync(async () => await ReadThroughProcessAsync(path) == "remote edit", "server's version in the mount");
        await AssertWithinAsync(() => File.Exists(Path.Combine(Root, copy.Name)), "conflict copy in the mount");
        Assert.Equal("local edit", await ReadThroughProcessAsync(Path.Combine(Root, copy.Name)));
    }

    [Fact]
    public async Task RemountResumesFromTheStoredCursor()
    {
        string cache = Directory.CreateTempSubdirectory("sdfs-cache-").FullName;
        string cursors = Path.Combine(cache, "state", "cursors.json");
        string deviceFile = Path.Combine(cache, "state", "device-id");
        try
        {
            await using (MountedDrive first = await MountedDrive.StartAsync(fixture.Server, new MountedDriveOptions { Share = fixture.Server.DefaultShareId, CacheDirectory = cache }))
            {
                await AssertWithinAsync(() => File.Exists(cursors) && File.Exists(deviceFile), "cursor and device ID stored", TimeSpan.FromSeconds(5));
                await first.UnmountAsync();
            }

            string device = File.ReadAllText(deviceFile).Trim();
            // Creates the device's server-side cursor now, before the change: it advances only when a follower reads
            // the change from the feed and reports it, which a follower starting at the head would never do.
            long serverCursor = long.Parse((await Api.GetSyncStatusAsync(fixture.Share, device)).Cursor.Value, System.Globalization.CultureInfo.InvariantCulture);
            await Api.UploadSmallFileAsync(fixture.Share, null, "while-unmounted.txt", "away"u8.ToArray());

            await using MountedDrive second = await MountedDrive.StartAsync(fixture.Server, new MountedDriveOptions { Share = fixture.Server.DefaultShareId, CacheDirectory = cache });
            await AssertWithinAsync(
                async () => long.Parse((await Api.GetSyncStatusAsync(fixture.Share, device)).Cursor.Value, System.Globalization.CultureInfo.InvariantCulture) > serverCursor,
                "the remounted follower read the change made while unmounted",
                TimeSpan.FromSeconds(5));
            Assert.Equal(device, File.ReadAllText(deviceFile).Trim());
            Assert.Equal("away", File.ReadAllText(Path.Combine(second.MountPoint, "while-unmounted.txt")));
        }
        finally
        {
            Directory.Delete(cache, recursive: true);
        }
    }

    private static async Task<string> ReadThroughProcessAsync(string path) =>
        (await ProcessRunner.RunAsync("cat", [path])).StandardOutput;

    private static Task AssertWithinAsync(Func<bool> condition, string what, TimeSpan? within = null) =>
        AssertWithinAsync(() => Task.FromResult(condition()), what, within);

    private static async Task AssertWithinAsync(Func<Task<bool>> condition, string what, TimeSpan? within = null)
    {
        TimeSpan limit = within ?? s_visibleWithin;
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > limit)
            {
                throw new Xunit.Sdk.XunitException($"{what}: not within {limit.TotalMilliseconds} ms");
            }

            await Task.Delay(20);
        }
    }
}
