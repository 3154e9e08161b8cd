using System.Text;
using ScaiDrive.WinFsp.Interop;
using Xunit;

namespace ScaiDrive.WinFsp.Tests;

/// <summary>The save sequences of Office and similar programs, as the dispatcher sees them.</summary>
public sealed class OfficeSaveTests
{
    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    [Fact]
    public async Task WordSave_TempThenBackupThenReplaceThenDeleteBackup()
    {
        await using WinFspHarness h = await WinFspHarness.StartAsync();
        await h.WriteWholeFileAsync(@"\Report.docx", Bytes("version 1"));
        await h.ServerRootAsync();

        // 1. Write the new content to a temporary file.
        await h.WriteWholeFileAsync(@"\~WRL0001.tmp", Bytes("version 2"));
        // 2. Rename the original to a backup name.
        ulong original = h.OpenOk(@"\Report.docx", Win32.Delete);
        Assert.Equal(NtStatus.Success, h.Fs.Rename(original, @"\Report.docx", @"\~WRL0002.tmp", false));
        h.CloseHandle(original);
        // 3. Rename the temporary file over the original name (ReplaceIfExists; nothing is there now).
        ulong temp = h.OpenOk(@"\~WRL0001.tmp", Win32.Delete);
        Assert.Equal(NtStatus.Success, h.Fs.Rename(temp, @"\~WRL0001.tmp", @"\Report.docx", true));
        h.CloseHandle(temp);
        // 4. Delete the backup.
        ulong backup = h.OpenOk(@"\~WRL0002.tmp", Win32.Delete);
        Assert.Equal(NtStatus.Success, h.Fs.CanDelete(backup, @"\~WRL0002.tmp"));
        h.CloseHandle(backup, delete: true);

        Assert.Equal("version 2", Encoding.UTF8.GetString(await h.ReadWholeFileAsync(@"\Report.docx")));
        (List<string> files, _) = await h.ServerRootAsync();
        Assert.Equal(["Report.docx"], files);
        Assert.Equal("version 2", Encoding.UTF8.GetString(await h.ServerContentAsync("Report.docx")));
    }

    [Fact]
    public async Task ExcelSave_ReplaceIfExistsOverTheOriginal_KeepsItsStoredNameAndFileId()
    {
        await using WinFspHarness h = await WinFspHarness.StartAsync();
        await h.WriteWholeFileAsync(@"\Budget.xlsx", Bytes("old"));
        await h.ServerRootAsync();
        string originalId = (await h.Client.ListChildrenAsync(h.Share, null, cancellationToken: TestContext.Current.CancellationToken))
            .Files.Single(f => f.Name == "Budget.xlsx").Id.Value;

        await h.WriteWholeFileAsync(@"\A1B2C3D4", Bytes("new numbers"));
        ulong temp = h.OpenOk(@"\A1B2C3D4", Win32.Delete);
        // Excel names the target in another case than stored: the stored name stays.
        Assert.Equal(NtStatus.Success, h.Fs.Rename(temp, @"\A1B2C3D4", @"\budget.xlsx", true));
        h.CloseHandle(temp);

        (List<string> files, _) = await h.ServerRootAsync();
        Assert.Equal(["Budget.xlsx"], files);
        Assert.Equal("new numbers", Encoding.UTF8.GetString(await h.ServerContentAsync("Budget.xlsx")));
        string afterId = (await h.Client.ListChildrenAsync(h.Share, null, cancellationToken: TestContext.Current.CancellationToken))
            .Files.Single(f => f.Name == "Budget.xlsx").Id.Value;
        Assert.Equal(originalId, afterId);
    }

    [Fact]
    public async Task ReplaceIfExists_NeverReplacesAFolder()
    {
        await using WinFspHarness h = await WinFspHarness.StartAsync();
        Assert.Equal(NtStatus.Success, h.Fs.Create(@"\Folder", Win32.FileDirectoryFile, Win32.FileAllAccess, 0, 0, out ulong dir, out _, out _));
        h.CloseHandle(dir);
        await h.WriteWholeFileAsync(@"\file.txt", Bytes("f"));
        ulong context = h.OpenOk(@"\file.txt", Win32.Delete);
        Assert.Equal(NtStatus.AccessDenied, h.Fs.Rename(context, @"\file.txt", @"\folder", true));
        h.CloseHandle(context);
    }

    [Fact]
    public async Task NotepadSave_OpenOverwriteWriteClose()
    {
        await using WinFspHarness h = await WinFspHarness.StartAsync();
        await h.WriteWholeFileAsync(@"\notes.txt", Bytes("first draft, longer"));
        ulong context = h.OpenOk(@"\NOTES.txt");
        Assert.Equal(NtStatus.Success, h.Fs.Overwrite(context, Win32.FileAttributeArchive, false, 0, out _));
        await h.WriteAsync(context, 0, Bytes("final"));
        Assert.Equal(NtStatus.Success, h.Fs.Flush(context, out FspFileInfo flushed));
        Assert.Equal(5ul, flushed.FileSize);
        h.CloseHandle(context);
        await h.ServerRootAsync();
        Assert.Equal("final", Encoding.UTF8.GetString(await h.ServerContentAsync("notes.txt")));
    }
}
