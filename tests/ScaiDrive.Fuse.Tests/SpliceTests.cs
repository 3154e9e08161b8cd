using System.Security.Cryptography;
using ScaiDrive.Fuse.Session;

namespace ScaiDrive.Fuse.Tests;

/// <summary>
/// Spliced replies through a real mount: streamed reads of a file whose bytes arrive on a socket are answered by
/// splicing them into the kernel, and a stream that stops early hands the read back to the ordinary path, which
/// answers it with the right bytes (nothing short, nothing zero-filled).
/// </summary>
public sealed class SpliceTests
{
    private const int Size = (24 * 1024 * 1024) + 777;

    private static Task<TestMount> MountAsync(MemoryFileSystem fs) => TestMount.StartAsync(fs, o => o with { SpliceReads = true });

    [Fact]
    public async Task Streamed_reads_are_spliced_from_the_socket()
    {
        Assert.True(FuseMount.CanSpliceReads(out string? why), why);
        byte[] data = RandomNumberGenerator.GetBytes(Size);
        var fs = new MemoryFileSystem();
        ulong inode = fs.AddFile(MemoryFileSystem.Root, "movie.bin", data);
        using StreamedSource streamed = StreamedSource.Start(inode, data);
        fs.Streamed = streamed;
        await using TestMount m = await MountAsync(fs);

        byte[] read = await File.ReadAllBytesAsync(m.PathOf("movie.bin"), TestContext.Current.CancellationToken);

        Assert.True(data.AsSpan().SequenceEqual(read));
        Assert.True(streamed.Served > 10, $"{streamed.Served} reads spliced");
    }

    [Fact]
    public async Task A_stream_that_stops_early_falls_back_to_the_ordinary_read()
    {
        byte[] data = RandomNumberGenerator.GetBytes(Size);
        var fs = new MemoryFileSystem();
        ulong inode = fs.AddFile(MemoryFileSystem.Root, "movie.bin", data);
        // The "server" goes away in the middle of a read's bytes.
        using StreamedSource streamed = StreamedSource.Start(inode, data, breakAfterBytes: (5 * 1024 * 1024) + 1000);
        fs.Streamed = streamed;
        await using TestMount m = await MountAsync(fs);

        byte[] read = await File.ReadAllBytesAsync(m.PathOf("movie.bin"), TestContext.Current.CancellationToken);

        Assert.True(data.AsSpan().SequenceEqual(read));
        Assert.True(streamed.Served > 0, "nothing was spliced before the break");
        Assert.True(fs.ReadCount > 0, "the ordinary path never answered");
    }
}
