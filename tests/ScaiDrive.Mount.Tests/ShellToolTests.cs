using System.Security.Cryptography;
using ScaiDrive.Client;
using Xunit;

namespace ScaiDrive.Mount.Tests;

/// <summary>Everyday shell tools on a real mount; what they write is checked on the server through the API.</summary>
public sealed class ShellToolTests(DriveFixture fixture) : IClassFixture<DriveFixture>
{
    private string Root => fixture.Root;

    [Fact]
    public async Task MkdirEchoCatLsStatFind()
    {
        (await ProcessRunner.BashAsync("""
            mkdir -p shell1/a/b
            echo hello > shell1/a/b/greeting.txt
            test "$(cat shell1/a/b/greeting.txt)" = hello
            ls -l shell1/a/b | grep -q greeting.txt
            test "$(stat -c %s shell1/a/b/greeting.txt)" = 6
            test "$(stat -c %F shell1/a)" = directory
            test "$(find shell1 -type f | wc -l)" = 1
            """, Root)).EnsureSuccess("shell script");

        await fixture.WaitForServerFileAsync("shell1/a/b/greeting.txt", Sha256Hex("hello\n"u8.ToArray()));
    }

    [Fact]
    public async Task DdCpCmpMvRm()
    {
        ProcessResult result = (await ProcessRunner.BashAsync("""
            mkdir shell2
            dd if=/dev/urandom of=/tmp/sdfs-src-$$ bs=1M count=5 status=none
            dd if=/tmp/sdfs-src-$$ of=shell2/random.bin bs=1M status=none
            cmp /tmp/sdfs-src-$$ shell2/random.bin
            cp shell2/random.bin shell2/copy.bin
            cmp shell2/random.bin shell2/copy.bin
            mv shell2/copy.bin shell2/moved.bin
            test ! -e shell2/copy.bin
            cmp /tmp/sdfs-src-$$ shell2/moved.bin
            rm shell2/moved.bin
            test ! -e shell2/moved.bin
            sha256sum < /tmp/sdfs-src-$$ | cut -d' ' -f1 > shell2.sha
            rm /tmp/sdfs-src-$$
            cat shell2.sha
            rm shell2.sha
            """, Root)).EnsureSuccess("shell script");
        string sha = result.StandardOutput.Trim();

        await fixture.WaitForServerFileAsync("shell2/random.bin", sha);
        Assert.Null(await fixture.FindFileAsync("shell2/moved.bin"));
        Assert.Null(await fixture.FindFileAsync("shell2/copy.bin"));
    }

    [Fact]
    public async Task RmdirOfNonEmptyDirectoryFails()
    {
        ProcessResult result = await ProcessRunner.BashAsync("mkdir -p shell3/sub && touch shell3/sub/f && rmdir shell3/sub", Root);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("not empty", result.StandardError, StringComparison.OrdinalIgnoreCase);
        (await ProcessRunner.BashAsync("rm shell3/sub/f && rmdir shell3/sub && rmdir shell3 && test ! -e shell3", Root)).EnsureSuccess("cleanup");
    }

    [Fact]
    public async Task DfShowsTheShareQuota()
    {
        ProcessResult df = (await ProcessRunner.RunAsync("df", ["-B1", "--output=size,avail", Root])).EnsureSuccess("df");
        string[] numbers = df.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries)[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(long.Parse(numbers[0], System.Globalization.CultureInfo.InvariantCulture) > 0, df.StandardOutput);
    }

    [Fact]
    public async Task ExtendedAttributesShowServerIdentity()
    {
        byte[] content = RandomNumberGenerator.GetBytes(1000);
        string local = Path.Combine(Path.GetTempPath(), "sdfs-xattr-" + Guid.NewGuid().ToString("N"));
        await File.WriteAllBytesAsync(local, content);
        FileItem uploaded = await fixture.Client.UploadSmallFileAsync(fixture.Share, null, "xattr.bin", content);
        File.Delete(local);

        // The file came through the API: the listing may be cached for the attribute timeout.
        ProcessResult id = await RetryAsync(() => ProcessRunner.RunAsync("getfattr", ["--only-values", "-n", "user.scaidrive.id", Path.Combine(Root, "xattr.bin")]));
        Assert.Equal(uploaded.Id.Value, id.StandardOutput.Trim());
        ProcessResult sha = (await ProcessRunner.RunAsync("getfattr", ["--only-values", "-n", "user.scaidrive.checksum_sha256", Path.Combine(Root, "xattr.bin")])).EnsureSuccess("getfattr");
        Assert.Equal(Sha256Hex(content), sha.StandardOutput.Trim(), ignoreCase: true);
        ProcessResult list = (await ProcessRunner.RunAsync("getfattr", ["-d", "-m", "user.scaidrive", Path.Combine(Root, "xattr.bin")])).EnsureSuccess("getfattr -d");
        Assert.Contains("user.scaidrive.version", list.StandardOutput, StringComparison.Ordinal);
    }

    internal static string Sha256Hex(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));

    private static async Task<ProcessResult> RetryAsync(Func<Task<ProcessResult>> run)
    {
        ProcessResult result = await run();
        for (int i = 0; i < 40 && result.ExitCode != 0; i++)
        {
            await Task.Delay(100);
            result = await run();
        }

        return result.EnsureSuccess("retried command");
    }
}
