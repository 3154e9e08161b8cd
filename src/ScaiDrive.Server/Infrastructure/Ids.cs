using System.Security.Cryptography;

namespace ScaiDrive.Server.Infrastructure;

/// <summary>Prefixed, ULID-like IDs (<c>fil_01J…</c>): 48 bits of milliseconds then 80 random bits, Crockford base32.</summary>
internal static class Ids
{
    private const string Alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

    public static string New(string prefix, TimeProvider time)
    {
        Span<byte> bytes = stackalloc byte[16];
        long ms = time.GetUtcNow().ToUnixTimeMilliseconds();
        for (int i = 5; i >= 0; i--)
        {
            bytes[i] = (byte)(ms & 0xFF);
            ms >>= 8;
        }

        RandomNumberGenerator.Fill(bytes[6..]);
        Span<char> chars = stackalloc char[26];
        // 128 bits → 26 base32 digits; the first digit carries the top 3 bits.
        UInt128 value = System.Buffers.Binary.BinaryPrimitives.ReadUInt128BigEndian(bytes);
        for (int i = 25; i >= 0; i--)
        {
            chars[i] = Alphabet[(int)(value & 31)];
            value >>= 5;
        }

        return string.Concat(prefix, "_", chars);
    }

    /// <summary>A random URL-safe secret (tokens, link tokens).</summary>
    public static string Secret(int bytes = 32)
    {
        byte[] buffer = RandomNumberGenerator.GetBytes(bytes);
        return Convert.ToBase64String(buffer).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }
}

internal static class Time
{
    public static string Format(DateTimeOffset value) => value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);

    public static DateTimeOffset Parse(string value) => DateTimeOffset.Parse(value, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal);
}
