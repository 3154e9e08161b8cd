using System.Globalization;
using System.Text.Json;
using ScaiDrive.Client;

namespace ScaiDrive.Vfs.Writing;

/// <summary>What the <c>.json</c> beside a rescued file says: what it was meant to be and why it is here.</summary>
internal sealed record RecoverySidecar(
    string Key,
    long Generation,
    string ShareId,
    string? FolderId,
    string Name,
    string? ReplaceFileId,
    string? BaseVersionId,
    long Length,
    string? Sha256,
    string ErrorKind,
    string Message,
    DateTimeOffset FailedAt,
    string OriginalStagedPath);

/// <summary>
/// Content whose upload failed permanently goes to <c>&lt;recovery&gt;/&lt;yyyy-MM-dd&gt;/&lt;share&gt;/&lt;folder or _root&gt;/&lt;name&gt;</c>
/// with a sidecar <c>&lt;name&gt;.scaidrive.json</c>. Never overwrites: a second failure of the same name gets " (2)", " (3)" ….
/// The staged file is copied, not moved: it stays the façade's (which may still have it open, or be writing a newer
/// generation into it). The copy and its sidecar are fsync'd before the caller forgets the journal record.
/// </summary>
internal sealed class RecoveryFolder
{
    public const string SidecarSuffix = ".scaidrive.json";

    public RecoveryFolder(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        Directory = Path.GetFullPath(directory);
    }

    public string Directory { get; }

    /// <summary>Rescues the staged content of <paramref name="request"/>; returns where it now is.</summary>
    public async Task<string> RescueAsync(UploadRequest request, ScaiDriveErrorKind kind, string message, string? sha256, DateTimeOffset now, CancellationToken cancellationToken)
    {
        UploadTarget target = request.Target;
        string folder = Path.Combine(
            Directory,
            now.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            SafeSegment(target.ShareId.Value),
            target.FolderId is { } folderId ? SafeSegment(folderId.Value) : "_root");
        System.IO.Directory.CreateDirectory(folder);

        string destination = UniquePath(folder, SafeSegment(target.Name));
        await CopyAsync(request.StagedPath, destination, cancellationToken);

        JournalFsync(destination);

        var sidecar = new RecoverySidecar(
            request.Key.Value,
            request.Generation,
            target.ShareId.Value,
            target.FolderId?.Value,
            target.Name,
            target.ReplaceFileId?.Value,
            target.BaseVersionId?.Value,
            new FileInfo(destination).Length,
            sha256,
            kind.ToString(),
            message,
            now,
            request.StagedPath);
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(sidecar, JournalJsonContext.Default.RecoverySidecar);
        string sidecarPath = destination + SidecarSuffix;
        await File.WriteAllBytesAsync(sidecarPath, json, cancellationToken);
        JournalFsync(sidecarPath);
        UploadJournal.FsyncDirectory(folder);
        return destination;
    }

    private static void JournalFsync(string path) => UploadJournal.FsyncFile(path);

    private static async Task CopyAsync(string source, string destination, CancellationToken cancellationToken)
    {
        await using var input = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16, useAsync: true);
        await using var output = new FileStream(destination, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
        await input.CopyToAsync(output, cancellationToken);
    }

    private static string UniquePath(string folder, string name)
    {
        string candidate = Path.Combine(folder, name);
        for (int n = 2; File.Exists(candidate) || File.Exists(candidate + SidecarSuffix); n++)
        {
            candidate = Path.Combine(folder, string.Create(CultureInfo.InvariantCulture, $"{name} ({n})"));
        }

        return candidate;
    }

    /// <summary>Server names may hold characters a local file name cannot; IDs are safe already but checked all the same.</summary>
    private static string SafeSegment(string name)
    {
        char[] invalid = Path.GetInvalidFileNameChars();
        var chars = name.ToCharArray();
        for (int i = 0; i < chars.Length; i++)
        {
            if (Array.IndexOf(invalid, chars[i]) >= 0 || chars[i] is '/' or '\\')
            {
                chars[i] = '_';
            }
        }

        string safe = new(chars);
        return safe is "" or "." or ".." ? "_" + safe : safe;
    }
}
