using System.Security.Cryptography;
using System.Text;

namespace ScaiDriveFS.Cli.Hosting;

/// <summary>XDG locations: data home for the embedded server, cache home for mount caches, a per-user runtime dir for control sockets.</summary>
internal static class UserPaths
{
    public static string DataHome => FromEnvironment("XDG_DATA_HOME", ".local/share");

    public static string CacheHome => FromEnvironment("XDG_CACHE_HOME", ".cache");

    /// <summary>Where the embedded server keeps its data when no URL is given.</summary>
    public static string EmbeddedServerData => Path.Combine(DataHome, "scaidrivefs", "server");

    /// <summary>Default cache directory of a remote: the same remote (URL + share) reuses its cache across remounts.</summary>
    public static string DefaultCacheDirectory(string remoteKey) =>
        Path.Combine(CacheHome, "scaidrivefs", ShortHash(remoteKey));

    /// <summary>Control socket of the daemon serving <paramref name="mountPoint"/> (absolute path).</summary>
    public static string ControlSocket(string mountPoint)
    {
        string runtime = Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR") is { Length: > 0 } dir
            ? Path.Combine(dir, "scaidrivefs")
            : Path.Combine(Path.GetTempPath(), $"scaidrivefs-{Environment.UserName}");
        Directory.CreateDirectory(runtime);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(runtime, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        return Path.Combine(runtime, ShortHash(Path.GetFullPath(mountPoint).TrimEnd('/')) + ".sock");
    }

    private static string FromEnvironment(string variable, string fallbackUnderHome)
    {
        string? value = Environment.GetEnvironmentVariable(variable);
        if (!string.IsNullOrEmpty(value))
        {
            return value;
        }

        return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), fallbackUnderHome);
    }

    private static string ShortHash(string text) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16];
}
