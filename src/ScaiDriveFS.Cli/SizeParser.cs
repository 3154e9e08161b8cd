using System.Globalization;

namespace ScaiDriveFS.Cli;

/// <summary>Parses sizes like <c>512M</c>, <c>10G</c>, <c>1.5GiB</c>, <c>4096</c> (binary units).</summary>
internal static class SizeParser
{
    public static bool TryParse(string text, out long bytes)
    {
        bytes = 0;
        string s = text.Trim();
        if (s.Length == 0)
        {
            return false;
        }

        int end = s.Length;
        while (end > 0 && char.IsLetter(s[end - 1]))
        {
            end--;
        }

        string unit = s[end..].ToUpperInvariant().Replace("IB", "", StringComparison.Ordinal).TrimEnd('B');
        long multiplier = unit switch
        {
            "" => 1,
            "K" => 1L << 10,
            "M" => 1L << 20,
            "G" => 1L << 30,
            "T" => 1L << 40,
            _ => 0,
        };
        if (multiplier == 0 || !double.TryParse(s[..end], NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || value < 0)
        {
            return false;
        }

        double result = value * multiplier;
        if (result > long.MaxValue)
        {
            return false;
        }

        bytes = (long)result;
        return true;
    }

    public static string Format(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double value = bytes;
        int unit = 0;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        return unit == 0 ? $"{bytes} B" : string.Create(CultureInfo.InvariantCulture, $"{value:0.0} {units[unit]}");
    }
}
