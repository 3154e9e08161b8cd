using System.Diagnostics;
using System.Text;

namespace ScaiDrive.Fuse.Tests;

/// <summary>Real kernel mounts of <see cref="MemoryFileSystem"/>; I/O from the test thread or child processes only.</summary>
public sealed class MountTests
{
    private static byte[] Bytes(string s) => Encoding.UTF8.GetBytes(s);

    [Fact]
    public async Task Readdir_and_stat_show_the_tree()
    {
        var fs = new MemoryFileSystem();
        ulong docs = fs.AddDirectory(MemoryFileSystem.Root, "docs");
        fs.AddFile(MemoryFileSystem.Root, "a.txt", Bytes("hello"));
        fs.AddFile(docs, "b.bin", new byte[10_000]);
        await using TestMount m = await TestMount.StartAsync(fs);

        Assert.Equal(["a.txt", "docs"], Directory.EnumerateFileSystemEntries(m.MountPoint).Select(Path.GetFileName).Order());
        var info = new FileInfo(m.PathOf("docs/b.bin"));
        Assert.Equal(10_000, info.Length);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead, info.UnixFileMode);

        ProcessResult ls = await Run.ProgramAsync("ls", "-la", m.MountPoint);
        Assert.Equal(0, ls.ExitCode);
        Assert.Contains("a.txt", ls.Stdout);
        Assert.Contains(" .\n", ls.Stdout);
        Assert.Contains(" ..\n", ls.Stdout);

        ProcessResult stat = await Run.ProgramAsync("stat", "-c", "%s %F %u", m.PathOf("a.txt"));
        Assert.Equal($"5 regular file {Environment.GetEnvironmentVariable("SUDO_UID") ?? GetUid()}", stat.Stdout.Trim());
    }

    private static string GetUid() => Run.ProgramAsync("id", "-u").GetAwaiter().GetResult().Stdout.Trim();

    [Fact]
    public async Task Write_then_read_back_through_the_kernel()
    {
        var fs = new MemoryFileSystem();
        await using TestMount m = await TestMount.StartAsync(fs);

        byte[] data = new byte[3 * 1024 * 1024 + 17];
        new Random(42).NextBytes(data);
        await File.WriteAllBytesAsync(m.PathOf("big.bin"), data, TestContext.Current.CancellationToken);
        ulong inode = fs.Find(MemoryFileSystem.Root, "big.bin") ?? throw new InvalidOperationException("not created");
        Assert.Equal(data, fs.GetData(inode));

        ProcessResult sum = await Run.ProgramAsync("sha256sum", m.PathOf("big.bin"));
        Assert.StartsWith(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(data)), sum.Stdout);

        // Truncate and append through the kernel.
        await File.WriteAllTextAsync(m.PathOf("big.bin"), "short", TestContext.Current.CancellationToken);
        await File.AppendAllTextAsync(m.PathOf("big.bin"), "+more", TestContext.Current.CancellationToken);
        Assert.Equal("short+more", await File.ReadAllTextAsync(m.PathOf("big.bin"), TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Mkdir_rename_unlink_rmdir()
    {
        var fs = new MemoryFileSystem();
        fs.AddFile(MemoryFileSystem.Root, "x", Bytes("x"));
        fs.AddFile(MemoryFileSystem.Root, "y", Bytes("y"));
        await using TestMount m = await TestMount.StartAsync(fs);

        Directory.CreateDirectory(m.PathOf("d"));
        File.Move(m.PathOf("x"), m.PathOf("d/x2"));
        Assert.False(File.Exists(m.PathOf("x")));
        Assert.Equal("x", File.ReadAllText(m.PathOf("d/x2")));

        // mv -n never replaces; -T treats the target as a file.
        ProcessResult noClobber = await Run.ProgramAsync("mv", "-n", m.PathOf("y"), m.PathOf("d/x2"));
        Assert.Equal("x", File.ReadAllText(m.PathOf("d/x2")));
        Assert.True(File.Exists(m.PathOf("y")), noClobber.Stderr);

        Assert.Throws<IOException>(() => Directory.Delete(m.PathOf("d")));
        File.Delete(m.PathOf("d/x2"));
        Directory.Delete(m.PathOf("d"));
        Assert.False(Directory.Exists(m.PathOf("d")));
        Assert.Null(fs.Find(MemoryFileSystem.Root, "d"));
    }

    [Fact]
    public async Task Extended_attributes_are_listed_and_read_but_not_set()
    {
        var fs = new MemoryFileSystem();
        ulong inode = fs.AddFile(MemoryFileSystem.Root, "f", Bytes("f"));
        fs.SetXattr(inode, "user.scaidrive.id", Bytes("file-123"));
        fs.SetXattr(inode, "user.scaidrive.version", Bytes("7"));
        await using TestMount m = await TestMount.StartAsync(fs);

        ProcessResult get = await Run.ProgramAsync("getfattr", "--only-values", "-n", "user.scaidrive.id", m.PathOf("f"));
        Assert.Equal(0, get.ExitCode);
        Assert.Equal("file-123", get.Stdout);

        ProcessResult dump = await Run.ProgramAsync("getfattr", "-d", m.PathOf("f"));
        Assert.Contains("user.scaidrive.id=\"file-123\"", dump.Stdout);
        Assert.Contains("user.scaidrive.version=\"7\"", dump.Stdout);

        ProcessResult missing = await Run.ProgramAsync("getfattr", "-n", "user.nothing", m.PathOf("f"));
        Assert.NotEqual(0, missing.ExitCode);
        Assert.Contains("No such attribute", missing.Stderr);

        ProcessResult set = await Run.ProgramAsync("setfattr", "-n", "user.x", "-v", "1", m.PathOf("f"));
        Assert.NotEqual(0, set.ExitCode);
        Assert.Contains("Operation not supported", set.Stderr);
    }

    [Fact]
    public async Task Concurrent_reads_run_in_parallel_and_return_the_right_data()
    {
        var fs = new MemoryFileSystem { BeforeRead = _ => Task.Delay(100) };
        const int files = 6;
        for (int i = 0; i < files; i++)
        {
            fs.AddFile(MemoryFileSystem.Root, $"f{i}", Bytes(new string((char)('a' + i), 50_000)));
        }

        await using TestMount m = await TestMount.StartAsync(fs);
        Process[] readers = Enumerable.Range(0, files).Select(i => Run.Start("cat", m.PathOf($"f{i}"))).ToArray();
        try
        {
            for (int i = 0; i < files; i++)
            {
                string text = await readers[i].StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
                await readers[i].WaitForExitAsync(TestContext.Current.CancellationToken);
                Assert.Equal(0, readers[i].ExitCode);
                Assert.Equal(new string((char)('a' + i), 50_000), text);
            }
        }
        finally
        {
            foreach (Process p in readers)
            {
                p.Dispose();
            }
        }

        Assert.True(fs.MaxConcurrentReads >= 2, $"reads never overlapped (max {fs.MaxConcurrentReads})");
    }

    [Fact]
    public async Task A_throwing_handler_becomes_EIO_and_the_mount_lives_on()
    {
        var fs = new MemoryFileSystem { ThrowOnReadOf = "boom" };
        fs.AddFile(MemoryFileSystem.Root, "boom", Bytes("never"));
        fs.AddFile(MemoryFileSystem.Root, "fine", Bytes("ok"));
        await using TestMount m = await TestMount.StartAsync(fs);

        ProcessResult cat = await Run.ProgramAsync("cat", m.PathOf("boom"));
        Assert.NotEqual(0, cat.ExitCode);
        Assert.Contains("Input/output error", cat.Stderr);
        Assert.Equal("ok", File.ReadAllText(m.PathOf("fine")));

        // Every request got its one answer (release of the last file may still be on its way).
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (m.Mount.Session.RequestsInFlight > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }

        Assert.Equal(0, m.Mount.Session.RequestsInFlight);
    }

    [Fact]
    public async Task Invalidating_an_inode_shows_changed_content_despite_keep_cache()
    {
        var fs = new MemoryFileSystem
        {
            KeepCache = true,
            Timeouts = new(TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(5), TimeSpan.Zero),
        };
        ulong inode = fs.AddFile(MemoryFileSystem.Root, "f", Bytes("version-1"));
        await using TestMount m = await TestMount.StartAsync(fs);

        Assert.Equal("version-1", (await Run.ProgramAsync("cat", m.PathOf("f"))).Stdout);

        // Same size, attributes cached for minutes, kept page cache: the kernel serves the old bytes.
        fs.SetData(inode, Bytes("version-2"), touch: false);
        Assert.Equal("version-1", (await Run.ProgramAsync("cat", m.PathOf("f"))).Stdout);

        m.Mount.InvalidateInode(inode, content: true);
        Assert.Equal("version-2", (await Run.ProgramAsync("cat", m.PathOf("f"))).Stdout);
    }

    [Fact]
    public async Task Invalidating_an_entry_drops_a_cached_negative_lookup()
    {
        var fs = new MemoryFileSystem { Timeouts = new(TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(5)) };
        await using TestMount m = await TestMount.StartAsync(fs);

        Assert.False(File.Exists(m.PathOf("late")));
        fs.AddFile(MemoryFileSystem.Root, "late", Bytes("here"));
        Assert.False(File.Exists(m.PathOf("late")));

        m.Mount.InvalidateEntry(MemoryFileSystem.Root, "late");
        Assert.True(File.Exists(m.PathOf("late")));
    }

    [Fact]
    public async Task Read_only_mount_refuses_changes()
    {
        var fs = new MemoryFileSystem();
        fs.AddFile(MemoryFileSystem.Root, "f", Bytes("f"));
        await using TestMount m = await TestMount.StartAsync(fs, o => o with { ReadOnly = true });

        ProcessResult touch = await Run.ProgramAsync("touch", m.PathOf("new"));
        Assert.Contains("Read-only file system", touch.Stderr);
        Assert.Equal("f", File.ReadAllText(m.PathOf("f")));
    }

    [Fact]
    public async Task Statfs_reports_the_filesystem_numbers()
    {
        var fs = new MemoryFileSystem();
        await using TestMount m = await TestMount.StartAsync(fs);
        ProcessResult df = await Run.ProgramAsync("stat", "-f", "-c", "%S %b %f %a %c %d %l", m.MountPoint);
        Assert.Equal("4096 1000 600 500 100 50 255", df.Stdout.Trim());
    }

    [Fact]
    public async Task Unmount_waits_for_a_request_in_flight_then_completes()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var fs = new MemoryFileSystem();
        fs.AddFile(MemoryFileSystem.Root, "slow", Bytes("slow data"));
        fs.BeforeRead = async _ =>
        {
            entered.TrySetResult();
            await release.Task;
        };
        TestMount m = await TestMount.StartAsync(fs);
        try
        {
            using Process cat = Run.Start("cat", m.PathOf("slow"));
            await entered.Task.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);

            Task unmount = m.Mount.UnmountAsync();
            await Task.Delay(300, TestContext.Current.CancellationToken);
            Assert.False(m.Mount.Completion.IsCompleted, "the session ended while a reader still had the file open");
            Assert.False(FuseEnvironment.IsMountPoint(m.MountPoint), "the lazy unmount should free the mount point at once");

            release.SetResult();
            string text = await cat.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
            await cat.WaitForExitAsync(TestContext.Current.CancellationToken);
            Assert.Equal("slow data", text);
            await unmount.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
            Assert.True(m.Mount.Completion.IsCompletedSuccessfully);
        }
        finally
        {
            release.TrySetResult();
            await m.DisposeAsync();
        }
    }

    [Fact]
    public async Task Unmount_aborts_a_handler_that_never_finishes()
    {
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var fs = new MemoryFileSystem();
        fs.AddFile(MemoryFileSystem.Root, "stuck", Bytes("x"));
        fs.BeforeRead = _ =>
        {
            entered.TrySetResult();
            return Task.Delay(Timeout.Infinite);
        };
        TestMount m = await TestMount.StartAsync(fs, o => o with { UnmountTimeout = TimeSpan.FromSeconds(1), DrainTimeout = TimeSpan.FromMilliseconds(500) });
        using Process cat = Run.Start("cat", m.PathOf("stuck"));
        try
        {
            await entered.Task.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
            var watch = Stopwatch.StartNew();
            await m.Mount.UnmountAsync().WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(15));
            await cat.WaitForExitAsync(TestContext.Current.CancellationToken);
            Assert.NotEqual(0, cat.ExitCode);
        }
        finally
        {
            await m.DisposeAsync();
        }
    }

    [Fact]
    public async Task An_external_umount_completes_the_mount()
    {
        var fs = new MemoryFileSystem();
        TestMount m = await TestMount.StartAsync(fs);
        try
        {
            ProcessResult umount = await Run.ProgramAsync("umount", m.MountPoint);
            Assert.Equal(0, umount.ExitCode);
            await m.Mount.Completion.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        }
        finally
        {
            await m.DisposeAsync();
        }
    }

    [Fact]
    public async Task Readdirplus_references_are_all_returned_by_forgets()
    {
        if (Environment.UserName != "root")
        {
            Assert.Skip("dropping the kernel's dentries needs root");
        }

        var fs = new MemoryFileSystem();
        ulong dir = fs.AddDirectory(MemoryFileSystem.Root, "many");
        for (int i = 0; i < 300; i++)
        {
            fs.AddFile(dir, $"file-{i:D4}-{new string('n', 60)}", Bytes("x"));
        }

        await using TestMount m = await TestMount.StartAsync(fs);
        ProcessResult ls = await Run.ProgramAsync("ls", "-l", m.PathOf("many"));
        Assert.Equal(0, ls.ExitCode);
        Assert.True(fs.OutstandingReferences >= 300, $"only {fs.OutstandingReferences} references after ls -l");

        // Evicting dentries and inodes makes the kernel forget every one of them.
        await File.WriteAllTextAsync("/proc/sys/vm/drop_caches", "2", TestContext.Current.CancellationToken);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (fs.OutstandingReferences > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }

        Assert.Equal(0, fs.ForgetViolations);
        Assert.Equal(0, fs.OutstandingReferences);
    }
}
