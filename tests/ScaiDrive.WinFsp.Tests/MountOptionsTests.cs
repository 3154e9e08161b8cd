using ScaiDrive.Vfs;
using ScaiDrive.WinFsp.Interop;
using Xunit;

namespace ScaiDrive.WinFsp.Tests;

public sealed class MountOptionsTests
{
    private static readonly VfsOptions s_vfsOptions = new() { CacheDirectory = "/nonexistent" };

    [Fact]
    public void VolumeParams_AreCaseInsensitiveCasePreservingWithTimeouts()
    {
        WinFspMountOptions options = new()
        {
            MountPoint = "S:",
            VolumeLabel = "Team Drive",
            FileInfoTimeout = TimeSpan.FromMilliseconds(1500),
            DirInfoTimeout = TimeSpan.FromSeconds(2),
            VolumeInfoTimeout = TimeSpan.FromSeconds(30),
        };
        FspVolumeParams p = WinFspMount.BuildVolumeParams(options, s_vfsOptions, TimeProvider.System);

        Assert.Equal(504, p.Version);
        Assert.False(p.Flags.HasFlag(FspVolumeFlags.CaseSensitiveSearch));
        Assert.True(p.Flags.HasFlag(FspVolumeFlags.CasePreservedNames));
        Assert.True(p.Flags.HasFlag(FspVolumeFlags.UnicodeOnDisk));
        Assert.True(p.Flags.HasFlag(FspVolumeFlags.UmFileContextIsUserContext2));
        Assert.False(p.Flags.HasFlag(FspVolumeFlags.ReadOnlyVolume));
        Assert.Equal(1500u, p.FileInfoTimeout);
        Assert.Equal(2000u, p.DirInfoTimeout);
        Assert.Equal(30_000u, p.VolumeInfoTimeout);
        Assert.True(p.AdditionalFlags.HasFlag(FspVolumeAdditionalFlags.DirInfoTimeoutValid));
        Assert.Equal(255, p.MaxComponentLength);
        Assert.Equal("ScaiDriveFS", p.GetFileSystemName());
        Assert.Equal(@"\scaidrive\Team-Drive", p.GetPrefix());
    }

    [Fact]
    public void VolumeParams_DiskModeHasNoPrefixAndReadOnlyMountsAreReadOnlyVolumes()
    {
        WinFspMountOptions options = new() { MountPoint = @"C:\mnt\drive", NetworkDrive = false };
        FspVolumeParams p = WinFspMount.BuildVolumeParams(options, s_vfsOptions with { ReadOnly = true }, TimeProvider.System);
        Assert.Equal(string.Empty, p.GetPrefix());
        Assert.True(p.Flags.HasFlag(FspVolumeFlags.ReadOnlyVolume));
    }

    [Fact]
    public void VolumeParams_ExplicitPrefixWins()
    {
        WinFspMountOptions options = new() { MountPoint = "T:", VolumePrefix = @"\files\marketing" };
        Assert.Equal(@"\files\marketing", WinFspMount.BuildVolumeParams(options, s_vfsOptions, TimeProvider.System).GetPrefix());
    }

    [Theory]
    [InlineData("S:", true, true)]
    [InlineData("*", true, true)]
    [InlineData(@"C:\mnt\drive", true, false)]
    [InlineData(@"C:\mnt\drive", false, true)]
    public void MountPoint_DirectoriesOnlyInDiskMode(string mountPoint, bool network, bool valid)
    {
        WinFspMountOptions options = new() { MountPoint = mountPoint, NetworkDrive = network };
        if (valid)
        {
            WinFspMount.ValidateMountPoint(options);
        }
        else
        {
            Assert.Throws<ArgumentException>(() => WinFspMount.ValidateMountPoint(options));
        }
    }

    [Fact]
    public async Task MountAsync_OnLinux_SaysPlainlyThatItNeedsWindows()
    {
        if (OperatingSystem.IsWindows())
        {
            Assert.Skip("This checks the non-Windows path.");
        }

        // No core is needed to reach the platform check; an uninitialized instance stands in for the argument.
        VfsFileSystem fs = (VfsFileSystem)System.Runtime.CompilerServices.RuntimeHelpers.GetUninitializedObject(typeof(VfsFileSystem));
        PlatformNotSupportedException ex = await Assert.ThrowsAsync<PlatformNotSupportedException>(() =>
            WinFspMount.MountAsync(fs, new WinFspMountOptions { MountPoint = "S:" }, null, TestContext.Current.CancellationToken));
        Assert.Contains("WinFsp", ex.Message);
        Assert.Contains("FUSE", ex.Message);
    }

    [Fact]
    public void Paths_SplitAndRejectStreamsAndDots()
    {
        Assert.Empty(WinFspFileSystem.SplitPath("\\"));
        Assert.Equal(["Docs", "Plan.txt"], WinFspFileSystem.SplitPath(@"\Docs\Plan.txt"));
        Assert.Equal((@"\Docs", "Plan.txt"), WinFspFileSystem.SplitParent(@"\Docs\Plan.txt"));
        Assert.Equal(("\\", "Docs"), WinFspFileSystem.SplitParent(@"\Docs"));
        Assert.Throws<NtStatusException>(() => WinFspFileSystem.SplitPath(@"\file.txt:stream"));
        Assert.Throws<NtStatusException>(() => WinFspFileSystem.SplitPath(@"\a\..\b"));
        Assert.Throws<NtStatusException>(() => WinFspFileSystem.SplitParent("\\"));
    }

    [Fact]
    public void CaseRule_ExactMatchWinsOtherwiseOrdinalSmallest()
    {
        VfsAttributes a = default;
        VfsDirectoryEntry[] listing = [new("report.docx", a), new("Report.docx", a), new("REPORT.DOCX", a), new("other", a)];
        Assert.Equal("Report.docx", WinFspFileSystem.FindStoredName(listing, "Report.docx"));
        Assert.Equal("REPORT.DOCX", WinFspFileSystem.FindStoredName(listing, "rePort.DOCX"));
        Assert.Null(WinFspFileSystem.FindStoredName(listing, "missing"));
    }

    [Fact]
    public void DirectoryOrder_IsCaseInsensitiveWithStableTies()
    {
        string[] names = ["b", "A", "a", "C", "_x", "B"];
        Array.Sort(names, WinFspFileSystem.s_directoryOrder);
        Assert.Equal(["A", "a", "B", "b", "C", "_x"], names); // upper-cased comparison, as NTFS's upcase table orders them
    }

    [Fact]
    public void FileTimes_RoundTripAndZeroMeansUnset()
    {
        DateTimeOffset t = new(2024, 5, 1, 12, 30, 0, TimeSpan.Zero);
        ulong ft = WinFspFileSystem.ToFileTime(t);
        Assert.Equal(t, WinFspFileSystem.FromFileTime(ft));
        Assert.Equal(0ul, WinFspFileSystem.ToFileTime(DateTimeOffset.MinValue));
    }
}
