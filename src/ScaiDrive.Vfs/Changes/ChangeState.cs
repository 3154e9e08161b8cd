using System.Text.Json;
using ScaiDrive.Client;

namespace ScaiDrive.Vfs.Changes;

/// <summary>
/// What survives a remount of the change follower: this mount's device ID (<c>state/device-id</c>) and the last
/// applied cursor of each share (<c>state/cursors.json</c>). A cursor is written only after its batch was applied,
/// so a crash replays a batch (harmless: applying a change is idempotent) and never skips one.
/// </summary>
internal sealed class ChangeState
{
    private const string DeviceFileName = "device-id";
    private const string CursorFileName = "cursors.json";

    private readonly string _devicePath;
    private readonly string _cursorPath;

    // Guarded by _gate (a leaf lock; file writes happen under it so two savers cannot interleave).
    private readonly Lock _gate = new();
    private readonly Dictionary<string, string> _cursors;

    public ChangeState(string stateDirectory)
    {
        Directory.CreateDirectory(stateDirectory);
        _devicePath = Path.Combine(stateDirectory, DeviceFileName);
        _cursorPath = Path.Combine(stateDirectory, CursorFileName);
        _cursors = Load(_cursorPath);
    }

    /// <summary>The configured ID, else the one kept from an earlier mount, else a new one (kept from now on).</summary>
    public string GetOrCreateDeviceId(string? configured)
    {
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return configured;
        }

        try
        {
            string existing = File.ReadAllText(_devicePath).Trim();
            if (existing.Length > 0)
            {
                return existing;
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }

        string created = "scaidrivefs-" + Guid.NewGuid().ToString("N");
        WriteAtomically(_devicePath, created);
        return created;
    }

    public ChangeCursor? GetCursor(ShareId share)
    {
        lock (_gate)
        {
            return _cursors.TryGetValue(share.Value, out string? value) ? new ChangeCursor(value) : null;
        }
    }

    public void SetCursor(ShareId share, ChangeCursor cursor)
    {
        lock (_gate)
        {
            if (_cursors.TryGetValue(share.Value, out string? current) && current == cursor.Value)
            {
                return;
            }

            _cursors[share.Value] = cursor.Value;
            WriteAtomically(_cursorPath, JsonSerializer.Serialize(_cursors));
        }
    }

    private static Dictionary<string, string> Load(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(path)) ?? new(StringComparer.Ordinal);
        }
        catch (Exception ex) when (ex is IOException or JsonException or UnauthorizedAccessException)
        {
            // No file (first mount) or a torn one: start at the head; what is cached gets rescanned anyway on need.
            return new(StringComparer.Ordinal);
        }
    }

    private static void WriteAtomically(string path, string text)
    {
        string temp = path + ".tmp";
        File.WriteAllText(temp, text);
        File.Move(temp, path, overwrite: true);
    }
}
