using System.Text;
using ScaiDrive.Vfs.Writing;
using Xunit;

namespace ScaiDrive.Vfs.Tests.Writing;

public sealed class ConflictNamesTests
{
    private static readonly DateTimeOffset s_when = new(2026, 3, 9, 7, 5, 3, TimeSpan.FromHours(2));

    [Theory]
    [InlineData("report.docx", "report (conflict 2026-03-09 050503).docx")]
    [InlineData("archive.tar.gz", "archive.tar (conflict 2026-03-09 050503).gz")]
    [InlineData("Makefile", "Makefile (conflict 2026-03-09 050503)")]
    [InlineData(".bashrc", ".bashrc (conflict 2026-03-09 050503)")]
    [InlineData("trailing.", "trailing. (conflict 2026-03-09 050503)")]
    public void Names_keep_the_extension_last_and_use_utc(string name, string expected) =>
        Assert.Equal(expected, ConflictNames.Make(name, s_when));

    [Fact]
    public void Later_attempts_get_a_counter() =>
        Assert.Equal("a (conflict 2026-03-09 050503 2).txt", ConflictNames.Make("a.txt", s_when, 2));

    [Fact]
    public void Long_names_are_cut_to_255_utf8_bytes_on_a_character_boundary()
    {
        string name = string.Concat(Enumerable.Repeat("ü", 200)) + ".txt";

        string result = ConflictNames.Make(name, s_when);

        Assert.True(Encoding.UTF8.GetByteCount(result) <= ConflictNames.MaxNameBytes);
        Assert.EndsWith(" (conflict 2026-03-09 050503).txt", result, StringComparison.Ordinal);
        Assert.DoesNotContain('\uFFFD', result);
        Assert.True(ConflictNames.IsConflictName(result));
    }
}
