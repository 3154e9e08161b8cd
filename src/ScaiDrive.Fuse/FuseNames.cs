using System.Text;

namespace ScaiDrive.Fuse;

/// <summary>
/// The name policy between the kernel's raw bytes and the core's strings. The server stores names of at most 255
/// UTF-8 bytes without '/', '\' or NUL (scaidrive-api.md §21.9), so:
/// <list type="bullet">
/// <item>longer than 255 bytes → ENAMETOOLONG, for every operation (as ext4);</item>
/// <item>not valid UTF-8 → EILSEQ when creating or renaming to it; ENOENT when looking up, opening or removing it
/// (no such name can exist). Names are never decoded lossily: two different byte strings must not meet in one
/// name;</item>
/// <item>containing '\' → EINVAL when creating or renaming to it (what vfat answers for characters it cannot store);
/// ENOENT when looking it up. We do not substitute a look-alike character: the name would not survive a round trip
/// through other clients.</item>
/// </list>
/// </summary>
internal static class FuseNames
{
    public const int MaxNameBytes = 255;

    private static readonly UTF8Encoding s_strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>A name that must already exist (lookup, unlink, rmdir, rename source).</summary>
    public static string Existing(byte[] name)
    {
        if (name.Length > MaxNameBytes)
        {
            throw new FuseErrnoException(Errno.ENAMETOOLONG, "name longer than 255 bytes");
        }

        if (!TryDecode(name, out string? text) || text.Contains('\\'))
        {
            throw new FuseErrnoException(Errno.ENOENT, "no such name can exist on the server");
        }

        return text;
    }

    /// <summary>A name about to be created (mkdir, create, mknod, rename target).</summary>
    public static string New(byte[] name)
    {
        if (name.Length > MaxNameBytes)
        {
            throw new FuseErrnoException(Errno.ENAMETOOLONG, "name longer than 255 bytes");
        }

        if (!TryDecode(name, out string? text))
        {
            throw new FuseErrnoException(Errno.EILSEQ, "name is not valid UTF-8");
        }

        if (text.Contains('\\'))
        {
            throw new FuseErrnoException(Errno.EINVAL, "the server cannot store '\\' in a name");
        }

        return text;
    }

    public static byte[] Encode(string name) => Encoding.UTF8.GetBytes(name);

    private static bool TryDecode(byte[] name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? text)
    {
        try
        {
            text = s_strictUtf8.GetString(name);
            return true;
        }
        catch (DecoderFallbackException)
        {
            text = null;
            return false;
        }
    }
}
