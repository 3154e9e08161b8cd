using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using ScaiDrive.Vfs;
using ScaiDrive.WinFsp.Interop;
using Xunit;

namespace ScaiDrive.WinFsp.Tests;

public sealed class KernelNotifierTests
{
    [Fact]
    public async Task InvalidateEntry_BecomesAddedModifiedOrRemovedByName()
    {
        await using WinFspHarness h = await WinFspHarness.StartAsync();
        await h.WriteWholeFileAsync(@"\seen.txt", Encoding.UTF8.GetBytes("s"));
        await using WinFspKernelNotifier notifier = new(h.Fs, h.Driver, NullLogger.Instance);

        notifier.InvalidateEntry(VfsFileSystem.RootInode, "seen.txt");
        notifier.InvalidateEntry(VfsFileSystem.RootInode, "never-there.txt");
        await notifier.WaitIdleAsync(TestContext.Current.CancellationToken);

        (uint Filter, uint Action, string Path)[] sent = [.. h.Driver.Notifications];
        Assert.Contains(sent, n => n.Path == @"\seen.txt" && n.Action == Win32.FileActionModified);
        Assert.Contains(sent, n => n.Path == @"\never-there.txt" && n.Action == Win32.FileActionRemoved);
        Assert.True(h.Driver.BeginCalls >= 1);
    }

    [Fact]
    public async Task InvalidateInode_UsesTheKnownPathAndSkipsUnknownInodes()
    {
        await using WinFspHarness h = await WinFspHarness.StartAsync();
        await h.WriteWholeFileAsync(@"\known.txt", Encoding.UTF8.GetBytes("k"));
        ulong context = h.OpenOk(@"\known.txt", Win32.FileGenericRead);
        Assert.True(h.Fs.TryGetOpenFile(context, out OpenFile file));
        await using WinFspKernelNotifier notifier = new(h.Fs, h.Driver, NullLogger.Instance);

        notifier.InvalidateInode(file.Inode, content: true);
        notifier.InvalidateInode(999_999_999, content: false);
        await notifier.WaitIdleAsync(TestContext.Current.CancellationToken);
        h.CloseHandle(context);

        (uint Filter, uint Action, string Path) only = Assert.Single(h.Driver.Notifications);
        Assert.Equal(@"\known.txt", only.Path);
        Assert.Equal(Win32.FileActionModified, only.Action);
        Assert.NotEqual(0u, only.Filter & Win32.FileNotifyChangeSize);
    }
}
