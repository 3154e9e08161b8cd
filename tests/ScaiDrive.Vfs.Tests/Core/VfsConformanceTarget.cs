using ScaiDrive.TestSupport.Conformance;
using Xunit;

namespace ScaiDrive.Vfs.Tests.Core;

/// <summary>The conformance suite's tree, driven through the core's inode API the way the FUSE adapter drives it.</summary>
internal sealed class VfsConformanceTarget(VfsHarness harness) : IConformanceTarget
{
    private VfsFileSystem Fs => harness.Fs;

    public Task CreateFileAsync(string path, ReadOnlyMemory<byte> content) => Run(() => Fs.WriteFileAsync(path, content));

    public Task WriteAtAsync(string path, long offset, ReadOnlyMemory<byte> data) => Run(() => Fs.WriteAtAsync(path, offset, data));

    public Task AppendAsync(string path, ReadOnlyMemory<byte> data) => Run(() => Fs.WriteAtAsync(path, 0, data, VfsOpenFlags.Write | VfsOpenFlags.Append));

    public Task<byte[]> ReadAllAsync(string path) => Run(() => Fs.ReadFileAsync(path));

    public Task<byte[]> ReadAtAsync(string path, long offset, int length) => Run(async () =>
    {
        ulong handle = await Fs.OpenAsync(await Fs.InodeOfAsync(path), VfsOpenFlags.Read);
        try
        {
            byte[] buffer = new byte[length];
            int total = 0;
            while (total < length)
            {
                int read = await Fs.ReadAsync(handle, offset + total, buffer.AsMemory(total));
                if (read == 0)
                {
                    break;
                }

                total += read;
            }

            return buffer[..total];
        }
        finally
        {
            await Fs.ReleaseAsync(handle);
        }
    });

    public async Task<ConformanceStat?> StatAsync(string path)
    {
        try
        {
            VfsEntry entry = await Fs.ResolvePathAsync(path);
            VfsAttributes a = await Fs.GetAttributesAsync(entry.Inode);
            return new ConformanceStat(a.Kind == VfsNodeKind.Directory, a.Size, a.ModifiedAt, a.Inode);
        }
        catch (VfsException ex) when (ex.Code == VfsErrorCode.NotFound)
        {
            return null;
        }
    }

    public Task<IReadOnlyList<string>> ListAsync(string path) => Run<IReadOnlyList<string>>(async () =>
    {
        IReadOnlyList<VfsDirectoryEntry> entries = await Fs.ReadDirectoryAsync(await Fs.InodeOfAsync(path));
        return entries.Select(e => e.Name).ToList();
    });

    public Task MkdirAsync(string path) => Run(() => Fs.MkdirAsync(path));

    public Task RmdirAsync(string path) => Run(async () => await Fs.RemoveDirectoryAsync(await Fs.ParentInodeAsync(path), FsPaths.Split(path).Name));

    public Task UnlinkAsync(string path) => Run(async () => await Fs.UnlinkAsync(await Fs.ParentInodeAsync(path), FsPaths.Split(path).Name));

    public Task RenameAsync(string from, string to, bool noReplace = false) => Run(async () =>
        await Fs.RenameAsync(
            await Fs.ParentInodeAsync(from),
            FsPaths.Split(from).Name,
            await Fs.ParentInodeAsync(to),
            FsPaths.Split(to).Name,
            noReplace ? VfsRenameFlags.NoReplace : VfsRenameFlags.None));

    public Task TruncateAsync(string path, long size) => Run(async () =>
        await Fs.SetAttributesAsync(await Fs.InodeOfAsync(path), new VfsSetAttributes { Size = size }));

    public Task WriteDurablyAsync(string path, ReadOnlyMemory<byte> content) => Run(() => Fs.WriteFileAsync(path, content, fsync: true));

    public async Task VerifyOnServerAsync(string directory, IReadOnlyDictionary<string, byte[]?> expected)
    {
        await Fs.DrainAsync();
        Dictionary<string, byte[]?> actual = await FsPaths.ServerTreeAsync(harness.Client, harness.ShareId, directory);
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        foreach ((string path, byte[]? content) in expected)
        {
            Assert.True(content is null == actual[path] is null, $"{path}: file/folder mismatch on the server");
            if (content is not null)
            {
                Assert.True(content.AsSpan().SequenceEqual(actual[path]), $"{path}: content differs on the server");
            }
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private static async Task Run(Func<Task> action) => await Run(async () =>
    {
        await action();
        return true;
    });

    private static async Task<T> Run<T>(Func<Task<T>> action)
    {
        try
        {
            return await action();
        }
        catch (VfsException ex)
        {
            throw new ConformanceException(Map(ex.Code), ex.Message, ex);
        }
    }

    private static ConformanceError Map(VfsErrorCode code) => code switch
    {
        VfsErrorCode.NotFound => ConformanceError.NotFound,
        VfsErrorCode.AlreadyExists => ConformanceError.AlreadyExists,
        VfsErrorCode.NotEmpty => ConformanceError.NotEmpty,
        VfsErrorCode.NotADirectory => ConformanceError.NotADirectory,
        VfsErrorCode.IsADirectory => ConformanceError.IsADirectory,
        _ => ConformanceError.Other,
    };
}

/// <summary>One core and one server for the whole class; every test works in its own directory.</summary>
public sealed class VfsConformanceFixture : IAsyncLifetime
{
    internal VfsHarness Harness { get; private set; } = null!;

    internal IConformanceTarget Target { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Harness = await VfsHarness.StartAsync();
        Target = new VfsConformanceTarget(Harness);
    }

    public async ValueTask DisposeAsync() => await Harness.DisposeAsync();
}

public sealed class VfsConformanceTests(VfsConformanceFixture fixture) : ConformanceTests, IClassFixture<VfsConformanceFixture>
{
    protected override IConformanceTarget Target => fixture.Target;
}
