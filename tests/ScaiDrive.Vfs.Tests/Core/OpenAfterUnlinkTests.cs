using System.Text;
using Xunit;

namespace ScaiDrive.Vfs.Tests.Core;

/// <summary>
/// A file that loses its name while it is open (unlink, or rename of another file over it) lives on for its handles,
/// as on a local disk: found by the model-based mount test (seed 312: open, unlink, pwrite answered ENOENT, because the
/// clean file was only staged at the first write, from a server copy already in the trash).
/// </summary>
public sealed class OpenAfterUnlinkTests
{
    private static readonly byte[] s_original = Encoding.UTF8.GetBytes("original content, uploaded and clean");

    [Fact]
    public async Task AnOpenFileStaysWritableAndReadableAfterUnlink()
    {
        await using VfsHarness h = await VfsHarness.StartAsync(o => o with { WriteBackDelay = TimeSpan.Zero });
        ulong dir = await h.Fs.MkdirAsync("u");
        await h.Fs.WriteFileAsync("u/f", s_original, fsync: true);
        VfsEntry entry = await h.Fs.LookupAsync(dir, "f");
        ulong handle = await h.Fs.OpenAsync(entry.Inode, VfsOpenFlags.ReadWrite);
        try
        {
            await h.Fs.UnlinkAsync(dir, "f");
            await FsPaths.WriteAllAsync(h.Fs, handle, 0, "NEW"u8.ToArray());
            byte[] expected = [.. "NEW"u8, .. s_original.AsSpan(3)];
            Assert.Equal(expected, await h.Fs.ReadAllAsync(handle));
            await h.Fs.FsyncAsync(handle);
            await h.Fs.FlushAsync(handle);
        }
        finally
        {
            await h.Fs.ReleaseAsync(handle);
            h.Fs.Forget(entry.Inode, 1);
        }

        await h.Fs.DrainAsync();
        Assert.Empty(await h.Fs.ReadDirectoryAsync(dir));
        Assert.Empty(await FsPaths.ServerTreeAsync(h.Client, h.ShareId, "u"));
    }

    [Fact]
    public async Task AnOpenFileStaysWritableAndReadableAfterARenameOverIt()
    {
        await using VfsHarness h = await VfsHarness.StartAsync(o => o with { WriteBackDelay = TimeSpan.Zero });
        ulong dir = await h.Fs.MkdirAsync("r");
        await h.Fs.WriteFileAsync("r/target", s_original, fsync: true);
        await h.Fs.WriteFileAsync("r/source", "replacement"u8.ToArray(), fsync: true);
        VfsEntry entry = await h.Fs.LookupAsync(dir, "target");
        ulong handle = await h.Fs.OpenAsync(entry.Inode, VfsOpenFlags.ReadWrite);
        try
        {
            await h.Fs.RenameAsync(dir, "source", dir, "target");
            Assert.Equal(s_original, await h.Fs.ReadAllAsync(handle));
            await FsPaths.WriteAllAsync(h.Fs, handle, 0, "OLD"u8.ToArray());
            await h.Fs.FlushAsync(handle);
        }
        finally
        {
            await h.Fs.ReleaseAsync(handle);
            h.Fs.Forget(entry.Inode, 1);
        }

        await h.Fs.DrainAsync();

        // The name holds the replacement; what was written through the old file's handle went nowhere.
        Assert.Equal("replacement"u8.ToArray(), await h.Fs.ReadFileAsync("r/target"));
        Dictionary<string, byte[]?> tree = await FsPaths.ServerTreeAsync(h.Client, h.ShareId, "r");
        Assert.Equal(["target"], tree.Keys);
        Assert.Equal("replacement"u8.ToArray(), tree["target"]);
    }
}
