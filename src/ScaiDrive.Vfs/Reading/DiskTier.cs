using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using ScaiDrive.Client;

namespace ScaiDrive.Vfs.Reading;

/// <summary>
/// The disk tier: per file, one sparse data file holding bytes of exactly one version at their own offsets, and a small
/// text record of the byte ranges present (plus the file ID, version, size and checksum they belong to). Records are
/// loaded at start, so the cache survives remounts. Whole files are evicted least-recently-used first to stay under the
/// limit; a write that would not fit even then is skipped (the cache is an optimisation, never a reason to fail).
/// Thread-safe. Data reads and writes run outside the lock under a lease that keeps the entry's file alive.
/// </summary>
internal sealed class DiskTier : IDisposable
{
    private const string DataSuffix = ".data";
    private const string RecordSuffix = ".ranges";
    private const string RecordHeader = "scaidrive-block-cache 1";

    // Descriptors are a finite resource; a cache of many small files must not hold one open per file.
    private const int MaxOpenHandles = 64;

    private readonly Lock _gate = new();
    private readonly string _directory;
    private readonly long _limitBytes;
    private readonly ILogger _logger;

    // One version per file: a newer version replaces the entry, an older one is never cached. Guarded by _gate.
    private readonly Dictionary<FileId, DiskEntry> _entries = [];
    private long _bytesUsed;   // guarded by _gate: sum of the entries' present ranges
    private long _clock;       // guarded by _gate: LRU clock
    private int _openHandles;  // guarded by _gate
    private bool _disposed;    // guarded by _gate

    public DiskTier(string directory, long limitBytes, ILogger logger)
    {
        _directory = directory;
        _limitBytes = limitBytes;
        _logger = logger;
        Directory.CreateDirectory(directory);
        Load();
    }

    public long BytesUsed
    {
        get
        {
            lock (_gate)
            {
                return _bytesUsed;
            }
        }
    }

    /// <summary>True when [start, end) of this exact content is on disk.</summary>
    public bool Contains(ContentKey key, long start, long end)
    {
        lock (_gate)
        {
            return FindUnsynchronized(key) is { } entry && entry.Ranges.Contains(start, end);
        }
    }

    /// <summary>Reads <paramref name="destination"/> from disk if every byte of it is present; false otherwise.</summary>
    public async ValueTask<bool> TryReadAsync(ContentKey key, long offset, Memory<byte> destination, CancellationToken cancellationToken)
    {
        DiskEntry? entry;
        SafeFileHandle? handle;
        lock (_gate)
        {
            entry = FindUnsynchronized(key);
            if (entry is null || !entry.Ranges.Contains(offset, offset + destination.Length))
            {
                return false;
            }

            if (!TryLeaseUnsynchronized(entry, out handle))
            {
                return false;
            }
        }

        try
        {
            int total = 0;
            while (total < destination.Length)
            {
                int n = await RandomAccess.ReadAsync(handle, destination[total..], offset + total, cancellationToken);
                if (n == 0)
                {
                    throw new IOException("The cache file is shorter than its record says.");
                }

                total += n;
            }

            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            ReadingLog.DiskIoFailed(_logger, key.FileId, key.Version, ex);
            lock (_gate)
            {
                RemoveUnsynchronized(entry);
            }

            return false;
        }
        finally
        {
            lock (_gate)
            {
                ReleaseLeaseUnsynchronized(entry);
            }
        }
    }

    /// <summary>
    /// Stores [offset, offset + data.Length) of <paramref name="key"/>. Returns false when it was not kept: an older
    /// version than the one cached, no room even after evicting every other file, or an I/O error.
    /// </summary>
    public bool Write(ContentKey key, long offset, ReadOnlySpan<byte> data)
    {
        long end = offset + data.Length;
        DiskEntry entry;
        SafeFileHandle? handle;
        lock (_gate)
        {
            if (_disposed || !TryGetOrCreateUnsynchronized(key, out DiskEntry? created))
            {
                return false;
            }

            entry = created;
            long missing = entry.Ranges.MissingBytes(offset, end);
            if (missing == 0)
            {
                return true;
            }

            if (!MakeRoomUnsynchronized(missing, entry))
            {
                ReadingLog.DiskFull(_logger, key.FileId, offset, end);
                return false;
            }

            if (!TryLeaseUnsynchronized(entry, out handle))
            {
                return false;
            }
        }

        bool written = false;
        try
        {
            RandomAccess.Write(handle, data, offset);
            written = true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            ReadingLog.DiskIoFailed(_logger, key.FileId, key.Version, ex);
        }
        finally
        {
            lock (_gate)
            {
                if (!written)
                {
                    RemoveUnsynchronized(entry);
                }
                else if (!entry.Removed)
                {
                    long before = entry.Ranges.TotalBytes;
                    entry.Ranges.Add(offset, end);
                    _bytesUsed += entry.Ranges.TotalBytes - before;
                    entry.Dirty = true;
                }

                ReleaseLeaseUnsynchronized(entry);
            }
        }

        return written;
    }

    /// <summary>Makes the data written so far durable, then records its ranges (data first, so a record never claims bytes a crash lost).</summary>
    public void Flush()
    {
        List<(DiskEntry Entry, SafeFileHandle Handle)> dirty = [];
        lock (_gate)
        {
            foreach (DiskEntry entry in _entries.Values)
            {
                if (entry.Dirty && TryLeaseUnsynchronized(entry, out SafeFileHandle? handle))
                {
                    entry.Dirty = false;
                    dirty.Add((entry, handle));
                }
            }
        }

        foreach ((DiskEntry entry, SafeFileHandle handle) in dirty)
        {
            try
            {
                RandomAccess.FlushToDisk(handle);
                lock (_gate)
                {
                    if (!entry.Removed)
                    {
                        WriteRecordUnsynchronized(entry);
                    }
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                ReadingLog.DiskIoFailed(_logger, entry.Key.FileId, entry.Key.Version, ex);
                lock (_gate)
                {
                    RemoveUnsynchronized(entry);
                }
            }
            finally
            {
                lock (_gate)
                {
                    ReleaseLeaseUnsynchronized(entry);
                }
            }
        }
    }

    /// <summary>Drops every cached version of <paramref name="fileId"/>.</summary>
    public void Invalidate(FileId fileId)
    {
        lock (_gate)
        {
            if (_entries.TryGetValue(fileId, out DiskEntry? entry))
            {
                RemoveUnsynchronized(entry);
            }
        }
    }

    public void Dispose()
    {
        Flush();
        lock (_gate)
        {
            _disposed = true;
            foreach (DiskEntry entry in _entries.Values)
            {
                CloseHandleUnsynchronized(entry);
            }
        }
    }

    // ---- entries -------------------------------------------------------------------------------------

    private DiskEntry? FindUnsynchronized(ContentKey key)
    {
        if (_entries.TryGetValue(key.FileId, out DiskEntry? entry) && entry.Key == key)
        {
            entry.LastAccess = ++_clock;
            return entry;
        }

        return null;
    }

    private bool TryGetOrCreateUnsynchronized(ContentKey key, [NotNullWhen(true)] out DiskEntry? entry)
    {
        if (_entries.TryGetValue(key.FileId, out entry))
        {
            if (entry.Key == key)
            {
                entry.LastAccess = ++_clock;
                return true;
            }

            // Bytes of an older version are never kept once a newer one is known; a late writer of the old one loses.
            if (key.Version < entry.Key.Version)
            {
                entry = null;
                return false;
            }

            RemoveUnsynchronized(entry);
        }

        string name = $"{SafeName(key.FileId)}.{key.Version.ToString(CultureInfo.InvariantCulture)}.{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}";
        entry = new DiskEntry(key, Path.Combine(_directory, name)) { LastAccess = ++_clock };
        _entries.Add(key.FileId, entry);
        return true;
    }

    private bool MakeRoomUnsynchronized(long needed, DiskEntry? keep)
    {
        while (_bytesUsed + needed > _limitBytes)
        {
            DiskEntry? victim = null;
            foreach (DiskEntry candidate in _entries.Values)
            {
                if (candidate != keep && candidate.Leases == 0 && (victim is null || candidate.LastAccess < victim.LastAccess))
                {
                    victim = candidate;
                }
            }

            if (victim is null)
            {
                return false;
            }

            ReadingLog.DiskEvicted(_logger, victim.Key.FileId, victim.Key.Version, victim.Ranges.TotalBytes);
            RemoveUnsynchronized(victim);
        }

        return true;
    }

    private void RemoveUnsynchronized(DiskEntry entry)
    {
        if (entry.Removed)
        {
            return;
        }

        entry.Removed = true;
        _bytesUsed -= entry.Ranges.TotalBytes;
        if (_entries.TryGetValue(entry.Key.FileId, out DiskEntry? current) && current == entry)
        {
            _entries.Remove(entry.Key.FileId);
        }

        if (entry.Leases == 0)
        {
            DeleteFilesUnsynchronized(entry);
        }
    }

    private bool TryLeaseUnsynchronized(DiskEntry entry, [NotNullWhen(true)] out SafeFileHandle? handle)
    {
        if (entry.Handle is null)
        {
            if (_openHandles >= MaxOpenHandles)
            {
                CloseLeastRecentHandleUnsynchronized();
            }

            try
            {
                entry.Handle = File.OpenHandle(entry.BasePath + DataSuffix, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
                _openHandles++;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                ReadingLog.DiskIoFailed(_logger, entry.Key.FileId, entry.Key.Version, ex);
                RemoveUnsynchronized(entry);
                handle = null;
                return false;
            }
        }

        entry.Leases++;
        handle = entry.Handle;
        return true;
    }

    private void ReleaseLeaseUnsynchronized(DiskEntry entry)
    {
        entry.Leases--;
        if (entry.Leases == 0 && entry.Removed)
        {
            DeleteFilesUnsynchronized(entry);
        }
    }

    private void CloseLeastRecentHandleUnsynchronized()
    {
        DiskEntry? victim = null;
        foreach (DiskEntry candidate in _entries.Values)
        {
            if (candidate.Handle is not null && candidate.Leases == 0 && (victim is null || candidate.LastAccess < victim.LastAccess))
            {
                victim = candidate;
            }
        }

        if (victim is not null)
        {
            CloseHandleUnsynchronized(victim);
        }
    }

    private void CloseHandleUnsynchronized(DiskEntry entry)
    {
        if (entry.Handle is not null)
        {
            entry.Handle.Dispose();
            entry.Handle = null;
            _openHandles--;
        }
    }

    private void DeleteFilesUnsynchronized(DiskEntry entry)
    {
        CloseHandleUnsynchronized(entry);
        TryDelete(entry.BasePath + RecordSuffix);
        TryDelete(entry.BasePath + DataSuffix);
    }

    private void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            ReadingLog.DiskRecordDiscarded(_logger, path, ex);
        }
    }

    // ---- records -------------------------------------------------------------------------------------

    private static void WriteRecordUnsynchronized(DiskEntry entry)
    {
        var text = new StringBuilder();
        text.Append(RecordHeader).Append('\n');
        text.Append("file ").Append(entry.Key.FileId.Value).Append('\n');
        text.Append("version ").Append(entry.Key.Version.ToString(CultureInfo.InvariantCulture)).Append('\n');
        text.Append("size ").Append(entry.Key.Size.ToString(CultureInfo.InvariantCulture)).Append('\n');
        text.Append("sha256 ").Append(entry.Key.ChecksumSha256 ?? "-").Append('\n');
        foreach (ByteRange range in entry.Ranges.Ranges)
        {
            text.Append("range ").Append(range.Start.ToString(CultureInfo.InvariantCulture))
                .Append(' ').Append(range.End.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }

        string path = entry.BasePath + RecordSuffix;
        string temp = path + ".tmp";
        File.WriteAllText(temp, text.ToString());
        File.Move(temp, path, overwrite: true);
    }

    private void Load()
    {
        foreach (string temp in Directory.EnumerateFiles(_directory, "*" + RecordSuffix + ".tmp"))
        {
            TryDelete(temp);
        }

        var loaded = new List<(DiskEntry Entry, DateTime Written)>();
        foreach (string recordPath in Directory.EnumerateFiles(_directory, "*" + RecordSuffix))
        {
            string basePath = recordPath[..^RecordSuffix.Length];
            DiskEntry? entry = null;
            try
            {
                entry = ParseRecord(basePath, File.ReadAllLines(recordPath));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or OverflowException)
            {
                ReadingLog.DiskRecordDiscarded(_logger, recordPath, ex);
            }

            if (entry is null)
            {
                ReadingLog.DiskRecordDiscarded(_logger, recordPath, null);
                TryDelete(recordPath);
                TryDelete(basePath + DataSuffix);
                continue;
            }

            loaded.Add((entry, File.GetLastWriteTimeUtc(recordPath)));
        }

        // Least recently written first, so the LRU clock carries over from the previous mount.
        loaded.Sort((a, b) => a.Written.CompareTo(b.Written));
        lock (_gate)
        {
            foreach ((DiskEntry entry, _) in loaded)
            {
                if (_entries.TryGetValue(entry.Key.FileId, out DiskEntry? other))
                {
                    DiskEntry stale = other.Key.Version >= entry.Key.Version ? entry : other;
                    DeleteFilesUnsynchronized(stale);
                    if (stale == entry)
                    {
                        continue;
                    }

                    _entries.Remove(other.Key.FileId);
                    _bytesUsed -= other.Ranges.TotalBytes;
                }

                entry.LastAccess = ++_clock;
                _entries.Add(entry.Key.FileId, entry);
                _bytesUsed += entry.Ranges.TotalBytes;
            }

            MakeRoomUnsynchronized(0, keep: null);
            ReadingLog.DiskLoaded(_logger, _entries.Count, _bytesUsed);
        }

        // Data files whose record never got written (a crash before the first flush) hold nothing we can trust.
        foreach (string dataPath in Directory.EnumerateFiles(_directory, "*" + DataSuffix))
        {
            if (!File.Exists(dataPath[..^DataSuffix.Length] + RecordSuffix))
            {
                TryDelete(dataPath);
            }
        }
    }

    private static DiskEntry? ParseRecord(string basePath, string[] lines)
    {
        if (lines.Length < 5 || lines[0] != RecordHeader)
        {
            return null;
        }

        string file = Field(lines[1], "file ");
        long version = long.Parse(Field(lines[2], "version "), CultureInfo.InvariantCulture);
        long size = long.Parse(Field(lines[3], "size "), CultureInfo.InvariantCulture);
        string checksum = Field(lines[4], "sha256 ");
        var key = new ContentKey(new FileId(file), version, size, checksum == "-" ? null : checksum);
        var entry = new DiskEntry(key, basePath);
        for (int i = 5; i < lines.Length; i++)
        {
            string[] parts = Field(lines[i], "range ").Split(' ');
            if (parts.Length != 2)
            {
                return null;
            }

            long start = long.Parse(parts[0], CultureInfo.InvariantCulture);
            long end = long.Parse(parts[1], CultureInfo.InvariantCulture);
            if (start < 0 || end > size || end <= start)
            {
                return null;
            }

            entry.Ranges.Add(start, end);
        }

        var data = new FileInfo(basePath + DataSuffix);
        long needed = entry.Ranges.Ranges.Count == 0 ? 0 : entry.Ranges.Ranges[^1].End;
        return data.Exists && data.Length >= needed ? entry : null;
    }

    private static string Field(string line, string prefix) =>
        line.StartsWith(prefix, StringComparison.Ordinal) ? line[prefix.Length..] : throw new FormatException($"expected '{prefix.Trim()}'");

    // File IDs are opaque; keep readable ones as they are and hash anything that is not a safe file name.
    private static string SafeName(FileId fileId)
    {
        string id = fileId.Value;
        bool safe = id.Length is > 0 and <= 80 && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-');
        return safe ? id : "h" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(id)))[..32];
    }

    private sealed class DiskEntry(ContentKey key, string basePath)
    {
        public ContentKey Key { get; } = key;

        /// <summary>Path without suffix; unique per entry, so a late delete of an old entry never hits a new one.</summary>
        public string BasePath { get; } = basePath;

        public RangeSet Ranges { get; } = new();

        public SafeFileHandle? Handle { get; set; }

        /// <summary>Reads and writes running outside the lock; the files are deleted only when this drops to 0.</summary>
        public int Leases { get; set; }

        public long LastAccess { get; set; }

        /// <summary>Ranges changed since the record was last written.</summary>
        public bool Dirty { get; set; }

        public bool Removed { get; set; }
    }
}
