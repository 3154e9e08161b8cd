using System.Text;
using ScaiDrive.WinFsp.Interop;
using Xunit;

namespace ScaiDrive.WinFsp.Tests;

/// <summary>The adapter's operations, called as WinFsp's dispatcher calls them, against the core over the local server.</summary>
public sealed class AdapterOperationTests
{
    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    [Fact]
    public async Task CreateWriteCloseThenReadBack_ReachesTheServer()
    {
        await using WinFspHarness h = await WinFspHarness.StartAsync();
        await h.WriteWholeFileAsync(@"\hello.txt", Bytes("hello windows"));

        Assert.Equal("hello windows", Encoding.UTF8.GetString(await h.ReadWholeFileAsync(@"\hello.txt")));
        (List<string> files, _) = await h.ServerRootAsync();
        Assert.Contains("hello.txt", files);
        Assert.Equal("hello windows", Encoding.UTF8.GetString(await h.ServerContentAsync("hello.txt")));
        Assert.Equal(0, h.Fs.OpenFileCount);
    }

    [Fact]
    public async Task Create_ExistingNameInAnyCase_IsCollision()
    {
        await using WinFspHarness h = await WinFspHarness.StartAsync();
        await h.WriteWholeFileAsync(@"\Report.docx", Bytes("v1"));
        int status = h.Fs.Create(@"\REPORT.DOCX", 0, Win32.FileAllAccess, 0, 0, out _, out _, out _);
        Assert.Equal(NtStatus.ObjectNameCollision, status);
    }

    [Fact]
    public async Task Open_IsCaseInsensitiveAndReportsTheStoredCase()
    {
        await using WinFspHarness h = await WinFspHarness.StartAsync();
        Assert.Equal(NtStatus.Success, h.Fs.Create(@"\Docs", Win32.FileDirectoryFile, Win32.FileAllAccess, 0, 0, out ulong dir, out _, out _));
        h.CloseHandle(dir);
        await h.WriteWholeFileAsync(@"\Docs\Plan.TXT", Bytes("plan"));

        int status = h.Fs.Open(@"\docs\plan.txt", 0, Win32.FileGenericRead, out ulong context, out FspFileInfo info, out string? normalized);
        Assert.Equal(NtStatus.Success, status);
        Assert.Equal(@"\Docs\Plan.TXT", normalized);
        Assert.Equal(4ul, info.FileSize);
        Assert.Equal(Win32.FileAttributeArchive, info.FileAttributes & Win32.FileAttributeArchive);
        (int readStatus, byte[] data) = await h.ReadAsync(context, 0, 16);
        Assert.Equal(NtStatus.Success, readStatus);
        Assert.Equal("plan", Encoding.UTF8.GetString(data));
        h.CloseHandle(context);
    }

    [Fact]
    public async Task Open_MissingNameAndMissingFolderAreDistinguished()
    {
        await using WinFspHarness h = await WinFspHarness.StartAsync();
        Assert.Equal(NtStatus.ObjectNameNotFound, h.Fs.Open(@"\nothing.txt", 0, Win32.FileGenericRead, out _, out _, out _));
        Assert.Equal(NtStatus.ObjectPathNotFound, h.Fs.Open(@"\no-folder\nothing.txt", 0, Win32.FileGenericRead, out _, out _, out _));
        Assert.Equal(NtStatus.ObjectNameNotFound, h.Fs.GetSecurityByName(@"\nothing.txt", out _, out _));
        Assert.Equal(NtStatus.ObjectPathNotFound, h.Fs.GetSecurityByName(@"\no-folder\x", out _, out _));
    }

    [Fact]
    public async Task GetSecurityByName_GivesAttributesAndADescriptor()
    {
        await using WinFspHarness h = await WinFspHarness.StartAsync();
        await h.WriteWholeFileAsync(@"\a.txt", Bytes("a"));
        Assert.Equal(NtStatus.Success, h.Fs.GetSecurityByName(@"\A.TXT", out uint attributes, out ReadOnlyMemory<byte> sd));
        Assert.Equal(Win32.FileAttributeArchive, attributes);
        Assert.Equal(SecurityDescriptors.Writable, sd.ToArray());
        Assert.Equal(NtStatus.Success, h.Fs.GetSecurityByName("\\", out uint rootAttributes, out _));
        Assert.Equal(Win32.FileAttributeDirectory, rootAttributes);
    }

    [Fact]
    public async Task Read_PastTheEnd_IsEndOfFile()
    {
        await using WinFspHarness h = await WinFspHarness.StartAsync();
        await h.WriteWholeFileAsync(@"\small.bin", [1, 2, 3]);
        ulong context = h.OpenOk(@"\small.bin", Win32.FileGenericRead);
        (int status, byte[] data) = await h.ReadAsync(context, 3, 10);
        Assert.Equal(NtStatus.EndOfFile, status);
        Assert.Empty(data);
        (status, data) = await h.ReadAsync(context, 1, 10);
        Assert.Equal(NtStatus.Success, status);
        Assert.Equal(new byte[] { 2, 3 }, data);
        h.CloseHandle(context);
    }

    [Fact]
    public async Task Write_AppendAndConstrainedIo()
    {
        await using WinFspHarness h = await WinFspHarness.StartAsync();
        await h.WriteWholeFileAsync(@"\log.txt", Bytes("abc"));
        ulong context = h.OpenOk(@"\log.txt");
        (int status, uint bytes) = await h.WriteAsync(context, -1, Bytes("def"), toEnd: true);
        Assert.Equal((NtStatus.Success, 3u), (status, bytes));
        // Paging I/O must not extend the file: only the 2 bytes before the end are written.
        (status, bytes) = await h.WriteAsync(context, 4, Bytes("XYZ"), constrained: true);
        Assert.Equal((NtStatus.Success, 2u), (status, bytes));
        h.CloseHandle(context);
        Assert.Equal("abcdXY", Encoding.UTF8.GetString(await h.ReadWholeFileAsync(@"\log.txt")));
    }

    [Fact]
    public async Task Write_WithoutWriteAccess_IsDenied()
    {
        await using WinFspHarness h = await WinFspHarness.StartAsync();
        await h.WriteWholeFileAsync(@"\ro.txt", Bytes("x"));
        ulong context = h.OpenOk(@"\ro.txt", Win32.FileGenericRead);
        (int status, _) = await h.WriteAsync(context, 0, Bytes("y"));
        Assert.Equal(NtStatus.AccessDenied, status);
        h.CloseHandle(context);
    }

    [Fact]
    public async Task Overwrite_TruncatesAndKeepsTheFile()
    {
        await using WinFspHarness h = await WinFspHarness.StartAsync();
        await h.WriteWholeFileAsync(@"\doc.txt", Bytes("old content"));
        ulong context = h.OpenOk(@"\doc.txt");
        Assert.Equal(NtStatus.Success, h.Fs.Overwrite(context, Win32.FileAttributeNormal, false, 0, out FspFileInfo info));
        Assert.Equal(0ul, info.FileSize);
        await h.WriteAsync(context, 0, Bytes("new"));
        h.CloseHandle(context);
        Assert.Equal("new", Encoding.UTF8.GetString(await h.ReadWholeFileAsync(@"\doc.txt")));
        await h.ServerRootAsync();
        Assert.Equal("new", Encoding.UTF8.GetString(await h.ServerContentAsync("doc.txt")));
    }

    [Fact]
    public async Task SetFileSize_ExtendsAndTruncates_AllocationOnlyTruncates()
    {
        await using WinFspHarness h = await WinFspHarness.StartAsync();
        await h.WriteWholeFileAsync(@"\size.bin", Bytes("0123456789"));
        ulong context = h.OpenOk(@"\size.bin");
        Assert.Equal(NtStatus.Success, h.Fs.SetFileSize(context, 4, false, out FspFileInfo info));
        Assert.Equal(4ul, info.FileSize);
        Assert.Equal(NtStatus.Success, h.Fs.SetFileSize(context, 100_000, true, out info));
        Assert.Equal(4ul, info.FileSize);
        Assert.Equal(NtStatus.Success, h.Fs.SetFileSize(context, 6, false, out info));
        Assert.Equal(6ul, info.FileSize);
        Assert.Equal(NtStatus.Success, h.Fs.SetFileSize(context, 2, true, out info));
        Assert.Equal(2ul, info.FileSize);
        h.CloseHandle(context);
        Assert.Equal("01", Encoding.UTF8.GetString(await h.ReadWholeFileAsync(@"\size.bin")));
    }

    [Fact]
    public async Task DeleteOnClose_RemovesTheFileFromTheServer()
    {
        await using WinFspHarness h = await WinFspHarness.StartAsync();
        await h.WriteWholeFileAsync(@"\keep.txt", Bytes("k"));
        ulong context = h.CreateFile(@"\~$temp.tmp", Win32.FileDeleteOnClose);
        await h.WriteAsync(context, 0, Bytes("scratch"));
        h.CloseHandle(context, delete: true);

        Assert.Equal(NtStatus.ObjectNameNotFound, h.Fs.Open(@"\~$temp.tmp", 0, Win32.FileGenericRead, out _, out _, out _));
        (List<string> files, _) = await h.ServerRootAsync();
        Assert.Equal(["keep.txt"], files);
    }

    [Fact]
    public async Task DeleteFile_CanDeleteThenCleanupWithDelete()
    {
        await using WinFspHarness h = await WinFspHarness.StartAsync();
        await h.WriteWholeFileAsync(@"\gone.txt", Bytes("bye"));
        await h.ServerRootAsync();
        ulong context = h.OpenOk(@"\gone.txt", Win32.Delete | Win32.FileReadAttributes);
        Assert.Equal(NtStatus.Success, h.Fs.CanDelete(context, @"\gone.txt"));
        Assert.Equal(NtStatus.Success, h.Fs.SetDelete(context, @"\gone.txt", true));
        Assert.True(h.Fs.TryGetOpenFile(context, out OpenFile file) && file.DeletePending);
        h.CloseHandle(context, delete: true);
        (List<string> files, _) = await h.ServerRootAsync();
        Assert.DoesNotContain("gone.txt", files);
    }

    [Fact]
    public async Task RemoveDirectory_NonEmptyIsRefused_EmptyGoes()
    {
        await using WinFspHarness h = await WinFspHarness.StartAsync();
        Assert.Equal(NtStatus.Success, h.Fs.Create(@"\full", Win32.FileDirectoryFile, Win32.FileAllAccess, 0, 0, out ulong dir, out _, out _));
        h.CloseHandle(dir);
        await h.WriteWholeFileAsync(@"\full\child.txt", Bytes("c"));
        ulong context = h.OpenOk(@"\full", Win32.Delete, Win32.FileDirectoryFile);
        Assert.Equal(NtStatus.DirectoryNotEmpty, h.Fs.CanDelete(context, @"\full"));
        h.CloseHandle(context);
        Assert.Equal(NtStatus.DirectoryNotEmpty, h.Fs.Open(@"\full", Win32.FileDeleteOnClose, Win32.Delete, out _, out _, out _));

        Assert.Equal(NtStatus.Success, h.Fs.Create(@"\empty", Win32.FileDirectoryFile, Win32.FileAllAccess, 0, 0, out ulong empty, out _, out _));
        Assert.Equal(NtStatus.Success, h.Fs.CanDelete(empty, @"\empty"));
        h.CloseHandle(empty, delete: true);
        (_, List<string> folders) = await h.ServerRootAsync();
        Assert.Equal(["full"], folders);
    }

    [Fact]
    public async Task Rename_WithoutReplace_OntoExistingIsCollision()
    {
        await using WinFspHarness h = await WinFspHarness.StartAsync();
        await h.WriteWholeFileAsync(@"\a.txt", Bytes("a"));
        await h.WriteWholeFileAsync(@"\b.txt", Bytes("b"));
        // Uploaded first: renaming a file whose first upload is still pending is the core's case, not the adapter's.
        await h.ServerRootAsync();
        ulong context = h.OpenOk(@"\a.txt", Win32.Delete);
        Assert.Equal(NtStatus.ObjectNameCollision, h.Fs.Rename(context, @"\a.txt", @"\B.TXT", false));
        Assert.Equal(NtStatus.Success, h.Fs.Rename(context, @"\a.txt", @"\c.txt", false));
        Assert.True(h.Fs.TryGetOpenFile(context, out OpenFile file));
        Assert.Equal(@"\c.txt", file.Path);
        h.CloseHandle(context);
        (List<string> files, _) = await h.ServerRootAsync();
        Assert.Equal(["b.txt", "c.txt"], files);
    }

    [Fact]
    public async Task Rename_CaseOnly_ChangesTheCase()
    {
        await using WinFspHarness h = await WinFspHarness.StartAsync();
        await h.WriteWholeFileAsync(@"\readme.md", Bytes("r"));
        await h.ServerRootAsync();
        ulong context = h.OpenOk(@"\readme.md", Win32.Delete);
        Assert.Equal(NtStatus.Success, h.Fs.Rename(context, @"\readme.md", @"\README.md", false));
        h.CloseHandle(context);
        (List<string> files, _) = await h.ServerRootAsync();
        Assert.Equal(["README.md"], files);
    }

    [Fact]
    public async Task Rename_IntoAnotherFolder_AndMissingTargetFolder()
    {
        await using WinFspHarness h = await WinFspHarness.StartAsync();
        Assert.Equal(NtStatus.Success, h.Fs.Create(@"\Archive", Win32.FileDirectoryFile, Win32.FileAllAccess, 0, 0, out ulong dir, out _, out _));
        h.CloseHandle(dir);
        await h.WriteWholeFileAsync(@"\old.txt", Bytes("o"));
        ulong context = h.OpenOk(@"\old.txt", Win32.Delete);
        Assert.Equal(NtStatus.ObjectPathNotFound, h.Fs.Rename(context, @"\old.txt", @"\Missing\old.txt", false));
        Assert.Equal(NtStatus.Success, h.Fs.Rename(context, @"\old.txt", @"\archive\old.txt", false));
        h.CloseHandle(context);
        Assert.Equal("o", Encoding.UTF8.GetString(await h.ReadWholeFileAsync(@"\Archive\old.txt")));
        Assert.Equal(["old.txt"], await h.ListAsync(@"\Archive") is var l ? l.Where(n => n is not "." and not "..").ToList() : null);
    }

    [Fact]
    public async Task ReadDirectory_WithMarkers_ListsEverythingOnceInOrder()
    {
        await using WinFspHarness h = await WinFspHarness.StartAsync();
        Assert.Equal(NtStatus.Success, h.Fs.Create(@"\many", Win32.FileDirectoryFile, Win32.FileAllAccess, 0, 0, out ulong dir, out _, out _));
        h.CloseHandle(dir);
        string[] names = Enumerable.Range(0, 25).Select(i => $"file-{i:D2}.txt").Append("Zeta.txt").Append("alpha.txt").ToArray();
        foreach (string name in names)
        {
            await h.WriteWholeFileAsync(@"\many\" + name, Bytes(name));
        }

        // 300 bytes hold two entries per call, so the FSD's marker loop runs many times.
        List<string> listed = await h.ListAsync(@"\many", bufferLength: 300);
        Assert.Equal(".", listed[0]);
        Assert.Equal("..", listed[1]);
        string[] expected = names.Order(WinFspFileSystem.s_directoryOrder).ToArray();
        Assert.Equal(expected, listed.Skip(2).ToArray());
    }

    [Fact]
    public async Task ReadDirectory_RootHasNoDotEntries_AndMarkerResumesAfterName()
    {
        await using WinFspHarness h = await WinFspHarness.StartAsync();
        await h.WriteWholeFileAsync(@"\b.txt", Bytes("b"));
        await h.WriteWholeFileAsync(@"\a.txt", Bytes("a"));
        await h.WriteWholeFileAsync(@"\C.txt", Bytes("c"));
        List<string> all = await h.ListAsync("\\");
        Assert.Equal(["a.txt", "b.txt", "C.txt"], all);

        ulong context = h.OpenOk("\\", Win32.FileGenericRead, Win32.FileDirectoryFile);
        (int status, List<string> rest, bool complete) = await h.ReadDirectoryOnceAsync(context, "a.txt", 4096);
        Assert.Equal(NtStatus.Success, status);
        Assert.Equal(["b.txt", "C.txt"], rest);
        Assert.True(complete);
        // A marker that no longer exists still resumes at the right place.
        (_, rest, _) = await h.ReadDirectoryOnceAsync(context, "bb", 4096);
        Assert.Equal(["C.txt"], rest);
        h.CloseHandle(context);
    }

    [Fact]
    public async Task GetVolumeInfo_LabelAndSizesFromTheQuota()
    {
        await using WinFspHarness h = await WinFspHarness.StartAsync(new WinFspMountOptions { MountPoint = "S:", VolumeLabel = "Team" });
        await h.Server.SetShareQuotaAsync(h.Server.DefaultShareId, 10_000_000);
        await h.WriteWholeFileAsync(@"\data.bin", new byte[4096]);
        await h.ServerRootAsync();

        Assert.Equal(NtStatus.Success, h.Fs.GetVolumeInfo(out FspVolumeInfo info));
        Assert.Equal("Team", info.GetVolumeLabel());
        Assert.True(info.TotalSize > 0);
        Assert.True(info.FreeSize <= info.TotalSize);
        Assert.Equal(NtStatus.AccessDenied, h.Fs.SetVolumeLabel("Other", out _));
    }

    [Fact]
    public async Task SetBasicInfo_ReadOnlyAttributeAndTimes()
    {
        await using WinFspHarness h = await WinFspHarness.StartAsync();
        await h.WriteWholeFileAsync(@"\t.txt", Bytes("t"));
        ulong context = h.OpenOk(@"\t.txt");
        DateTimeOffset when = new(2021, 3, 4, 5, 6, 7, TimeSpan.Zero);
        Assert.Equal(NtStatus.Success, h.Fs.SetBasicInfo(context, Win32.FileAttributeReadOnly, 0, 0, WinFspFileSystem.ToFileTime(when), 0, out FspFileInfo info));
        Assert.NotEqual(0u, info.FileAttributes & Win32.FileAttributeReadOnly);
        Assert.Equal(WinFspFileSystem.ToFileTime(when), info.LastWriteTime);
        Assert.Equal(NtStatus.CannotDelete, h.Fs.CanDelete(context, @"\t.txt"));
        Assert.Equal(NtStatus.Success, h.Fs.SetBasicInfo(context, Win32.FileAttributeNormal, 0, 0, 0, 0, out info));
        Assert.Equal(0u, info.FileAttributes & Win32.FileAttributeReadOnly);
        h.CloseHandle(context);
    }

    [Fact]
    public async Task ThumbnailCaches_AreRefused()
    {
        await using WinFspHarness h = await WinFspHarness.StartAsync();
        Assert.Equal(NtStatus.AccessDenied, h.Fs.Create(@"\Thumbs.db", 0, Win32.FileAllAccess, 0, 0, out _, out _, out _));
    }

    [Fact]
    public async Task UnknownContext_IsInvalidParameterNotACrash()
    {
        await using WinFspHarness h = await WinFspHarness.StartAsync();
        Assert.Equal(NtStatus.InvalidParameter, h.Fs.GetFileInfo(12345, out _));
        Assert.Equal(NtStatus.InvalidParameter, h.Fs.Read(12345, 0, 0, 0, out _, 1));
        h.Fs.Cleanup(12345, null, Win32.FspCleanupDelete);
        h.Fs.Close(12345);
    }
}
