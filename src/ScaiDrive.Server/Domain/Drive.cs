using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.StaticFiles;
using ScaiDrive.Server.Infrastructure;
using ScaiDrive.Server.Storage;
using ScaiDrive.Server.Sync;

namespace ScaiDrive.Server.Domain;

/// <summary>
/// The drive's rules over the metadata database and the blob store: permissions, names, trash, versions,
/// uploads, quotas and the change log. Endpoints parse HTTP and call in here; every mutation is one
/// transaction that also appends its change entries, which are published to live sockets after commit.
/// Split by concern into partial files (Drive.Shares, Drive.Tree, Drive.Files, Drive.Uploads, Drive.Changes, Drive.Links).
/// </summary>
internal sealed partial class Drive : IDisposable
{
    private static readonly FileExtensionContentTypeProvider s_contentTypes = new();

    private readonly Db _db;
    private readonly BlobStore _blobs;
    private readonly ChangeHub _hub;
    private readonly TimeProvider _time;
    private readonly ScaiDriveServerOptions _options;
    private readonly string _uploadRoot;

    public Drive(string dataDirectory, ScaiDriveServerOptions options, ChangeHub hub)
    {
        _options = options;
        _time = options.TimeProvider;
        _hub = hub;
        _blobs = new BlobStore(dataDirectory);
        _uploadRoot = Path.Combine(dataDirectory, "uploads");
        Directory.CreateDirectory(_uploadRoot);
        _db = new Db(Path.Combine(dataDirectory, "metadata.db"));
        _db.Write(db =>
        {
            db.Exec(Schema.Sql);
            TenantId = db.Scalar<string>("SELECT value FROM meta WHERE key='tenant_id'") ?? CreateTenant(db);
            SigningKey = Convert.FromHexString(db.Scalar<string>("SELECT value FROM meta WHERE key='signing_key'")!);
            OwnerUserId = db.Scalar<string>("SELECT value FROM meta WHERE key='owner_user_id'")!;
        });
        SweepStaging();
    }

    public string TenantId { get; private set; } = string.Empty;

    public byte[] SigningKey { get; private set; } = [];

    /// <summary>The default user created on first start; its personal share is "My Files".</summary>
    public string OwnerUserId { get; private set; } = string.Empty;

    public BlobStore Blobs => _blobs;

    public ChangeHub Hub => _hub;

    public long MaxFileSize => _options.MaxFileSizeBytes;

    private string Now() => Time.Format(_time.GetUtcNow());

    private string NewId(string prefix) => Ids.New(prefix, _time);

    private string CreateTenant(Db db)
    {
        string tenantId = NewId("tnt");
        db.Exec("INSERT INTO meta(key, value) VALUES ('tenant_id', $v)", ("$v", tenantId));
        db.Exec("INSERT INTO meta(key, value) VALUES ('signing_key', $v)", ("$v", Convert.ToHexString(RandomNumberGenerator.GetBytes(32))));
        TenantId = tenantId;
        UserRow owner = CreateUserUnsynchronized(db, "owner", "owner@localhost");
        db.Exec("INSERT INTO meta(key, value) VALUES ('owner_user_id', $v)", ("$v", owner.Id));
        return tenantId;
    }

    /// <summary>
    /// Drops the session files of sessions that can no longer complete (finished, aborted, expired or unknown). After a
    /// crash (no clean-shutdown marker), also re-hashes every recorded chunk of the live sessions and forgets those whose
    /// bytes did not reach the disk, so the client's resume sends them again: chunk writes are not fsync'd one by one.
    /// </summary>
    private void SweepStaging()
    {
        HashSet<string> live = _db.Read(db => db.Query(
            "SELECT id FROM uploads WHERE status='active' AND expires_at > $now", r => r.GetString(0), ("$now", Now())).ToHashSet());
        foreach (string dir in Directory.EnumerateDirectories(_uploadRoot))
        {
            if (!live.Contains(Path.GetFileName(dir)))
            {
                Directory.Delete(dir, recursive: true);
            }
        }

        string marker = Path.Combine(_uploadRoot, CleanShutdownMarker);
        if (!File.Exists(marker))
        {
            foreach (string sessionId in live)
            {
                VerifyStagedChunks(sessionId);
            }
        }

        // From now on a crash must be detectable: the marker comes back only with a clean Dispose.
        File.Delete(marker);
    }
    public static string GuessMimeType(string name) =>
        s_contentTypes.TryGetContentType(name, out string? type) ? type : "application/octet-stream";

    /// <summary>Runs a mutation in one transaction, then publishes the change entries it appended.</summary>
    private T Mutate<T>(Func<Db, List<ChangeDto>, T> work)
    {
        var changes = new List<ChangeDto>();
        T result = _db.Write(db => work(db, changes));
        _hub.Publish(changes);
        return result;
    }

    public void Dispose()
    {
        foreach (string sessionId in _staged.Keys)
        {
            RetireStaged(sessionId);
        }

        _db.Dispose();
        try
        {
            // Chunks written so far are in the page cache, which survives a clean stop: no need to verify them at start.
            File.WriteAllBytes(Path.Combine(_uploadRoot, CleanShutdownMarker), []);
        }
        catch (IOException)
        {
            // The next start verifies the staged chunks instead.
        }
    }

    private static JsonElement ToElement(object value) => JsonSerializer.SerializeToElement(value, Json.Options);
}
