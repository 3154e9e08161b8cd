using System.Security.Cryptography;
using ScaiDrive.Client;
using ScaiDrive.TestSupport;
using ScaiDrive.Vfs.Tests.Core;
using Xunit;

namespace ScaiDrive.Vfs.Tests.Writing;

/// <summary>
/// A new file written in order sends its finished chunks while the handle is still open (EarlyChunkSender), through
/// the VFS against the real server; the queue adopts the session at close. Every way of giving it up falls back to
/// the ordinary upload with the right content.
/// </summary>
public sealed class EarlyChunkSendTests
{
    private const int Chunk = 4 * 1024 * 1024;
    private const int Piece = 1024 * 1024;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string Sha(ReadOnlySpan<byte> data) => Convert.ToHexStringLower(SHA256.HashData(data));

    /// <summary>The active sessions the server holds right now, as it reports them.</summary>
    private static async Task<List<UploadSession>> ActiveSessionsAsync(VfsHarness h)
    {
        var sessions = new List<UploadSession>();
        string root = Path.Combine(h.Server.DataDirectory, "uploads");
        foreach (string dir in Directory.Exists(root) ? Directory.EnumerateDirectories(root) : [])
        {
            try
            {
                UploadSession session = await h.Client.GetUploadSessionAsync(new UploadSessionId(Path.GetFileName(dir)), Ct);
                if (session.Status == "active")
                {
                    sessions.Add(session);
                }
            }
            catch (ScaiDriveApiException ex) when (ex.Kind is ScaiDriveErrorKind.NotFound or ScaiDriveErrorKind.Gone)
            {
            }
        }

        return sessions;
    }

    private static async Task WriteAsync(VfsHarness h, ulong handle, byte[] content, long from, long to)
    {
        for (long offset = from; offset < to; offset += Piece)
        {
            int length = (int)Math.Min(Piece, to - offset);
            Assert.Equal(length, await h.Fs.WriteAsync(handle, offset, content.AsMemory((int)offset, length), Ct));
        }
    }

    private static async Task<FileItem?> ServerFileAsync(VfsHarness h, string name) =>
        (await h.Client.ListChildrenAsync(h.ShareId, null, cancellationToken: Ct)).Files.SingleOrDefault(f => f.Name == name);

    private static async Task<UploadSession> WaitForReceivedAsync(VfsHarness h, int chunks)
    {
        UploadSession? found = null;
        DateTime until = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < until)
        {
            found = (await ActiveSessionsAsync(h)).SingleOrDefault();
            if (found is not null && found.ReceivedChunks.Count >= chunks)
            {
                return found;
            }

            await Task.Delay(20, Ct);
        }

        Assert.Fail($"no session with {chunks} received chunks while the file is open (last: {found?.ReceivedChunks.Count})");
        return null!;
    }

    private static async Task AssertNoActiveSessionAsync(VfsHarness h)
    {
        DateTime until = DateTime.UtcNow.AddSeconds(15);
        while ((await ActiveSessionsAsync(h)).Count > 0)
        {
            Assert.True(DateTime.UtcNow < until, "an upload session is left on the server");
            await Task.Delay(20, Ct);
        }
    }

    [Fact]
    public async Task Chunks_are_on_the_server_before_close_and_the_same_session_completes_the_file()
    {
        await using VfsHarness h = await VfsHarness.StartAsync();
        byte[] content = Eventually.Bytes((Chunk * 7) + 12345, 71);
        (_, ulong handle) = await h.Fs.CreateFileAsync(VfsFileSystem.RootInode, "early.bin", 0x1A4, VfsOpenFlags.Write, Ct);

        // dd and shells open, dup2 and close the first descriptor before writing: a flush of the empty file.
        await h.Fs.FlushAsync(handle, Ct);
        await WriteAsync(h, handle, content, 0, 5L * Chunk);

        // The handle is open and nothing was flushed: chunks are on the server already.
        UploadSession early = await WaitForReceivedAsync(h, 3);
        Assert.Null(await ServerFileAsync(h, "early.bin"));
        Assert.True(early.FileSize > 5L * Chunk - Chunk, "the provisional size covers what was written");

        await WriteAsync(h, handle, content, 5L * Chunk, content.Length);
        await h.Fs.FlushAsync(handle, Ct);
        await h.Fs.FsyncAsync(handle, Ct);
        await h.Fs.ReleaseAsync(handle, Ct);

        FileItem file = (await ServerFileAsync(h, "early.bin"))!;
        Assert.Equal(content.Length, file.Size);
        Assert.Equal(Sha(content), file.ChecksumSha256);

        // The early session itself became the file: its chunks were kept, only the missing ones were sent.
        UploadSession done = await h.Client.GetUploadSessionAsync(early.Id, Ct);
        Assert.Equal("completed", done.Status);
        Assert.Equal(content.Length, done.FileSize);
        Assert.Single(await h.Client.ListVersionsAsync(file.Id, Ct));
        await AssertNoActiveSessionAsync(h);
    }

    [Fact]
    public async Task A_rewrite_below_what_was_sent_aborts_the_early_session_and_the_content_is_right()
    {
        await using VfsHarness h = await VfsHarness.StartAsync();
        byte[] content = Eventually.Bytes((Chunk * 6) + 99, 72);
        (VfsEntry entry, ulong handle) = await h.Fs.CreateFileAsync(VfsFileSystem.RootInode, "rewrite.bin", 0x1A4, VfsOpenFlags.Write, Ct);
        await WriteAsync(h, handle, content, 0, 4L * Chunk);
        UploadSession early = await WaitForReceivedAsync(h, 1);

        // Rewrite a megabyte inside chunk 0, which was sent.
        byte[] patch = Eventually.Bytes(Piece, 73);
        patch.CopyTo(content, 100_000);
        await h.Fs.WriteAsync(handle, 100_000, patch, Ct);
        await WriteAsync(h, handle, content, 4L * Chunk, content.Length);
        await h.Fs.FlushAsync(handle, Ct);
        await h.Fs.FsyncAsync(handle, Ct);
        await h.Fs.ReleaseAsync(handle, Ct);

        FileItem file = (await ServerFileAsync(h, "rewrite.bin"))!;
        Assert.Equal(Sha(content), file.ChecksumSha256);
        ScaiDriveApiException gone = await Assert.ThrowsAsync<ScaiDriveApiException>(() => h.Client.GetUploadSessionAsync(early.Id, Ct));
        Assert.Equal(ScaiDriveErrorKind.Gone, gone.Kind);
        await AssertNoActiveSessionAsync(h);
        Assert.NotEqual(0UL, entry.Attributes.Inode);
    }

    [Fact]
    public async Task A_truncate_while_written_falls_back_and_the_content_is_right()
    {
        await using VfsHarness h = await VfsHarness.StartAsync();
        byte[] content = Eventually.Bytes((Chunk * 5) + 7, 74);
        (VfsEntry entry, ulong handle) = await h.Fs.CreateFileAsync(VfsFileSystem.RootInode, "trunc.bin", 0x1A4, VfsOpenFlags.Write, Ct);
        await WriteAsync(h, handle, content, 0, 4L * Chunk);
        await WaitForReceivedAsync(h, 1);
        long cut = (3L * Chunk) + 5;
        await h.Fs.SetAttributesAsync(entry.Attributes.Inode, new VfsSetAttributes { Size = cut }, handle, Ct);
        await WriteAsync(h, handle, content, cut, content.Length);
        await h.Fs.FlushAsync(handle, Ct);
        await h.Fs.FsyncAsync(handle, Ct);
        await h.Fs.ReleaseAsync(handle, Ct);

        FileItem file = (await ServerFileAsync(h, "trunc.bin"))!;
        Assert.Equal(Sha(content), file.ChecksumSha256);
        await AssertNoActiveSessionAsync(h);
    }

    [Fact]
    public async Task Unlink_while_written_leaves_no_file_and_no_session()
    {
        await using VfsHarness h = await VfsHarness.StartAsync();
        byte[] content = Eventually.Bytes(Chunk * 6, 75);
        (_, ulong handle) = await h.Fs.CreateFileAsync(VfsFileSystem.RootInode, "gone.bin", 0x1A4, VfsOpenFlags.Write, Ct);
        await WriteAsync(h, handle, content, 0, 4L * Chunk);
        await WaitForReceivedAsync(h, 1);
        await h.Fs.UnlinkAsync(VfsFileSystem.RootInode, "gone.bin", Ct);
        await WriteAsync(h, handle, content, 4L * Chunk, content.Length);
        await h.Fs.FlushAsync(handle, Ct);
        await h.Fs.ReleaseAsync(handle, Ct);
        await h.Fs.DrainAsync(cancellationToken: Ct);

        Assert.Null(await ServerFileAsync(h, "gone.bin"));
        await AssertNoActiveSessionAsync(h);
    }

    [Fact]
    public async Task A_server_without_the_patch_falls_back_to_an_ordinary_upload()
    {
        await using LocalServer server = await LocalServer.StartAsync(new LocalServerOptions { Configure = o => o.UploadResizeEnabled = false }, Ct);
        await using VfsHarness h = await VfsHarness.StartAsync(server: server);
        byte[] content = Eventually.Bytes((Chunk * 10) + 3, 76);
        (_, ulong handle) = await h.Fs.CreateFileAsync(VfsFileSystem.RootInode, "plain.bin", 0x1A4, VfsOpenFlags.Write, Ct);
        await WriteAsync(h, handle, content, 0, 5L * Chunk);

        // Until it needs the PATCH, the sender cannot know: it opens a session and sends.
        await WaitForReceivedAsync(h, 1);
        await WriteAsync(h, handle, content, 5L * Chunk, content.Length);
        await h.Fs.FlushAsync(handle, Ct);
        await h.Fs.FsyncAsync(handle, Ct);
        await h.Fs.ReleaseAsync(handle, Ct);

        FileItem file = (await ServerFileAsync(h, "plain.bin"))!;
        Assert.Equal(Sha(content), file.ChecksumSha256);
        Assert.False(h.Client.UploadResizeMaybeSupported);
        await AssertNoActiveSessionAsync(h);

        // Once known, no early session is opened again: the next file goes the ordinary way at once.
        (_, ulong second) = await h.Fs.CreateFileAsync(VfsFileSystem.RootInode, "plain2.bin", 0x1A4, VfsOpenFlags.Write, Ct);
        await WriteAsync(h, second, content, 0, 5L * Chunk);
        await Task.Delay(300, Ct);
        Assert.Empty(await ActiveSessionsAsync(h));
        await WriteAsync(h, second, content, 5L * Chunk, content.Length);
        await h.Fs.FlushAsync(second, Ct);
        await h.Fs.FsyncAsync(second, Ct);
        await h.Fs.ReleaseAsync(second, Ct);
        Assert.Equal(Sha(content), (await ServerFileAsync(h, "plain2.bin"))!.ChecksumSha256);
    }

    [Fact]
    public async Task A_crash_after_close_resumes_the_journaled_early_session_on_the_next_start()
    {
        await using VfsHarness h = await VfsHarness.StartAsync(o => o with { WriteBackDelay = TimeSpan.FromMinutes(5), SendDuringWriteBackDelay = false });
        byte[] content = Eventually.Bytes((Chunk * 6) + 4321, 77);
        (_, ulong handle) = await h.Fs.CreateFileAsync(VfsFileSystem.RootInode, "crash.bin", 0x1A4, VfsOpenFlags.Write, Ct);
        await WriteAsync(h, handle, content, 0, content.Length);
        UploadSession early = await WaitForReceivedAsync(h, 3);
        await h.Fs.FlushAsync(handle, Ct);
        await h.Fs.ReleaseAsync(handle, Ct);
        Assert.Null(await ServerFileAsync(h, "crash.bin"));

        // Dispose without draining is a crash for the queue: the record (with the session) stays.
        await h.RemountAsync(drain: false);
        await h.Fs.DrainAsync(cancellationToken: Ct);

        FileItem file = (await ServerFileAsync(h, "crash.bin"))!;
        Assert.Equal(Sha(content), file.ChecksumSha256);
        UploadSession done = await h.Client.GetUploadSessionAsync(early.Id, Ct);
        Assert.Equal("completed", done.Status);
        await AssertNoActiveSessionAsync(h);
    }
}
