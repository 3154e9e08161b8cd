using System.Globalization;
using System.Text;

namespace ScaiDrive.Vfs.State;

/// <summary>Mode and times set through setattr for one version of one file or folder.</summary>
internal readonly record struct OverlayEntry(long Version, uint? Mode, DateTimeOffset? ModifiedAt, DateTimeOffset? AccessedAt);

/// <summary>
/// The server keeps no client mtime or mode (§21.11), yet `rsync -a`, `cp -p`, tar and make need them to stick. They
/// live here, local to the mount, keyed by the server ID and the version they were set on: a new version made
/// elsewhere has other content, so its entry no longer applies and is dropped. Persisted as an append-only log of
/// tab-separated lines in <c>&lt;cache&gt;/state/overlay.log</c> (last line per ID wins), compacted at load.
/// </summary>
internal sealed class MetadataOverlay : IDisposable
{
    private const string FileName = "overlay.log";

    private readonly Lock _gate = new();
    private readonly string _path;

    // Guarded by _gate.
    private readonly Dictionary<string, OverlayEntry> _entries = new(StringComparer.Ordinal);
    private StreamWriter? _log;

    public MetadataOverlay(string stateDirectory)
    {
        Directory.CreateDirectory(stateDirectory);
        _path = Path.Combine(stateDirectory, FileName);
        int lines = 0;
        if (File.Exists(_path))
        {
            foreach (string line in File.ReadLines(_path))
            {
                lines++;
                ApplyLine(line);
            }
        }

        if (lines > 2 * _entries.Count + 64)
        {
            Compact();
        }
    }

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>The entry of <paramref name="id"/> if it was set on <paramref name="version"/>.</summary>
    public bool TryGet(string id, long version, out OverlayEntry entry)
    {
        lock (_gate)
        {
            return _entries.TryGetValue(id, out entry) && entry.Version == version;
        }
    }

    public void Set(string id, OverlayEntry entry)
    {
        lock (_gate)
        {
            if (_entries.TryGetValue(id, out OverlayEntry existing) && existing == entry)
            {
                return;
            }

            _entries[id] = entry;
            AppendUnsynchronized(Format(id, entry));
        }
    }

    public void Remove(string id)
    {
        lock (_gate)
        {
            if (_entries.Remove(id))
            {
                AppendUnsynchronized(id + "\tdel");
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _log?.Dispose();
            _log = null;
        }
    }

    private void AppendUnsynchronized(string line)
    {
        _log ??= new StreamWriter(new FileStream(_path, FileMode.Append, FileAccess.Write, FileShare.Read), new UTF8Encoding(false));
        _log.Write(line);
        _log.Write('\n');
        _log.Flush();
    }

    private void Compact()
    {
        string temp = _path + ".tmp";
        using (var writer = new StreamWriter(temp, append: false, new UTF8Encoding(false)))
        {
            foreach ((string id, OverlayEntry entry) in _entries)
            {
                writer.Write(Format(id, entry));
                writer.Write('\n');
            }
        }

        File.Move(temp, _path, overwrite: true);
    }

    private void ApplyLine(string line)
    {
        string[] parts = line.Split('\t');
        if (parts.Length == 2 && parts[1] == "del")
        {
            _entries.Remove(parts[0]);
            return;
        }

        if (parts.Length != 5 || !long.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out long version))
        {
            return; // A torn last line after a crash.
        }

        _entries[parts[0]] = new OverlayEntry(
            version,
            uint.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out uint mode) ? mode : null,
            ParseTime(parts[3]),
            ParseTime(parts[4]));
    }

    private static string Format(string id, OverlayEntry entry) => string.Join(
        '\t',
        id,
        entry.Version.ToString(CultureInfo.InvariantCulture),
        entry.Mode?.ToString(CultureInfo.InvariantCulture) ?? "-",
        FormatTime(entry.ModifiedAt),
        FormatTime(entry.AccessedAt));

    private static string FormatTime(DateTimeOffset? time) => time?.UtcTicks.ToString(CultureInfo.InvariantCulture) ?? "-";

    private static DateTimeOffset? ParseTime(string text) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long ticks) ? new DateTimeOffset(ticks, TimeSpan.Zero) : null;
}
