using ScaiDrive.Client;
using Xunit;

namespace ScaiDrive.Mount.Tests;

/// <summary>Real programs that write: git, sqlite3, tar, rsync, an editor-style atomic save.</summary>
public sealed class ProgramTests(DriveFixture fixture) : IClassFixture<DriveFixture>
{
    private string Root => fixture.Root;

    [Fact]
    public async Task GitInitAddCommitGcFsck()
    {
        (await ProcessRunner.BashAsync("""
            mkdir gitrepo && cd gitrepo
            git init -q
            for i in $(seq 1 30); do echo "line $i" > "file$i.txt"; done
            mkdir -p src/deep && echo 'int main(){}' > src/deep/main.c
            git add -A
            git -c user.name=t -c user.email=t@example.com commit -q -m first
            echo change >> file1.txt
            git -c user.name=t -c user.email=t@example.com commit -q -am second
            git gc -q
            git fsck --strict
            test "$(git rev-list --count HEAD)" = 2
            git status --porcelain | wc -l | grep -qx 0
            """, Root, TimeSpan.FromMinutes(4))).EnsureSuccess("git");
    }

    [Theory]
    [InlineData("DELETE")]
    [InlineData("WAL")]
    public async Task Sqlite3IntegrityCheck(string journalMode)
    {
        string db = $"sqlite-{journalMode}.db";
        ProcessResult result = (await ProcessRunner.BashAsync($"""
            sqlite3 {db} "PRAGMA journal_mode={journalMode}; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);"
            for batch in 1 2 3 4 5; do
              sqlite3 {db} "BEGIN; WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<500) INSERT INTO t(v) SELECT hex(randomblob(64)) FROM c; COMMIT;"
            done
            sqlite3 {db} "DELETE FROM t WHERE id % 3 = 0; VACUUM;" 
            sqlite3 {db} "PRAGMA integrity_check; SELECT count(*) FROM t;"
            """, Root, TimeSpan.FromMinutes(4))).EnsureSuccess("sqlite3");
        string[] lines = result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("ok", lines);
        Assert.Equal("1667", lines[^1]);
    }

    [Fact]
    public async Task TarExtractsTwoThousandFilesAndRsyncTwiceTransfersNothing()
    {
        (await ProcessRunner.BashAsync("""
            src=$(mktemp -d)
            trap 'rm -rf "$src" /tmp/sdfs-tree-$$.tar' EXIT
            for d in $(seq 1 20); do
              mkdir -p "$src/tree/d$d"
              for f in $(seq 1 100); do head -c $((RANDOM % 4096)) /dev/urandom > "$src/tree/d$d/f$f"; done
            done
            tar -C "$src" -cf /tmp/sdfs-tree-$$.tar tree
            mkdir tarout
            tar -C tarout -xf /tmp/sdfs-tree-$$.tar
            diff -r "$src/tree" tarout/tree
            test "$(find tarout -type f | wc -l)" = 2000

            rsync -a "$src/tree/" rsynced/
            diff -r "$src/tree" rsynced
            second=$(rsync -a --stats "$src/tree/" rsynced/ | grep 'Number of regular files transferred' | grep -o '[0-9]*$')
            echo "second pass transferred: $second"
            test "$second" = 0
            """, Root, TimeSpan.FromMinutes(8))).EnsureSuccess("tar + rsync");
    }

    [Fact]
    public async Task AtomicSaveKeepsTheFileIdAndAddsAVersion()
    {
        (await ProcessRunner.BashAsync("echo 'first version' > document.txt", Root)).EnsureSuccess("write");
        FileItem first = await fixture.WaitForServerFileAsync("document.txt", ShellToolTests.Sha256Hex("first version\n"u8.ToArray()));

        // What vim, gedit and LibreOffice do: write a temp file, fsync it, rename it over the original.
        (await ProcessRunner.BashAsync("""
            printf 'second version\n' > .document.txt.swp
            sync .document.txt.swp
            mv .document.txt.swp document.txt
            test "$(cat document.txt)" = "second version"
            """, Root)).EnsureSuccess("atomic save");

        FileItem second = await fixture.WaitForServerFileAsync("document.txt", ShellToolTests.Sha256Hex("second version\n"u8.ToArray()));
        Assert.Equal(first.Id, second.Id);
        Assert.True(second.Version > first.Version, $"version {second.Version} after {first.Version}");
        IReadOnlyList<FileVersionInfo> versions = await fixture.Client.ListVersionsAsync(second.Id);
        Assert.True(versions.Count >= 2);
        Assert.Null(await fixture.FindFileAsync(".document.txt.swp"));
    }
}
