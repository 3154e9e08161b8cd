using System.Runtime.InteropServices;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;

namespace ScaiDrive.Vfs.Writing;

/// <summary>
/// The durable write-back journal: one JSON file per staged key. A write is "temp file, fsync, rename over the
/// record, fsync the directory", so a crash leaves either the old record or the new one, never a torn one.
/// Deletes are not followed by a directory fsync: a record that comes back after a power cut is harmless, since
/// recovery recognises content that already reached the server (see README).
/// Thread-safety: callers serialise writes of one key (UploadQueue does so with a per-key gate); different keys
/// may be written in parallel.
/// </summary>
internal sealed class UploadJournal
{
    private const string RecordSuffix = ".json";
    private const string TempSuffix = ".tmp";

    public UploadJournal(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        Directory = Path.GetFullPath(directory);
        System.IO.Directory.CreateDirectory(Directory);
    }

    public string Directory { get; }

    public string PathOf(StagedFileKey key) => Path.Combine(Directory, ValidateKey(key) + RecordSuffix);

    /// <summary>
    /// Writes <paramref name="record"/> durably. <paramref name="before"/> (the staged content's own flush) runs while
    /// the temp file is written and fsync'd, and the rename that makes the record current waits for it: a record
    /// never points at content that is not on disk, yet the two flushes overlap. If it fails, the old record stays.
    /// </summary>
    public async ValueTask WriteAsync(JournalRecord record, CancellationToken cancellationToken, Task? before = null)
    {
        var key = new StagedFileKey(record.Key);
        string path = PathOf(key);
        string temp = path + TempSuffix;
        byte[] bytes = JsonSerializer.SerializeToUtf8Bytes(record, JournalJsonContext.Default.JournalRecord);

        try
        {
            using (SafeFileHandle handle = File.OpenHandle(temp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                await RandomAccess.WriteAsync(handle, bytes, 0, cancellationToken);
                RandomAccess.FlushToDisk(handle);
            }

            if (before is not null)
            {
                await before;
            }
        }
        catch
        {
            TryDelete(temp);
            throw;
        }

        File.Move(temp, path, overwrite: true);
        FsyncDirectory(Directory);
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Deleted by the next LoadAll at worst.
        }
    }

    public void Delete(StagedFileKey key)
    {
        string path = PathOf(key);
        File.Delete(path);
        File.Delete(path + TempSuffix);
    }

    public bool Exists(StagedFileKey key) => File.Exists(PathOf(key));

    /// <summary>Reads one record; null when there is none.</summary>
    public JournalRecord? Read(StagedFileKey key)
    {
        string path = PathOf(key);
        return File.Exists(path) ? Parse(File.ReadAllBytes(path)) : null;
    }

    /// <summary>
    /// Every record left in the directory. Leftover temp files (a crash between write and rename) are deleted: the
    /// record they would have replaced is still there. Unreadable records are renamed to <c>.corrupt</c> and reported
    /// through <paramref name="onCorrupt"/>, never silently dropped.
    /// </summary>
    public IReadOnlyList<JournalRecord> LoadAll(Action<string, Exception>? onCorrupt = null)
    {
        var records = new List<JournalRecord>();
        foreach (string temp in System.IO.Directory.EnumerateFiles(Directory, "*" + RecordSuffix + TempSuffix))
        {
            File.Delete(temp);
        }

        foreach (string path in System.IO.Directory.EnumerateFiles(Directory, "*" + RecordSuffix))
        {
            try
            {
                JournalRecord record = Parse(File.ReadAllBytes(path))
                    ?? throw new InvalidDataException("empty journal record");
                if (record.Format != JournalRecord.CurrentFormat)
                {
                    throw new InvalidDataException($"unknown journal format {record.Format}");
                }

                if (!string.Equals(Path.GetFileNameWithoutExtension(path), record.Key, StringComparison.Ordinal))
                {
                    throw new InvalidDataException("journal record key does not match its file name");
                }

                records.Add(record);
            }
            catch (Exception ex) when (ex is JsonException or InvalidDataException or IOException)
            {
                File.Move(path, path + ".corrupt", overwrite: true);
                onCorrupt?.Invoke(path, ex);
            }
        }

        records.Sort((a, b) => a.EnqueuedAt.CompareTo(b.EnqueuedAt));
        return records;
    }

    /// <summary>Makes a file's data durable (it must exist).</summary>
    public static void FsyncFile(string path)
    {
        // fsync needs only a readable descriptor on Unix (so a read-only staged file works); FlushFileBuffers needs write access.
        FileAccess access = OperatingSystem.IsWindows() ? FileAccess.ReadWrite : FileAccess.Read;
        using SafeFileHandle handle = File.OpenHandle(path, FileMode.Open, access, FileShare.ReadWrite | FileShare.Delete);
        RandomAccess.FlushToDisk(handle);
    }

    /// <summary>
    /// Makes a directory's entries (a create or rename inside it) durable. .NET cannot open a directory as a file,
    /// so this goes to libc on Unix; NTFS journals its metadata, so Windows needs nothing here.
    /// </summary>
    public static void FsyncDirectory(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        int flags = OperatingSystem.IsLinux() ? OpenCloseOnExecLinux : 0;
        int fd = NativeMethods.Open(path, flags);
        if (fd < 0)
        {
            throw new IOException($"cannot open directory '{path}' to fsync it (errno {Marshal.GetLastPInvokeError()})");
        }

        try
        {
            if (NativeMethods.Fsync(fd) != 0)
            {
                throw new IOException($"fsync of directory '{path}' failed (errno {Marshal.GetLastPInvokeError()})");
            }
        }
        finally
        {
            _ = NativeMethods.Close(fd);
        }
    }

    private const int OpenCloseOnExecLinux = 0x80000; // O_CLOEXEC on x86-64 and arm64 Linux; O_RDONLY is 0.

    private static JournalRecord? Parse(byte[] bytes) =>
        bytes.Length == 0 ? null : JsonSerializer.Deserialize(bytes, JournalJsonContext.Default.JournalRecord);

    private static string ValidateKey(StagedFileKey key)
    {
        string value = key.Value ?? throw new ArgumentException("empty staged file key", nameof(key));
        if (value.Length is 0 or > 128)
        {
            throw new ArgumentException("bad staged file key length", nameof(key));
        }

        foreach (char c in value)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
            {
                throw new ArgumentException($"staged file key '{value}' is not a safe file name", nameof(key));
            }
        }

        return value;
    }

    private static class NativeMethods
    {
        [DllImport("libc", EntryPoint = "open", SetLastError = true)]
        public static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

        [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
        public static extern int Fsync(int fd);

        [DllImport("libc", EntryPoint = "close", SetLastError = true)]
        public static extern int Close(int fd);
    }
}
