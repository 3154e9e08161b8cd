using System.Text;
using Xunit;

namespace ScaiDrive.TestSupport.Conformance;

/// <summary>
/// One POSIX-ish conformance suite, run on the VFS core and on real mounts (rclone's vfstest and go-fuse's posixtest
/// idea). A test class in a test project derives from this and supplies <see cref="Target"/>; each test works in its
/// own fresh directory, checks results through the target, and ends by checking the server through the API.
/// </summary>
public abstract class ConformanceTests
{
    protected abstract IConformanceTarget Target { get; }

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    private static byte[] Pattern(int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    private async Task<string> ScratchAsync()
    {
        string dir = "conf-" + Guid.NewGuid().ToString("N")[..12];
        await Target.MkdirAsync(dir);
        return dir;
    }

    private static async Task<ConformanceError> ErrorOf(Func<Task> action)
    {
        try
        {
            await action();
        }
        catch (ConformanceException ex)
        {
            return ex.Error;
        }

        throw new Xunit.Sdk.XunitException("expected the operation to fail");
    }

    [Fact]
    public async Task CreateThenReadBack()
    {
        string d = await ScratchAsync();
        byte[] content = Bytes("hello, conformance\n");
        await Target.CreateFileAsync($"{d}/a.txt", content);

        Assert.Equal(content, await Target.ReadAllAsync($"{d}/a.txt"));
        ConformanceStat? stat = await Target.StatAsync($"{d}/a.txt");
        Assert.NotNull(stat);
        Assert.False(stat.IsDirectory);
        Assert.Equal(content.Length, stat.Size);
        await Target.VerifyOnServerAsync(d, new Dictionary<string, byte[]?> { ["a.txt"] = content });
    }

    [Fact]
    public async Task EmptyFileExists()
    {
        string d = await ScratchAsync();
        await Target.CreateFileAsync($"{d}/empty", ReadOnlyMemory<byte>.Empty);

        Assert.Equal(0, (await Target.StatAsync($"{d}/empty"))!.Size);
        Assert.Empty(await Target.ReadAllAsync($"{d}/empty"));
        await Target.VerifyOnServerAsync(d, new Dictionary<string, byte[]?> { ["empty"] = [] });
    }

    [Fact]
    public async Task OverwriteWithTruncateReplacesContent()
    {
        string d = await ScratchAsync();
        await Target.CreateFileAsync($"{d}/f", Bytes("a long first content"));
        await Target.CreateFileAsync($"{d}/f", Bytes("short"));

        Assert.Equal(Bytes("short"), await Target.ReadAllAsync($"{d}/f"));
        await Target.VerifyOnServerAsync(d, new Dictionary<string, byte[]?> { ["f"] = Bytes("short") });
    }

    [Fact]
    public async Task WriteInTheMiddleKeepsTheRest()
    {
        string d = await ScratchAsync();
        byte[] original = Pattern(300_000, 1);
        await Target.CreateFileAsync($"{d}/f", original);
        byte[] patch = Pattern(1000, 2);
        await Target.WriteAtAsync($"{d}/f", 150_000, patch);

        byte[] expected = (byte[])original.Clone();
        patch.CopyTo(expected, 150_000);
        Assert.Equal(expected, await Target.ReadAllAsync($"{d}/f"));
        Assert.Equal(patch, await Target.ReadAtAsync($"{d}/f", 150_000, 1000));
        await Target.VerifyOnServerAsync(d, new Dictionary<string, byte[]?> { ["f"] = expected });
    }

    [Fact]
    public async Task WritePastTheEndLeavesZeros()
    {
        string d = await ScratchAsync();
        await Target.CreateFileAsync($"{d}/sparse", Bytes("abc"));
        await Target.WriteAtAsync($"{d}/sparse", 10, Bytes("xyz"));

        byte[] expected = [(byte)'a', (byte)'b', (byte)'c', 0, 0, 0, 0, 0, 0, 0, (byte)'x', (byte)'y', (byte)'z'];
        Assert.Equal(expected, await Target.ReadAllAsync($"{d}/sparse"));
        Assert.Equal(13, (await Target.StatAsync($"{d}/sparse"))!.Size);
        await Target.VerifyOnServerAsync(d, new Dictionary<string, byte[]?> { ["sparse"] = expected });
    }

    [Fact]
    public async Task AppendAddsAtTheEnd()
    {
        string d = await ScratchAsync();
        await Target.CreateFileAsync($"{d}/log", Bytes("one\n"));
        await Target.AppendAsync($"{d}/log", Bytes("two\n"));
        await Target.AppendAsync($"{d}/log", Bytes("three\n"));

        Assert.Equal(Bytes("one\ntwo\nthree\n"), await Target.ReadAllAsync($"{d}/log"));
        await Target.VerifyOnServerAsync(d, new Dictionary<string, byte[]?> { ["log"] = Bytes("one\ntwo\nthree\n") });
    }

    [Fact]
    public async Task TruncateDownAndUp()
    {
        string d = await ScratchAsync();
        await Target.CreateFileAsync($"{d}/t", Bytes("0123456789"));
        await Target.TruncateAsync($"{d}/t", 4);
        Assert.Equal(Bytes("0123"), await Target.ReadAllAsync($"{d}/t"));

        await Target.TruncateAsync($"{d}/t", 6);
        byte[] expected = [(byte)'0', (byte)'1', (byte)'2', (byte)'3', 0, 0];
        Assert.Equal(expected, await Target.ReadAllAsync($"{d}/t"));
        Assert.Equal(6, (await Target.StatAsync($"{d}/t"))!.Size);
        await Target.VerifyOnServerAsync(d, new Dictionary<string, byte[]?> { ["t"] = expected });
    }

    [Fact]
    public async Task DirectoriesNestAndListSorted()
    {
        string d = await ScratchAsync();
        await Target.MkdirAsync($"{d}/sub");
        await Target.MkdirAsync($"{d}/sub/deeper");
        await Target.CreateFileAsync($"{d}/sub/b", Bytes("b"));
        await Target.CreateFileAsync($"{d}/sub/a", Bytes("a"));

        Assert.Equal(["a", "b", "deeper"], await Target.ListAsync($"{d}/sub"));
        Assert.True((await Target.StatAsync($"{d}/sub/deeper"))!.IsDirectory);
        Assert.Empty(await Target.ListAsync($"{d}/sub/deeper"));
        await Target.VerifyOnServerAsync(d, new Dictionary<string, byte[]?>
        {
            ["sub"] = null,
            ["sub/deeper"] = null,
            ["sub/a"] = Bytes("a"),
            ["sub/b"] = Bytes("b"),
        });
    }

    [Fact]
    public async Task MkdirOverExistingFails()
    {
        string d = await ScratchAsync();
        await Target.MkdirAsync($"{d}/x");
        await Target.CreateFileAsync($"{d}/f", Bytes("f"));

        Assert.Equal(ConformanceError.AlreadyExists, await ErrorOf(() => Target.MkdirAsync($"{d}/x")));
        Assert.Equal(ConformanceError.AlreadyExists, await ErrorOf(() => Target.MkdirAsync($"{d}/f")));
        await Target.VerifyOnServerAsync(d, new Dictionary<string, byte[]?> { ["x"] = null, ["f"] = Bytes("f") });
    }

    [Fact]
    public async Task RmdirRemovesOnlyEmptyDirectories()
    {
        string d = await ScratchAsync();
        await Target.MkdirAsync($"{d}/full");
        await Target.CreateFileAsync($"{d}/full/f", Bytes("keep me"));
        await Target.MkdirAsync($"{d}/empty");

        Assert.Equal(ConformanceError.NotEmpty, await ErrorOf(() => Target.RmdirAsync($"{d}/full")));
        Assert.Equal(ConformanceError.NotADirectory, await ErrorOf(() => Target.RmdirAsync($"{d}/full/f")));
        await Target.RmdirAsync($"{d}/empty");

        Assert.Null(await Target.StatAsync($"{d}/empty"));
        Assert.Equal(Bytes("keep me"), await Target.ReadAllAsync($"{d}/full/f"));
        await Target.VerifyOnServerAsync(d, new Dictionary<string, byte[]?> { ["full"] = null, ["full/f"] = Bytes("keep me") });
    }

    [Fact]
    public async Task UnlinkRemovesFiles()
    {
        string d = await ScratchAsync();
        await Target.CreateFileAsync($"{d}/gone", Bytes("bye"));
        await Target.CreateFileAsync($"{d}/stays", Bytes("hi"));
        await Target.MkdirAsync($"{d}/dir");
        await Target.UnlinkAsync($"{d}/gone");

        Assert.Null(await Target.StatAsync($"{d}/gone"));
        Assert.Equal(ConformanceError.NotFound, await ErrorOf(() => Target.ReadAllAsync($"{d}/gone")));
        Assert.Equal(ConformanceError.NotFound, await ErrorOf(() => Target.UnlinkAsync($"{d}/gone")));
        Assert.Equal(ConformanceError.IsADirectory, await ErrorOf(() => Target.UnlinkAsync($"{d}/dir")));
        Assert.Equal(["dir", "stays"], await Target.ListAsync(d));
        await Target.VerifyOnServerAsync(d, new Dictionary<string, byte[]?> { ["stays"] = Bytes("hi"), ["dir"] = null });
    }

    [Fact]
    public async Task RenameWithinAndAcrossDirectories()
    {
        string d = await ScratchAsync();
        await Target.MkdirAsync($"{d}/a");
        await Target.MkdirAsync($"{d}/b");
        await Target.CreateFileAsync($"{d}/a/one", Bytes("1"));
        await Target.CreateFileAsync($"{d}/a/two", Bytes("2"));
        ulong inode = (await Target.StatAsync($"{d}/a/one"))!.Inode;

        await Target.RenameAsync($"{d}/a/one", $"{d}/a/uno");
        await Target.RenameAsync($"{d}/a/two", $"{d}/b/dos");

        Assert.Null(await Target.StatAsync($"{d}/a/one"));
        Assert.Equal(inode, (await Target.StatAsync($"{d}/a/uno"))!.Inode);
        Assert.Equal(Bytes("2"), await Target.ReadAllAsync($"{d}/b/dos"));
        Assert.Equal(["uno"], await Target.ListAsync($"{d}/a"));
        await Target.VerifyOnServerAsync(d, new Dictionary<string, byte[]?>
        {
            ["a"] = null,
            ["b"] = null,
            ["a/uno"] = Bytes("1"),
            ["b/dos"] = Bytes("2"),
        });
    }

    [Fact]
    public async Task RenameDirectoryMovesItsSubtree()
    {
        string d = await ScratchAsync();
        await Target.MkdirAsync($"{d}/src");
        await Target.MkdirAsync($"{d}/src/inner");
        await Target.CreateFileAsync($"{d}/src/inner/f", Bytes("deep"));
        await Target.MkdirAsync($"{d}/dest");

        await Target.RenameAsync($"{d}/src", $"{d}/dest/moved");

        Assert.Null(await Target.StatAsync($"{d}/src"));
        Assert.Equal(Bytes("deep"), await Target.ReadAllAsync($"{d}/dest/moved/inner/f"));
        await Target.VerifyOnServerAsync(d, new Dictionary<string, byte[]?>
        {
            ["dest"] = null,
            ["dest/moved"] = null,
            ["dest/moved/inner"] = null,
            ["dest/moved/inner/f"] = Bytes("deep"),
        });
    }

    [Fact]
    public async Task RenameOverExistingFileReplacesIt()
    {
        string d = await ScratchAsync();
        await Target.WriteDurablyAsync($"{d}/doc", Bytes("version one"));
        await Target.CreateFileAsync($"{d}/.doc.swp", Bytes("version two"));

        await Target.RenameAsync($"{d}/.doc.swp", $"{d}/doc");

        Assert.Null(await Target.StatAsync($"{d}/.doc.swp"));
        Assert.Equal(Bytes("version two"), await Target.ReadAllAsync($"{d}/doc"));
        Assert.Equal(["doc"], await Target.ListAsync(d));
        await Target.VerifyOnServerAsync(d, new Dictionary<string, byte[]?> { ["doc"] = Bytes("version two") });
    }

    [Fact]
    public async Task RenameNoReplaceRefusesAnExistingTarget()
    {
        string d = await ScratchAsync();
        await Target.CreateFileAsync($"{d}/a", Bytes("a"));
        await Target.CreateFileAsync($"{d}/b", Bytes("b"));

        Assert.Equal(ConformanceError.AlreadyExists, await ErrorOf(() => Target.RenameAsync($"{d}/a", $"{d}/b", noReplace: true)));
        Assert.Equal(Bytes("a"), await Target.ReadAllAsync($"{d}/a"));
        Assert.Equal(Bytes("b"), await Target.ReadAllAsync($"{d}/b"));
        await Target.VerifyOnServerAsync(d, new Dictionary<string, byte[]?> { ["a"] = Bytes("a"), ["b"] = Bytes("b") });
    }

    [Fact]
    public async Task RenameOfMissingSourceFails()
    {
        string d = await ScratchAsync();
        Assert.Equal(ConformanceError.NotFound, await ErrorOf(() => Target.RenameAsync($"{d}/nothing", $"{d}/else")));
        await Target.VerifyOnServerAsync(d, new Dictionary<string, byte[]?>());
    }

    [Fact]
    public async Task StatShowsNewSizeAndMtimeAtOnce()
    {
        string d = await ScratchAsync();
        await Target.CreateFileAsync($"{d}/f", Bytes("12345"));
        ConformanceStat before = (await Target.StatAsync($"{d}/f"))!;
        await Task.Delay(20);
        await Target.AppendAsync($"{d}/f", Bytes("678"));
        ConformanceStat after = (await Target.StatAsync($"{d}/f"))!;

        Assert.Equal(8, after.Size);
        Assert.True(after.ModifiedAt >= before.ModifiedAt);
        Assert.Equal(before.Inode, after.Inode);
        await Target.VerifyOnServerAsync(d, new Dictionary<string, byte[]?> { ["f"] = Bytes("12345678") });
    }

    [Fact]
    public async Task LargeFileRoundTrips()
    {
        string d = await ScratchAsync();
        byte[] content = Pattern(9 * 1024 * 1024 + 12345, 7);
        await Target.WriteDurablyAsync($"{d}/big.bin", content);

        Assert.Equal(content.Length, (await Target.StatAsync($"{d}/big.bin"))!.Size);
        Assert.Equal(content, await Target.ReadAllAsync($"{d}/big.bin"));
        Assert.Equal(content.AsSpan(4 * 1024 * 1024 - 10, 100).ToArray(), await Target.ReadAtAsync($"{d}/big.bin", 4 * 1024 * 1024 - 10, 100));
        await Target.VerifyOnServerAsync(d, new Dictionary<string, byte[]?> { ["big.bin"] = content });
    }

    [Fact]
    public async Task ManyFilesInOneDirectory()
    {
        string d = await ScratchAsync();
        var expected = new Dictionary<string, byte[]?>();
        for (int i = 0; i < 60; i++)
        {
            byte[] content = Bytes($"file {i}");
            await Target.CreateFileAsync($"{d}/f{i:D3}", content);
            expected[$"f{i:D3}"] = content;
        }

        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), await Target.ListAsync(d));
        await Target.VerifyOnServerAsync(d, expected);
    }
}
