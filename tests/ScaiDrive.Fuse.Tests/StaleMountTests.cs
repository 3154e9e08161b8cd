using System.Runtime.InteropServices;
using System.Text;

namespace ScaiDrive.Fuse.Tests;

/// <summary>
/// A daemon killed with SIGKILL leaves its mount behind with the /dev/fuse descriptor closed: every access answers
/// "Transport endpoint is not connected". We make exactly that state in-process: mount(2) a FUSE filesystem on a
/// descriptor we open, then close it without ever answering the kernel.
/// </summary>
public sealed partial class StaleMountTests
{
    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "mount", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Mount(string source, string target, string type, ulong flags, string data);

    private const int ORdWr = 2;
    private const ulong MsNoSuid = 2;
    private const ulong MsNoDev = 4;

    private static void MakeStaleMount(string mountPoint)
    {
        int fd = Open("/dev/fuse", ORdWr);
        Assert.True(fd >= 0, $"open /dev/fuse failed: errno {Marshal.GetLastPInvokeError()}");
        try
        {
            int rc = Mount("sdfs-stale", mountPoint, "fuse.scaidrivefs", MsNoSuid | MsNoDev, $"fd={fd},rootmode=40000,user_id=0,group_id=0");
            Assert.True(rc == 0, $"mount failed: errno {Marshal.GetLastPInvokeError()}");
        }
        finally
        {
            Close(fd);
        }
    }

    [Fact]
    public async Task A_stale_mount_is_detected_cleaned_and_mounted_over()
    {
        if (Environment.UserName != "root" || TestMount.WhyNot() is not null)
        {
            Assert.Skip("making a raw FUSE mount needs root and /dev/fuse");
        }

        string dir = TempDirectory.Create();
        string mountPoint = Path.Combine(dir, "mnt");
        Directory.CreateDirectory(mountPoint);
        try
        {
            MakeStaleMount(mountPoint);
            Assert.True(FuseEnvironment.IsMountPoint(mountPoint));
            Assert.Throws<IOException>(() => Directory.EnumerateFileSystemEntries(mountPoint).ToList());

            Assert.True(FuseEnvironment.TryCleanStaleMount(mountPoint));
            Assert.False(FuseEnvironment.IsMountPoint(mountPoint));

            // And once more, through MountAsync, which cleans on its own.
            MakeStaleMount(mountPoint);
            var fs = new MemoryFileSystem();
            fs.AddFile(MemoryFileSystem.Root, "alive", Encoding.UTF8.GetBytes("yes"));
            FuseMount mount = await FuseMount.MountAsync(fs, new FuseMountOptions { MountPoint = mountPoint, FsName = "sdfs-test" }, null, TestContext.Current.CancellationToken);
            try
            {
                Assert.Equal("yes", File.ReadAllText(Path.Combine(mountPoint, "alive")));
            }
            finally
            {
                await mount.UnmountAsync();
            }
        }
        finally
        {
            for (int i = 0; i < 5 && FuseEnvironment.IsMountPoint(mountPoint); i++)
            {
                MountTable.UnmountLazy(mountPoint);
            }

            TempDirectory.Delete(dir);
        }
    }

    [Fact]
    public async Task A_live_mount_is_never_cleaned_and_never_mounted_over()
    {
        var fs = new MemoryFileSystem();
        await using TestMount m = await TestMount.StartAsync(fs);
        Assert.False(FuseEnvironment.TryCleanStaleMount(m.MountPoint));
        Assert.True(FuseEnvironment.IsMountPoint(m.MountPoint));
        await Assert.ThrowsAsync<FuseMountException>(() =>
            FuseMount.MountAsync(new MemoryFileSystem(), new FuseMountOptions { MountPoint = m.MountPoint }, null, TestContext.Current.CancellationToken));
    }

    [Fact]
    public void Nothing_mounted_is_nothing_to_clean()
    {
        string dir = TempDirectory.Create();
        try
        {
            Assert.False(FuseEnvironment.IsMountPoint(dir));
            Assert.False(FuseEnvironment.TryCleanStaleMount(dir));
        }
        finally
        {
            TempDirectory.Delete(dir);
        }
    }

    [Fact]
    public void Mountinfo_lines_parse_with_escapes()
    {
        MountEntry? e = MountTable.Parse(@"36 35 0:45 / /tmp/a\040b rw,nosuid shared:1 - fuse.scaidrivefs scaidrivefs rw,user_id=0");
        Assert.NotNull(e);
        Assert.Equal("/tmp/a b", e.MountPoint);
        Assert.Equal("0:45", e.Device);
        Assert.Equal("45", e.DeviceMinor);
        Assert.Equal("fuse.scaidrivefs", e.FileSystemType);
        Assert.True(MountTable.IsFuse(e));
        Assert.Null(MountTable.Parse("garbage"));
    }
}
