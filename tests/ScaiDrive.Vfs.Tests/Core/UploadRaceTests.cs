using System.Text;
using ScaiDrive.Client;
using Xunit;

namespace ScaiDrive.Vfs.Tests.Core;

/// <summary>
/// Namespace operations racing the upload of the same file: rsync's temp-file-then-rename, an unlink right after a
/// rewrite. Each case repeats with staggered delays so that some iterations land in the window between the queue
/// committing an upload and the core binding its result.
/// </summary>
public sealed class UploadRaceTests
{
    private const int Iterations = 40;

    private static byte[] Content(int i) => Encoding.UTF8.GetBytes($"content of file {i} " + new string('x', i));

    [Fact]
    public async Task RenameOfAJustCreatedFileReachesTheServerWhateverTheUploadIsDoing()
    {
        await using VfsHarness h = await VfsHarness.StartAsync(o => o with { WriteBackDelay = TimeSpan.Zero });
        ulong dir = await h.Fs.MkdirAsync("rsync");
        for (int i = 0; i < Iterations; i++)
        {
            await h.Fs.WriteFileAsync($"rsync/.f{i}.tmp", Content(i));
            await Task.Delay(i % 8);
            await h.Fs.RenameAsync(dir, $".f{i}.tmp", dir, $"f{i}");
        }

        await h.Fs.DrainAsync();
        await WaitForBackgroundAsync(h, async () => (await FsPaths.ServerTreeAsync(h.Client, h.ShareId, "rsync")).Keys.All(k => !k.StartsWith('.')));

        Dictionary<string, byte[]?> tree = await FsPaths.ServerTreeAsync(h.Client, h.ShareId, "rsync");
        Assert.True(tree.Count == Iterations, string.Join(",", tree.Keys.Order(StringComparer.Ordinal)));
        Assert.Equal(Enumerable.Range(0, Iterations).Select(i => $"f{i}").Order(StringComparer.Ordinal), tree.Keys.Order(StringComparer.Ordinal));
        for (int i = 0; i < Iterations; i++)
        {
            Assert.Equal(Content(i), tree[$"f{i}"]);
        }
    }

    [Fact]
    public async Task UnlinkRightAfterARewriteLeavesNoConflictCopy()
    {
        await using VfsHarness h = await VfsHarness.StartAsync(o => o with { WriteBackDelay = TimeSpan.Zero });
        ulong dir = await h.Fs.MkdirAsync("gone");
        for (int i = 0; i < Iterations / 2; i++)
        {
            await h.Fs.WriteFileAsync($"gone/d{i}.bin", Content(i), fsync: true);
            await h.Fs.WriteFileAsync($"gone/d{i}.bin", Content(i + 100));
            await Task.Delay(i % 8);
            await h.Fs.UnlinkAsync(dir, $"d{i}.bin");
        }

        await h.Fs.DrainAsync();
        await WaitForBackgroundAsync(h, async () => (await FsPaths.ServerTreeAsync(h.Client, h.ShareId, "gone")).Count == 0);
        Assert.Empty(await FsPaths.ServerTreeAsync(h.Client, h.ShareId, "gone"));
        Assert.Empty(await h.Fs.ReadDirectoryAsync(dir));
    }

    [Fact]
    public async Task RenameOverAJustCreatedFileReplacesIt()
    {
        await using VfsHarness h = await VfsHarness.StartAsync(o => o with { WriteBackDelay = TimeSpan.Zero });
        ulong dir = await h.Fs.MkdirAsync("over");
        for (int i = 0; i < Iterations / 2; i++)
        {
            await h.Fs.WriteFileAsync($"over/t{i}", Content(i));
            await h.Fs.WriteFileAsync($"over/s{i}", Content(i + 100));
            await Task.Delay(i % 8);
            await h.Fs.RenameAsync(dir, $"s{i}", dir, $"t{i}");
        }

        await h.Fs.DrainAsync();
        await WaitForBackgroundAsync(h, async () => (await FsPaths.ServerTreeAsync(h.Client, h.ShareId, "over")).Count == Iterations / 2);

        Dictionary<string, byte[]?> tree = await FsPaths.ServerTreeAsync(h.Client, h.ShareId, "over");
        Assert.Equal(Enumerable.Range(0, Iterations / 2).Select(i => $"t{i}").Order(StringComparer.Ordinal), tree.Keys.Order(StringComparer.Ordinal));
        for (int i = 0; i < Iterations / 2; i++)
        {
            Assert.Equal(Content(i + 100), tree[$"t{i}"]);
        }
    }

    // The core finishes a landed upload (binding, moving what landed to its current name, trashing strays) in the
    // background right after the queue reports it; give that a moment rather than asserting a snapshot mid-flight.
    private static async Task WaitForBackgroundAsync(VfsHarness h, Func<Task<bool>> settled)
    {
        for (int i = 0; i < 50 && !await settled(); i++)
        {
            await Task.Delay(20);
            await h.Fs.DrainAsync();
        }
    }
}
