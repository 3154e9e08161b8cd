using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using ScaiDrive.Fuse.Session;
using ScaiDrive.Vfs;

namespace ScaiDrive.Fuse.Tests;

public sealed partial class ErrnoMapTests
{
    private static int ErrnoByName(string name) =>
        (int)(typeof(Errno).GetField(name, BindingFlags.Public | BindingFlags.Static)?.GetRawConstantValue()
            ?? throw new KeyNotFoundException(name));

    [Theory]
    [InlineData(VfsErrorCode.NotFound, 2)]
    [InlineData(VfsErrorCode.AlreadyExists, 17)]
    [InlineData(VfsErrorCode.NotEmpty, 39)]
    [InlineData(VfsErrorCode.NotADirectory, 20)]
    [InlineData(VfsErrorCode.IsADirectory, 21)]
    [InlineData(VfsErrorCode.AccessDenied, 13)]
    [InlineData(VfsErrorCode.ReadOnly, 30)]
    [InlineData(VfsErrorCode.QuotaExceeded, 122)]
    [InlineData(VfsErrorCode.FileTooLarge, 27)]
    [InlineData(VfsErrorCode.InvalidName, 22)]
    [InlineData(VfsErrorCode.NameTooLong, 36)]
    [InlineData(VfsErrorCode.NotSupported, 95)]
    [InlineData(VfsErrorCode.CrossDevice, 18)]
    [InlineData(VfsErrorCode.InvalidArgument, 22)]
    [InlineData(VfsErrorCode.Unavailable, 5)]
    [InlineData(VfsErrorCode.TimedOut, 110)]
    [InlineData(VfsErrorCode.Stale, 116)]
    [InlineData(VfsErrorCode.Busy, 16)]
    [InlineData(VfsErrorCode.Interrupted, 4)]
    [InlineData(VfsErrorCode.IoError, 5)]
    public void Each_code_maps_to_its_linux_errno(VfsErrorCode code, int errno)
    {
        Assert.Equal(errno, ErrnoMap.ToErrno(code));
        Assert.Equal(errno, ErrnoMap.FromException(new VfsException(code, "x")));
    }

    [Fact]
    public void Every_code_is_in_the_readme_table_with_the_same_errno()
    {
        string readme = File.ReadAllText(Path.Combine(RepositoryRoot(), "src", "ScaiDrive.Fuse", "README.md"));
        var table = TableRow().Matches(readme).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
        foreach (VfsErrorCode code in Enum.GetValues<VfsErrorCode>())
        {
            Assert.True(table.TryGetValue(code.ToString(), out string? name), $"{code} missing from the README errno table");
            Assert.Equal(ErrnoByName(name), ErrnoMap.ToErrno(code));
        }
    }

    [GeneratedRegex(@"^\| (\w+) \| (E[A-Z]+) \|$", RegexOptions.Multiline)]
    private static partial Regex TableRow();

    private static string RepositoryRoot()
    {
        string? dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "native", "Makefile")))
        {
            dir = Path.GetDirectoryName(dir);
        }

        return dir ?? throw new InvalidOperationException("repository root not found");
    }

    [Fact]
    public void Other_exceptions_map_to_documented_errnos()
    {
        Assert.Equal(Errno.ENODATA, ErrnoMap.FromException(new FuseErrnoException(Errno.ENODATA)));
        Assert.Equal(Errno.EINTR, ErrnoMap.FromException(new OperationCanceledException()));
        Assert.Equal(Errno.EINTR, ErrnoMap.FromException(new TaskCanceledException()));
        Assert.Equal(Errno.ETIMEDOUT, ErrnoMap.FromException(new TimeoutException()));
        Assert.Equal(Errno.EOPNOTSUPP, ErrnoMap.FromException(new NotSupportedException()));
        Assert.Equal(Errno.EACCES, ErrnoMap.FromException(new UnauthorizedAccessException()));
        Assert.Equal(Errno.EINVAL, ErrnoMap.FromException(new ArgumentOutOfRangeException()));
        Assert.Equal(Errno.EIO, ErrnoMap.FromException(new InvalidOperationException()));
        Assert.Equal(Errno.EIO, ErrnoMap.FromException(new NullReferenceException()));
        Assert.Equal(Errno.EEXIST, ErrnoMap.FromException(new AggregateException(new VfsException(VfsErrorCode.AlreadyExists, "x"))));
    }

    [Fact]
    public void Errnos_are_positive()
    {
        foreach (VfsErrorCode code in Enum.GetValues<VfsErrorCode>())
        {
            Assert.True(ErrnoMap.ToErrno(code) > 0);
        }
    }
}

public sealed class TranslationTests
{
    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    [Fact]
    public void Name_policy()
    {
        Assert.Equal("ok é", FuseNames.New(B("ok é")));
        Assert.Equal(Errno.ENAMETOOLONG, Assert.Throws<FuseErrnoException>(() => FuseNames.New(new byte[256].Select(_ => (byte)'a').ToArray())).Errno);
        Assert.Equal(255, FuseNames.Existing(new byte[255].Select(_ => (byte)'a').ToArray()).Length);
        Assert.Equal(Errno.ENAMETOOLONG, Assert.Throws<FuseErrnoException>(() => FuseNames.Existing(new byte[256].Select(_ => (byte)'a').ToArray())).Errno);
        byte[] latin1 = [0x61, 0xE9, 0x62];
        Assert.Equal(Errno.EILSEQ, Assert.Throws<FuseErrnoException>(() => FuseNames.New(latin1)).Errno);
        Assert.Equal(Errno.ENOENT, Assert.Throws<FuseErrnoException>(() => FuseNames.Existing(latin1)).Errno);
        Assert.Equal(Errno.EINVAL, Assert.Throws<FuseErrnoException>(() => FuseNames.New(B(@"a\b"))).Errno);
        Assert.Equal(Errno.ENOENT, Assert.Throws<FuseErrnoException>(() => FuseNames.Existing(B(@"a\b"))).Errno);
    }

    [Fact]
    public void Open_flags()
    {
        Assert.Equal(VfsOpenFlags.Read, VfsFuseFileSystem.ToVfs(OpenFlags.ReadOnly));
        Assert.Equal(VfsOpenFlags.Write | VfsOpenFlags.Truncate, VfsFuseFileSystem.ToVfs(OpenFlags.WriteOnly | OpenFlags.Truncate));
        Assert.Equal(VfsOpenFlags.ReadWrite | VfsOpenFlags.Append, VfsFuseFileSystem.ToVfs(OpenFlags.ReadWrite | OpenFlags.Append));
        Assert.Equal(VfsOpenFlags.Write | VfsOpenFlags.Exclusive, VfsFuseFileSystem.ToVfs(OpenFlags.WriteOnly | OpenFlags.Create | OpenFlags.Exclusive));
    }

    [Fact]
    public void Rename_flags()
    {
        Assert.Equal(VfsRenameFlags.None, VfsFuseFileSystem.ToVfsRename(0));
        Assert.Equal(VfsRenameFlags.NoReplace, VfsFuseFileSystem.ToVfsRename(RenameFlags.NoReplace));
        Assert.Equal(Errno.EINVAL, Assert.Throws<FuseErrnoException>(() => VfsFuseFileSystem.ToVfsRename(RenameFlags.Exchange)).Errno);
        Assert.Equal(Errno.EINVAL, Assert.Throws<FuseErrnoException>(() => VfsFuseFileSystem.ToVfsRename(RenameFlags.Whiteout)).Errno);
    }

    [Fact]
    public void Attributes_get_type_bits_and_link_counts()
    {
        var t = new DateTimeOffset(2025, 1, 2, 3, 4, 5, TimeSpan.Zero);
        var dir = new VfsAttributes(5, VfsNodeKind.Directory, 0, 0b111_101_101, t, t, t, t) { SubdirectoryCount = 3 };
        FuseAttributes d = VfsFuseFileSystem.ToFuse(dir);
        Assert.Equal(0x4000u | 0b111_101_101, d.Mode);
        Assert.Equal(5u, d.LinkCount);
        Assert.True(d.IsDirectory);

        var file = new VfsAttributes(6, VfsNodeKind.File, 42, 0x8000 | 0b110_100_100, t, t.AddDays(1), t, t);
        FuseAttributes f = VfsFuseFileSystem.ToFuse(file);
        Assert.Equal(0x8000u | 0b110_100_100, f.Mode);
        Assert.Equal(1u, f.LinkCount);
        Assert.Equal(42, f.Size);
        Assert.Equal(t.AddDays(1), f.ChangedAt);
    }
}
