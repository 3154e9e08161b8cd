using System.Diagnostics;
using System.Text;
using ScaiDrive.Fuse.Interop;

namespace ScaiDrive.Fuse;

/// <summary>One line of /proc/self/mountinfo.</summary>
internal sealed record MountEntry(string MountPoint, string Device, string FileSystemType, string Source)
{
    /// <summary>The device minor: the FUSE connection's name under /sys/fs/fuse/connections.</summary>
    public string DeviceMinor => Device[(Device.IndexOf(':') + 1)..];
}

/// <summary>Reads the kernel's mount table and unmounts, without libfuse (works on stale mounts too).</summary>
internal static class MountTable
{
    public static IReadOnlyList<MountEntry> Read(string mountInfoPath = "/proc/self/mountinfo")
    {
        var entries = new List<MountEntry>();
        foreach (string line in File.ReadLines(mountInfoPath))
        {
            MountEntry? entry = Parse(line);
            if (entry is not null)
            {
                entries.Add(entry);
            }
        }

        return entries;
    }

    /// <summary>Parses "id parent major:minor root mountpoint options [optional…] - type source superoptions".</summary>
    public static MountEntry? Parse(string line)
    {
        string[] fields = line.Split(' ');
        int separator = fields.Length < 7 ? -1 : Array.IndexOf(fields, "-", 6);
        if (separator < 0 || separator + 2 >= fields.Length)
        {
            return null;
        }

        return new MountEntry(Unescape(fields[4]), fields[2], fields[separator + 1], Unescape(fields[separator + 2]));
    }

    /// <summary>mountinfo writes space, tab, newline and backslash as \ooo octal.</summary>
    internal static string Unescape(string field)
    {
        if (!field.Contains('\\'))
        {
            return field;
        }

        var bytes = new List<byte>(field.Length);
        byte[] raw = Encoding.UTF8.GetBytes(field);
        for (int i = 0; i < raw.Length; i++)
        {
            if (raw[i] == (byte)'\\' && i + 3 < raw.Length && IsOctal(raw[i + 1]) && IsOctal(raw[i + 2]) && IsOctal(raw[i + 3]))
            {
                bytes.Add((byte)(((raw[i + 1] - '0') << 6) | ((raw[i + 2] - '0') << 3) | (raw[i + 3] - '0')));
                i += 3;
            }
            else
            {
                bytes.Add(raw[i]);
            }
        }

        return Encoding.UTF8.GetString(bytes.ToArray());

        static bool IsOctal(byte b) => b is >= (byte)'0' and <= (byte)'7';
    }

    public static string Normalize(string path)
    {
        string full = Path.GetFullPath(path);
        return full.Length > 1 ? full.TrimEnd('/') : full;
    }

    /// <summary>The topmost mount at exactly <paramref name="path"/>, or null.</summary>
    public static MountEntry? Find(string path)
    {
        string normalized = Normalize(path);
        return Read().LastOrDefault(e => e.MountPoint == normalized);
    }

    public static bool IsFuse(MountEntry entry) => entry.FileSystemType == "fuse" || entry.FileSystemType.StartsWith("fuse.", StringComparison.Ordinal);

    public static bool IsRoot => LibC.GetEffectiveUserId() == 0;

    /// <summary>
    /// Lazy unmount: the mount point disappears at once, the filesystem lives on until its last open file closes.
    /// As root umount2(MNT_DETACH); otherwise fusermount3 -u -z. Returns null on success, else the reason.
    /// </summary>
    public static string? UnmountLazy(string path)
    {
        if (IsRoot)
        {
            if (LibC.Umount2(path, LibC.MntDetach) == 0)
            {
                return null;
            }

            int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            return $"umount2 failed with errno {errno}";
        }

        return Run("fusermount3", "-u", "-z", path);
    }

    /// <summary>Writes to the kernel's abort file of a FUSE connection: every request fails, the loop ends.</summary>
    public static string? AbortConnection(string deviceMinor)
    {
        const string control = "/sys/fs/fuse/connections";
        string path = $"{control}/{deviceMinor}/abort";
        if (!File.Exists(path) && IsRoot && Directory.Exists(control) && Find(control) is null)
        {
            // The FUSE control filesystem is usually mounted by systemd; containers often lack it.
            if (Run("mount", "-t", "fusectl", "fusectl", control) is { } error)
            {
                return error;
            }
        }

        try
        {
            File.WriteAllText(path, "1");
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"{path}: {e.Message}";
        }
    }

    private static string? Run(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        try
        {
            using Process process = Process.Start(start)!;
            string error = process.StandardError.ReadToEnd();
            process.WaitForExit();
            return process.ExitCode == 0 ? null : $"{program} exited {process.ExitCode}: {error.Trim()}";
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return $"{program}: {e.Message}";
        }
    }
}
