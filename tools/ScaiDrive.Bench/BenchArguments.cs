using System.Globalization;

namespace ScaiDrive.Bench;

/// <summary><c>--name value</c> pairs after the command; every option takes a value.</summary>
internal sealed class BenchArguments
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    public static BenchArguments Parse(ReadOnlySpan<string> args)
    {
        var parsed = new BenchArguments();
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                throw new ArgumentException($"expected --option value, got '{arg}'");
            }

            parsed._values[arg[2..]] = args[++i];
        }

        return parsed;
    }

    public string Required(string name) =>
        _values.TryGetValue(name, out string? value) ? value : throw new ArgumentException($"--{name} is required");

    public string Text(string name, string fallback) => _values.GetValueOrDefault(name, fallback);

    public long Long(string name, long? fallback = null)
    {
        if (!_values.TryGetValue(name, out string? text))
        {
            return fallback ?? throw new ArgumentException($"--{name} is required");
        }

        return long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long value) && value >= 0
            ? value
            : throw new ArgumentException($"--{name} takes a non-negative integer, got '{text}'");
    }

    public int Int(string name, int fallback)
    {
        long value = Long(name, fallback);
        return value is > 0 and <= int.MaxValue ? (int)value : throw new ArgumentException($"--{name} must be a positive int");
    }
}
