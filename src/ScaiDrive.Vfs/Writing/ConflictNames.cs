using System.Globalization;
using System.Text;

namespace ScaiDrive.Vfs.Writing;

/// <summary>
/// Names for "keep both" conflict copies: <c>name (conflict YYYY-MM-DD HHMMSS).ext</c>, next to the original.
/// The extension stays last so the copy still opens with the same program; a dot file (".bashrc") has no extension.
/// </summary>
internal static class ConflictNames
{
    /// <summary>The server's limit on one name (§21.9), in UTF-8 bytes.</summary>
    public const int MaxNameBytes = 255;

    /// <summary>The conflict name for <paramref name="name"/> at <paramref name="when"/> (UTC); attempt 2, 3, … add a counter.</summary>
    public static string Make(string name, DateTimeOffset when, int attempt = 1)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        (string stem, string extension) = Split(name);
        string stamp = when.UtcDateTime.ToString("yyyy-MM-dd HHmmss", CultureInfo.InvariantCulture);
        string suffix = attempt <= 1
            ? $" (conflict {stamp})"
            : string.Create(CultureInfo.InvariantCulture, $" (conflict {stamp} {attempt})");

        int budget = MaxNameBytes - Encoding.UTF8.GetByteCount(suffix) - Encoding.UTF8.GetByteCount(extension);
        if (budget < 1)
        {
            // An absurdly long extension: treat the whole name as the stem.
            stem = name;
            extension = string.Empty;
            budget = MaxNameBytes - Encoding.UTF8.GetByteCount(suffix);
        }

        return TruncateUtf8(stem, budget) + suffix + extension;
    }

    /// <summary>True when <paramref name="name"/> looks like a conflict copy this class made.</summary>
    public static bool IsConflictName(string name) => name.Contains(" (conflict ", StringComparison.Ordinal);

    private static (string Stem, string Extension) Split(string name)
    {
        int dot = name.LastIndexOf('.');
        if (dot <= 0 || dot == name.Length - 1)
        {
            return (name, string.Empty);
        }

        return (name[..dot], name[dot..]);
    }

    private static string TruncateUtf8(string text, int maxBytes)
    {
        if (Encoding.UTF8.GetByteCount(text) <= maxBytes)
        {
            return text;
        }

        var builder = new StringBuilder();
        int used = 0;
        foreach (Rune rune in text.EnumerateRunes())
        {
            int size = rune.Utf8SequenceLength;
            if (used + size > maxBytes)
            {
                break;
            }

            builder.Append(rune.ToString());
            used += size;
        }

        return builder.ToString();
    }
}
