using System.Security.Cryptography;
using ScaiDrive.Client;
using ScaiDrive.TestSupport;
using Xunit;

namespace ScaiDrive.Mount.Tests;

/// <summary>
/// Random operation sequences (create, write at random offsets, truncate, rename, unlink, mkdir, rmdir, fsync, close
/// and reopen) applied to a real mount and to a local reference directory, compared after each step, after a remount,
/// and on the server through the API. A failure prints the seed and the step, so it can be replayed.
/// </summary>
public sealed class ModelBasedMountTests
{
    private static readonly string[] s_names = ["a", "b", "c.txt", "d.bin", "e"];

    // Seeds of the suite; SCAIDRIVE_MODEL_SEEDS="seed[:steps],…" replaces them, to replay a failure or to run more.
    public static TheoryData<int, int> Seeds()
    {
        var data = new TheoryData<int, int>();
        string? extra = Environment.GetEnvironmentVariable("SCAIDRIVE_MODEL_SEEDS");
        if (string.IsNullOrWhiteSpace(extra))
        {
            data.Add(1001, 700);
            data.Add(2002, 700);
            data.Add(3003, 700);
            return data;
        }

        foreach (string item in extra.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string[] parts = item.Split(':');
            data.Add(int.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture), parts.Length > 1 ? int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture) : 700);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public async Task MountBehavesLikeALocalDirectory(int seed, int steps)
    {
        await using LocalServer server = await LocalServer.StartAsync();
        string cache = Directory.CreateTempSubdirectory("sdfs-cache-").FullName;
        string reference = Directory.CreateTempSubdirectory("sdfs-ref-").FullName;
        var random = new Random(seed);
        var log = new List<string>();

        // SCAIDRIVE_MODEL_DEBUG=FILE: the daemon runs with --debug and its log is written to FILE (replaying a seed).
        string? debugLog = Environment.GetEnvironmentVariable("SCAIDRIVE_MODEL_DEBUG");
        string[] extraArguments = string.IsNullOrEmpty(debugLog) ? [] : ["--debug"];
        MountedDrive? first = null;
        try
        {
            MountedDrive drive = first = await MountedDrive.StartAsync(server, new MountedDriveOptions { Share = server.DefaultShareId, CacheDirectory = cache, WriteBackDelay = "50ms", ExtraArguments = extraArguments });
            await using (drive)
            {
                var handles = new List<(string Path, FileStream Mount, FileStream Reference)>();
                try
                {
                    for (int step = 0; step < steps; step++)
                    {
                        string description;
                        try
                        {
                            description = ApplyRandomOperation(random, drive.MountPoint, reference, handles);
                        }
                        catch (Xunit.Sdk.XunitException ex)
                        {
                            // A step whose outcome differs: the steps before it are what a replay needs.
                            throw new Xunit.Sdk.XunitException($"seed {seed}: step {step}: {ex.Message}\nlast steps:\n  {string.Join("\n  ", log.TakeLast(40))}");
                        }
                        catch (Exception ex)
                        {
                            // An error outside Both (a write or close on an open handle) names the seed and the steps too.
                            throw new Xunit.Sdk.XunitException($"seed {seed}: step {step} threw {ex.GetType().Name}: {ex.Message}\nlast steps:\n  {string.Join("\n  ", log.TakeLast(15))}");
                        }

                        log.Add($"{step}: {description}");
                        if (step % 50 == 49)
                        {
                            AssertSameTree(reference, drive.MountPoint, seed, log);
                        }
                    }
                }
                finally
                {
                    foreach ((_, FileStream m, FileStream r) in handles)
                    {
                        m.Dispose();
                        r.Dispose();
                    }
                }

                AssertSameTree(reference, drive.MountPoint, seed, log);
                await drive.UnmountAsync();
            }

            await using (MountedDrive again = await MountedDrive.StartAsync(server, new MountedDriveOptions { Share = server.DefaultShareId, CacheDirectory = cache }))
            {
                AssertSameTree(reference, again.MountPoint, seed, log);
            }

            using var client = server.CreateOwnerClient();
            await AssertServerMatchesAsync(client, new ShareId(server.DefaultShareId), null, reference, seed);
        }
        finally
        {
            if (!string.IsNullOrEmpty(debugLog) && first is not null)
            {
                await File.WriteAllTextAsync(debugLog, first.DaemonStandardError);
                string coreLog = Path.Combine(cache, "logs", "scaidrivefs.log");
                if (File.Exists(coreLog))
                {
                    File.Copy(coreLog, debugLog + ".core", overwrite: true);
                }
            }

            Directory.Delete(reference, recursive: true);
            Directory.Delete(cache, recursive: true);
        }
    }

    private static string ApplyRandomOperation(Random random, string mount, string reference, List<(string Path, FileStream Mount, FileStream Reference)> handles)
    {
        string relative = RandomPath(random);
        string m = Path.Combine(mount, relative);
        string r = Path.Combine(reference, relative);
        int choice = random.Next(100);
        switch (choice)
        {
            case < 15:
            {
                byte[] data = RandomNumberGenerator.GetBytes(random.Next(0, 70_000));
                return Both($"write-file {relative} ({data.Length})", () => File.WriteAllBytes(m, data), () => File.WriteAllBytes(r, data));
            }

            case < 30 when handles.Count < 4 && File.Exists(r):
            {
                string result = Both($"open {relative}", () => { }, () => { });
                handles.Add((relative, new FileStream(m, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite), new FileStream(r, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite)));
                return result;
            }

            case < 50 when handles.Count > 0:
            {
                var (path, hm, hr) = handles[random.Next(handles.Count)];
                long offset = random.Next(0, (int)Math.Min(hr.Length + 5000, 200_000));
                byte[] data = RandomNumberGenerator.GetBytes(random.Next(1, 20_000));
                hm.Position = offset;
                hm.Write(data);
                hr.Position = offset;
                hr.Write(data);
                if (random.Next(4) == 0)
                {
                    hm.Flush(flushToDisk: true);
                    hr.Flush(flushToDisk: true);
                    return $"pwrite+fsync {path} @{offset} ({data.Length})";
                }

                return $"pwrite {path} @{offset} ({data.Length})";
            }

            case < 58 when handles.Count > 0:
            {
                int index = random.Next(handles.Count);
                var (path, hm, hr) = handles[index];
                hm.Dispose();
                hr.Dispose();
                handles.RemoveAt(index);
                return $"close {path}";
            }

            case < 66:
            {
                long size = random.Next(0, 100_000);
                return Both($"truncate {relative} {size}", () => Truncate(m, size), () => Truncate(r, size));
            }

            case < 78:
            {
                string target = RandomPath(random);
                return Both(
                    $"rename {relative} -> {target}",
                    () => Rename(m, Path.Combine(mount, target)),
                    () => Rename(r, Path.Combine(reference, target)));
            }

            case < 86:
                return Both($"unlink {relative}", () => Unlink(m), () => Unlink(r));
            case < 94:
                return Both($"mkdir {relative}", () => Mkdir(m), () => Mkdir(r));
            default:
                return Both($"rmdir {relative}", () => Directory.Delete(m), () => Directory.Delete(r));
        }
    }

    /// <summary>Runs an operation on both sides: both succeed or both fail (the failure kinds may differ in message only).</summary>
    private static string Both(string description, Action onMount, Action onReference)
    {
        Exception? referenceError = Capture(onReference);
        Exception? mountError = Capture(onMount);
        if ((referenceError is null) != (mountError is null))
        {
            throw new Xunit.Sdk.XunitException($"{description}: reference {(referenceError?.Message ?? "ok")}, mount {(mountError?.Message ?? "ok")}");
        }

        return description + (referenceError is null ? "" : " (failed on both)");
    }

    private static Exception? Capture(Action action)
    {
        try
        {
            action();
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return ex;
        }
    }

    private static void Truncate(string path, long size)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
        stream.SetLength(size);
    }

    private static void Unlink(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException(path);
        }

        File.Delete(path);
    }

    private static void Mkdir(string path)
    {
        if (Directory.Exists(path) || File.Exists(path))
        {
            throw new IOException("exists: " + path);
        }

        if (!Directory.Exists(Path.GetDirectoryName(path)))
        {
            throw new DirectoryNotFoundException(path);
        }

        Directory.CreateDirectory(path);
    }

    /// <summary>rename(2) semantics: a file may replace a file; a directory may replace an empty directory.</summary>
    private static void Rename(string source, string target)
    {
        if (File.Exists(source))
        {
            if (Directory.Exists(target))
            {
                throw new IOException("is a directory: " + target);
            }

            File.Move(source, target, overwrite: true);
        }
        else if (Directory.Exists(source))
        {
            if (target.StartsWith(source + "/", StringComparison.Ordinal) || File.Exists(target))
            {
                throw new IOException("invalid directory rename");
            }

            if (source == target)
            {
                return;
            }

            if (Directory.Exists(target))
            {
                Directory.Delete(target); // fails when not empty, like rename(2)
            }

            Directory.Move(source, target);
        }
        else
        {
            throw new FileNotFoundException(source);
        }
    }

    private static string RandomPath(Random random)
    {
        int depth = random.Next(1, 3);
        return string.Join('/', Enumerable.Range(0, depth).Select(_ => s_names[random.Next(s_names.Length)]));
    }

    private static void AssertSameTree(string reference, string mount, int seed, List<string> log)
    {
        string[] expected = Snapshot(reference);
        string[] actual;
        try
        {
            actual = Snapshot(mount);
        }
        catch (IOException ex)
        {
            // A name listed but not openable: the steps that led there are what a replay needs.
            throw new Xunit.Sdk.XunitException($"seed {seed}: reading the mount's tree after {log.Count} steps failed: {ex.Message}\nlast steps:\n  {string.Join("\n  ", log.TakeLast(15))}");
        }

        if (!expected.SequenceEqual(actual))
        {
            throw new Xunit.Sdk.XunitException(
                $"seed {seed}: trees differ after {log.Count} steps\nreference:\n  {string.Join("\n  ", expected)}\nmount:\n  {string.Join("\n  ", actual)}\nlast steps:\n  {string.Join("\n  ", log.TakeLast(15))}");
        }
    }

    private static string[] Snapshot(string root) =>
        Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories)
            .Select(path =>
            {
                string relative = Path.GetRelativePath(root, path);
                return Directory.Exists(path)
                    ? relative + "/"
                    : $"{relative} {new FileInfo(path).Length} {Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)))}";
            })
            .Order(StringComparer.Ordinal)
            .ToArray();

    private static async Task AssertServerMatchesAsync(ScaiDriveClient client, ShareId share, FolderId? folder, string localDirectory, int seed)
    {
        FolderListing listing = await client.ListChildrenAsync(share, folder);
        string[] localFiles = Directory.GetFiles(localDirectory).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray()!;
        string[] localDirs = Directory.GetDirectories(localDirectory).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray()!;
        Assert.True(localFiles.SequenceEqual(listing.Files.Select(f => f.Name).Order(StringComparer.Ordinal)), $"seed {seed}: files of {localDirectory} differ on the server");
        Assert.True(localDirs.SequenceEqual(listing.Folders.Select(f => f.Name).Order(StringComparer.Ordinal)), $"seed {seed}: folders of {localDirectory} differ on the server");
        foreach (FileItem file in listing.Files)
        {
            byte[] local = await File.ReadAllBytesAsync(Path.Combine(localDirectory, file.Name));
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(local)), file.ChecksumSha256);
        }

        foreach (FolderItem sub in listing.Folders)
        {
            await AssertServerMatchesAsync(client, share, sub.Id, Path.Combine(localDirectory, sub.Name), seed);
        }
    }
}
