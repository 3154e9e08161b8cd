using ScaiDrive.TestSupport.Conformance;
using Xunit;

namespace ScaiDrive.Vfs.Tests.Core;

/// <summary>
/// Seeded random operation sequences applied to the core and to an in-memory reference tree, compared after every
/// step (the touched paths) and in full every few steps, across remounts (with and without a drain, i.e. a crash),
/// and on the server through the API at the end (Mountpoint's reftests idea).
/// </summary>
public sealed class ModelTests
{
    private static readonly string[] s_dirNames = ["d0", "d1", "e"];
    private static readonly string[] s_fileNames = ["f0", "f1", "f2", "g.txt"];

    [Theory]
    [InlineData(1, 250, false)]
    [InlineData(2, 250, false)]
    [InlineData(3, 250, false)]
    [InlineData(4, 250, false)]
    [InlineData(2, 250, true)]
    [InlineData(5, 250, true)]
    public async Task RandomOperationsMatchTheReference(int seed, int steps, bool crashRemounts)
    {
        await using VfsHarness h = await VfsHarness.StartAsync(o => o with { WriteBackDelay = TimeSpan.FromMinutes(1) });
        var target = new VfsConformanceTarget(h);
        var model = new Model();
        var random = new Random(seed);
        string root = $"model-{seed}";
        await target.MkdirAsync(root);
        var log = new List<string>();

        for (int step = 0; step < steps; step++)
        {
            string description;
            try
            {
                description = await StepAsync(random, target, model, root, h, crashRemounts);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                string server = string.Join(", ", (await FsPaths.ServerTreeAsync(h.Client, h.ShareId, root)).Keys.Order(StringComparer.Ordinal));
                throw new Xunit.Sdk.XunitException($"step {step} failed: {ex.Message}\nserver: {server}\nlast steps:\n{string.Join('\n', log)}");
            }

            log.Add($"{step}: {description}");
            if (step % 25 == 24)
            {
                try
                {
                    await CompareTreeAsync(target, model, root, log);
                }
                catch (Exception)
                {
                    Console.WriteLine(string.Join('\n', h.Logs.Lines));
                    throw;
                }
            }
        }

        try
        {
            await CompareTreeAsync(target, model, root, log);
            await target.VerifyOnServerAsync(root, model.Expected());
            await h.RemountAsync();
            await CompareTreeAsync(target, model, root, log);
        }
        catch (Exception)
        {
            Console.WriteLine(string.Join('\n', h.Logs.Lines));
            throw;
        }
    }

    private static async Task<string> StepAsync(Random random, VfsConformanceTarget target, Model model, string root, VfsHarness h, bool crashRemounts)
    {
        string Full(string relative) => relative.Length == 0 ? root : $"{root}/{relative}";
        int op = random.Next(100);
        if (op < 22)
        {
            string path = RandomFilePath(random, model);
            byte[] content = RandomBytes(random, random.Next(0, 6000));
            ConformanceError? expected = model.Dirs.Contains(Parent(path)) ? null : ConformanceError.NotFound;
            await ExpectAsync(expected, () => target.CreateFileAsync(Full(path), content), $"create {path}");
            if (expected is null)
            {
                model.Files[path] = content;
                Assert.Equal(content, await target.ReadAllAsync(Full(path)));
            }

            return $"create {path} ({content.Length} bytes)";
        }

        if (op < 37)
        {
            string path = RandomFilePath(random, model);
            bool exists = model.Files.TryGetValue(path, out byte[]? old);
            long offset = random.Next(0, (old?.Length ?? 0) + 200);
            byte[] data = RandomBytes(random, random.Next(1, 3000));
            bool append = random.Next(4) == 0;
            await ExpectAsync(exists ? null : ConformanceError.NotFound, () => append ? target.AppendAsync(Full(path), data) : target.WriteAtAsync(Full(path), offset, data), $"write {path}");
            if (exists)
            {
                model.Files[path] = append ? Model.Splice(old!, old!.Length, data) : Model.Splice(old!, offset, data);
                Assert.Equal(model.Files[path], await target.ReadAllAsync(Full(path)));
            }

            return $"{(append ? "append" : "write")} {path} @{offset} {data.Length}";
        }

        if (op < 45)
        {
            string path = RandomFilePath(random, model);
            bool exists = model.Files.TryGetValue(path, out byte[]? old);
            long size = random.Next(0, (old?.Length ?? 0) + 300);
            await ExpectAsync(exists ? null : ConformanceError.NotFound, () => target.TruncateAsync(Full(path), size), $"truncate {path}");
            if (exists)
            {
                byte[] resized = new byte[size];
                old!.AsSpan(0, (int)Math.Min(size, old!.Length)).CopyTo(resized);
                model.Files[path] = resized;
                Assert.Equal(size, (await target.StatAsync(Full(path)))!.Size);
            }

            return $"truncate {path} {size}";
        }

        if (op < 58)
        {
            string from = RandomFilePath(random, model);
            string to = RandomFilePath(random, model);
            ConformanceError? expected = !model.Files.ContainsKey(from) || !model.Dirs.Contains(Parent(to)) || !model.Dirs.Contains(Parent(from)) ? ConformanceError.NotFound : null;
            await ExpectAsync(expected, () => target.RenameAsync(Full(from), Full(to)), $"rename {from} {to}");
            if (expected is null && from != to)
            {
                model.Files[to] = model.Files[from];
                model.Files.Remove(from);
                Assert.Null(await target.StatAsync(Full(from)));
                Assert.Equal(model.Files[to], await target.ReadAllAsync(Full(to)));
            }

            return $"rename {from} -> {to}";
        }

        if (op < 66)
        {
            string path = RandomFilePath(random, model);
            ConformanceError? expected = model.Files.ContainsKey(path) ? null : ConformanceError.NotFound;
            await ExpectAsync(expected, () => target.UnlinkAsync(Full(path)), $"unlink {path}");
            model.Files.Remove(path);
            Assert.Null(await target.StatAsync(Full(path)));
            return $"unlink {path}";
        }

        if (op < 74)
        {
            string path = RandomDirPath(random);
            ConformanceError? expected = model.Dirs.Contains(path) ? ConformanceError.AlreadyExists
                : !model.Dirs.Contains(Parent(path)) ? ConformanceError.NotFound : null;
            await ExpectAsync(expected, () => target.MkdirAsync(Full(path)), $"mkdir {path}");
            if (expected is null)
            {
                model.Dirs.Add(path);
            }

            return $"mkdir {path}";
        }

        if (op < 80)
        {
            string path = RandomDirPath(random);
            ConformanceError? expected = !model.Dirs.Contains(path) ? ConformanceError.NotFound
                : model.HasChildren(path) ? ConformanceError.NotEmpty : null;
            await ExpectAsync(expected, () => target.RmdirAsync(Full(path)), $"rmdir {path}");
            if (expected is null)
            {
                model.Dirs.Remove(path);
            }

            return $"rmdir {path}";
        }

        if (op < 85)
        {
            string from = RandomDirPath(random);
            string to = RandomDirPath(random);
            ConformanceError? expected =
                !model.Dirs.Contains(from) || !model.Dirs.Contains(Parent(to)) || !model.Dirs.Contains(Parent(from)) ? ConformanceError.NotFound
                : from == to ? null
                : to.StartsWith(from + "/", StringComparison.Ordinal) ? ConformanceError.Other
                : model.Dirs.Contains(to) && model.HasChildren(to) ? ConformanceError.NotEmpty
                : null;
            await ExpectAsync(expected, () => target.RenameAsync(Full(from), Full(to)), $"rename dir {from} {to}");
            if (expected is null && from != to)
            {
                model.MoveDirectory(from, to);
            }

            return $"rename dir {from} -> {to}";
        }

        if (op < 92)
        {
            string path = RandomFilePath(random, model);
            if (model.Files.TryGetValue(path, out byte[]? content))
            {
                Assert.Equal(content, await target.ReadAllAsync(Full(path)));
                Assert.Equal(content.Length, (await target.StatAsync(Full(path)))!.Size);
            }
            else
            {
                Assert.Null(await target.StatAsync(Full(path)));
            }

            return $"check {path}";
        }

        if (op < 97)
        {
            string path = RandomFilePath(random, model);
            byte[] content = RandomBytes(random, random.Next(0, 2000));
            ConformanceError? expected = model.Dirs.Contains(Parent(path)) ? null : ConformanceError.NotFound;
            await ExpectAsync(expected, () => target.WriteDurablyAsync(Full(path), content), $"fsync {path}");
            if (expected is null)
            {
                model.Files[path] = content;
            }

            return $"write+fsync {path}";
        }

        // A remount; in the crash cases every third one skips the drain, as after kill -9.
        bool drain = !crashRemounts || random.Next(3) != 0;
        await h.RemountAsync(drain);
        return $"remount (drain: {drain})";
    }

    private static async Task ExpectAsync(ConformanceError? expected, Func<Task> action, string what)
    {
        try
        {
            await action();
        }
        catch (ConformanceException ex)
        {
            Assert.True(expected == ex.Error, $"{what}: expected {expected?.ToString() ?? "success"}, got {ex.Error}: {ex.Message}");
            return;
        }

        Assert.True(expected is null, $"{what}: expected {expected}, but it succeeded");
    }

    private static async Task CompareTreeAsync(VfsConformanceTarget target, Model model, string root, List<string> log)
    {
        var actual = new Dictionary<string, byte[]?>(StringComparer.Ordinal);
        await WalkAsync(string.Empty);
        Dictionary<string, byte[]?> expected = model.Expected();
        string context = string.Join('\n', log);
        Assert.True(
            expected.Keys.Order(StringComparer.Ordinal).SequenceEqual(actual.Keys.Order(StringComparer.Ordinal)),
            $"tree differs.\nexpected: {string.Join(", ", expected.Keys.Order())}\nactual:   {string.Join(", ", actual.Keys.Order())}\nlast steps:\n{context}");
        foreach ((string path, byte[]? content) in expected)
        {
            Assert.True(content is null ? actual[path] is null : content.AsSpan().SequenceEqual(actual[path]), $"{path} differs\nlast steps:\n{context}");
        }

        async Task WalkAsync(string relative)
        {
            string full = relative.Length == 0 ? root : $"{root}/{relative}";
            foreach (string name in await target.ListAsync(full))
            {
                string child = relative.Length == 0 ? name : $"{relative}/{name}";
                ConformanceStat stat = (await target.StatAsync($"{root}/{child}"))!;
                if (stat.IsDirectory)
                {
                    actual[child] = null;
                    await WalkAsync(child);
                }
                else
                {
                    actual[child] = await target.ReadAllAsync($"{root}/{child}");
                }
            }
        }
    }

    private static string Parent(string path) => path.Contains('/') ? path[..path.LastIndexOf('/')] : string.Empty;

    private static string RandomDirPath(Random random)
    {
        int depth = random.Next(1, 3);
        return string.Join('/', Enumerable.Range(0, depth).Select(_ => s_dirNames[random.Next(s_dirNames.Length)]));
    }

    private static string RandomFilePath(Random random, Model model)
    {
        // Mostly in directories that exist, sometimes in one that does not.
        string dir = random.Next(8) == 0 ? RandomDirPath(random) : model.Dirs.ElementAt(random.Next(model.Dirs.Count));
        string name = s_fileNames[random.Next(s_fileNames.Length)];
        return dir.Length == 0 ? name : $"{dir}/{name}";
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        byte[] data = new byte[length];
        random.NextBytes(data);
        return data;
    }

    private sealed class Model
    {
        public SortedSet<string> Dirs { get; } = new(StringComparer.Ordinal) { string.Empty };

        public Dictionary<string, byte[]> Files { get; } = new(StringComparer.Ordinal);

        public bool HasChildren(string dir) =>
            Dirs.Any(d => Parent(d) == dir && d.Length > 0) || Files.Keys.Any(f => Parent(f) == dir);

        public static byte[] Splice(byte[] old, long offset, byte[] data)
        {
            byte[] result = new byte[Math.Max(old.Length, offset + data.Length)];
            old.CopyTo(result, 0);
            data.CopyTo(result, offset);
            return result;
        }

        public void MoveDirectory(string from, string to)
        {
            Dirs.Remove(to); // An empty target directory is replaced.
            foreach (string dir in Dirs.Where(d => d == from || d.StartsWith(from + "/", StringComparison.Ordinal)).ToList())
            {
                Dirs.Remove(dir);
                Dirs.Add(to + dir[from.Length..]);
            }

            foreach (string file in Files.Keys.Where(f => f.StartsWith(from + "/", StringComparison.Ordinal)).ToList())
            {
                Files[to + file[from.Length..]] = Files[file];
                Files.Remove(file);
            }
        }

        public Dictionary<string, byte[]?> Expected()
        {
            var expected = new Dictionary<string, byte[]?>(StringComparer.Ordinal);
            foreach (string dir in Dirs.Where(d => d.Length > 0))
            {
                expected[dir] = null;
            }

            foreach ((string path, byte[] content) in Files)
            {
                expected[path] = content;
            }

            return expected;
        }
    }
}
