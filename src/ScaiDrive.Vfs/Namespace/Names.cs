using System.Text;

namespace ScaiDrive.Vfs.Namespace;

/// <summary>
/// Name rules of §21.9, checked before any server call so that the caller gets InvalidName or NameTooLong at once
/// instead of a 422 after a round trip (or, for local-first creates, a failed upload much later).
/// </summary>
internal static class Names
{
    public const int MaxNameBytes = 255;

    /// <summary>Server names are unique case-insensitively within a folder (§21.9).</summary>
    public static StringComparer SiblingComparer => StringComparer.OrdinalIgnoreCase;

    /// <summary>Returns the NFC form of <paramref name="name"/> or throws InvalidName / NameTooLong.</summary>
    public static string Validate(string name)
    {
        if (string.IsNullOrEmpty(name) || name is "." or "..")
        {
            throw new VfsException(VfsErrorCode.InvalidName, $"'{name}' is not a valid name");
        }

        foreach (char c in name)
        {
            if (c is '/' or '\\' or '\0')
            {
                throw new VfsException(VfsErrorCode.InvalidName, "names cannot contain '/', '\\' or NUL");
            }
        }

        string normalized = Normalize(name);
        int bytes;
        try
        {
            bytes = s_strictUtf8.GetByteCount(normalized);
        }
        catch (EncoderFallbackException)
        {
            // A lone surrogate: the adapter could not decode the kernel's bytes as UTF-8.
            throw new VfsException(VfsErrorCode.InvalidName, "name is not valid UTF-8");
        }

        if (bytes > MaxNameBytes)
        {
            throw new VfsException(VfsErrorCode.NameTooLong, $"names are limited to {MaxNameBytes} UTF-8 bytes");
        }

        return normalized;
    }

    /// <summary>
    /// NFC, as the server stores it. Pure ASCII is already NFC (the common case costs nothing). When the process runs with
    /// invariant globalization the runtime cannot normalize; the name is then kept as given (docs/SEMANTICS.md).
    /// </summary>
    public static string Normalize(string name)
    {
        foreach (char c in name)
        {
            if (c >= 0x80)
            {
                try
                {
                    return name.IsNormalized(NormalizationForm.FormC) ? name : name.Normalize(NormalizationForm.FormC);
                }
                catch (ArgumentException)
                {
                    throw new VfsException(VfsErrorCode.InvalidName, "name is not valid Unicode");
                }
            }
        }

        return name;
    }

    private static readonly UTF8Encoding s_strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
}
