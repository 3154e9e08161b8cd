using System.Security.Cryptography;
using ScaiDrive.Client;
using ScaiDrive.Vfs.Writing;
using Xunit;

namespace ScaiDrive.Vfs.Tests.Writing;

/// <summary>
/// An in-memory stand-in for the server side of uploads, behaving like the client + server pair would (sessions,
/// chunks, replace with base version, name conflicts), with hooks to make a call wait or fail. It lets the queue's
/// timing be pinned down exactly; the tests over real HTTP are in UploadQueueServerTests.
/// </summary>
internal sealed class FakeUploadServer : IUploadTransport
{
    private readonly Lock _gate = new();
    private readonly Dictionary<FileId, StoredFile> _files = []; // guarded by _gate
    private readonly Dictionary<UploadSessionId, Session> _sessions = []; // guarded by _gate
    private int _nextId; // guarded by _gate

    public static readonly ShareId Share = new("shr_test");

    public int ChunkSize { get; init; } = 64 * 1024;

    /// <summary>Awaited before each operation ("small", "create", "chunk", "complete", …); may throw or wait.</summary>
    public Func<string, CancellationToken, Task>? Hook { get; set; }

    public int SmallUploads;
    public int ResumableUploads;
    public int ChunksSent;
    public int SessionsCreated;
    public int Aborts;
    public readonly List<CreateUploadSessionRequest> CreateRequests = [];

    public sealed record StoredFile(FileId Id, FolderId? FolderId, string Name, byte[] Content, long Version, VersionId VersionId, bool IsDeleted);

    private sealed record Session(UploadSessionId Id, CreateUploadSessionRequest Request, byte[] Data, HashSet<int> Received, int TotalChunks);

    public IReadOnlyList<StoredFile> Files
    {
        get
        {
            lock (_gate)
            {
                return [.. _files.Values];
            }
        }
    }

    public int SessionCount
    {
        get
        {
            lock (_gate)
            {
                return _sessions.Count;
            }
        }
    }

    public StoredFile? FindByName(string name, FolderId? folder = null)
    {
        lock (_gate)
        {
            return _files.Values.FirstOrDefault(f => !f.IsDeleted && f.FolderId == folder && f.Name == name);
        }
    }

    public FileItem Seed(string name, byte[] content, FolderId? folder = null)
    {
        lock (_gate)
        {
            return ToItem(AddFileUnsynchronized(folder, name, content));
        }
    }

    /// <summary>Another client writes a new version (so our base version goes stale).</summary>
    public FileItem ChangeElsewhere(FileId id, byte[] content)
    {
        lock (_gate)
        {
            StoredFile file = _files[id];
            var next = file with { Content = content, Version = file.Version + 1, VersionId = new VersionId($"ver_{++_nextId}") };
            _files[id] = next;
            return ToItem(next);
        }
    }

    public async Task<FileItem> UploadSmallFileAsync(ShareId shareId, FolderId? folderId, string name, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref SmallUploads);
        await RunHook("small", cancellationToken);
        FileItem item;
        lock (_gate)
        {
            ThrowIfNameTaken(folderId, name);
            item = ToItem(AddFileUnsynchronized(folderId, name, content.ToArray()));
        }

        // Committed: a fault here is a lost answer.
        await RunHook("small-committed", cancellationToken);
        return item;
    }

    public async Task<FileItem> UploadResumableAsync(CreateUploadSessionRequest request, IUploadSource source, ResumableUploadOptions options, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref ResumableUploads);
        Session session;
        if (options.ExistingSessionId is { } existing)
        {
            await RunHook("resume", cancellationToken);
            lock (_gate)
            {
                session = _sessions.TryGetValue(existing, out Session? found)
                    ? found
                    : throw new ScaiDriveApiException(ScaiDriveErrorKind.NotFound, "no such upload session");
            }
        }
        else
        {
            await RunHook("create", cancellationToken);
            lock (_gate)
            {
                CreateRequests.Add(request);
                if (request.ReplaceFileId is { } replace)
                {
                    StoredFile file = _files.TryGetValue(replace, out StoredFile? f) && !f.IsDeleted
                        ? f
                        : throw new ScaiDriveApiException(ScaiDriveErrorKind.NotFound, "file not found");
                    if (request.BaseVersionId is { } baseVersion && baseVersion != file.VersionId)
                    {
                        throw new ScaiDriveApiException(ScaiDriveErrorKind.VersionConflict, "stale base version", errorCode: "SYNC_CONFLICT");
                    }
                }

                int total = (int)((request.FileSize + ChunkSize - 1) / ChunkSize);
                session = new Session(new UploadSessionId($"ups_{++_nextId}"), request, new byte[request.FileSize], [], total);
                _sessions.Add(session.Id, session);
                SessionsCreated++;
            }
        }

        if (options.OnSessionReady is { } ready)
        {
            await ready(ToUploadSession(session), cancellationToken);
        }

        byte[] buffer = new byte[ChunkSize];
        for (int i = 0; i < session.TotalChunks; i++)
        {
            lock (_gate)
            {
                if (session.Received.Contains(i))
                {
                    continue;
                }
            }

            await RunHook("chunk", cancellationToken);
            long offset = (long)i * ChunkSize;
            int size = (int)Math.Min(ChunkSize, session.Request.FileSize - offset);
            int read = await source.ReadAtAsync(offset, buffer.AsMemory(0, size), cancellationToken);
            Assert.Equal(size, read);
            lock (_gate)
            {
                buffer.AsSpan(0, size).CopyTo(session.Data.AsSpan((int)offset));
                session.Received.Add(i);
                ChunksSent++;
                progress?.Report(session.Received.Count * (long)ChunkSize);
            }
        }

        await RunHook("complete", cancellationToken);
        lock (_gate)
        {
            if (request.ChecksumSha256 is { } expected && !string.Equals(expected, Sha(session.Data), StringComparison.OrdinalIgnoreCase))
            {
                throw new ScaiDriveApiException(ScaiDriveErrorKind.InvalidRequest, "checksum mismatch", errorCode: "CHECKSUM_MISMATCH");
            }

            _sessions.Remove(session.Id);
            if (session.Request.ReplaceFileId is { } replace)
            {
                StoredFile file = _files[replace];
                if (session.Request.BaseVersionId is { } baseVersion && baseVersion != file.VersionId)
                {
                    throw new ScaiDriveApiException(ScaiDriveErrorKind.VersionConflict, "stale base version", errorCode: "SYNC_CONFLICT");
                }

                var next = file with { Content = session.Data, Version = file.Version + 1, VersionId = new VersionId($"ver_{++_nextId}") };
                _files[replace] = next;
                return ToItem(next);
            }

            ThrowIfNameTaken(session.Request.FolderId, session.Request.FileName);
            return ToItem(AddFileUnsynchronized(session.Request.FolderId, session.Request.FileName, session.Data));
        }
    }

    public async Task AbortUploadAsync(UploadSessionId sessionId, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref Aborts);
        await RunHook("abort", cancellationToken);
        lock (_gate)
        {
            _sessions.Remove(sessionId);
        }
    }

    public async Task<FileItem> GetFileAsync(FileId fileId, CancellationToken cancellationToken)
    {
        await RunHook("get", cancellationToken);
        lock (_gate)
        {
            return _files.TryGetValue(fileId, out StoredFile? file)
                ? ToItem(file)
                : throw new ScaiDriveApiException(ScaiDriveErrorKind.NotFound, "file not found");
        }
    }

    public async Task<FolderListing> ListChildrenAsync(ShareId shareId, FolderId? folderId, CancellationToken cancellationToken)
    {
        await RunHook("list", cancellationToken);
        lock (_gate)
        {
            return new FolderListing(null, [], [.. _files.Values.Where(f => f.FolderId == folderId && !f.IsDeleted).Select(ToItem)]);
        }
    }

    public async Task<FileItem> MoveFileAsync(FileId fileId, FolderId? targetFolderId, ShareId? targetShareId, string? newName, CancellationToken cancellationToken)
    {
        await RunHook("move", cancellationToken);
        lock (_gate)
        {
            StoredFile file = _files[fileId];
            var moved = file with { FolderId = targetFolderId, Name = newName ?? file.Name };
            _files[fileId] = moved;
            return ToItem(moved);
        }
    }

    public async Task DeleteFileAsync(FileId fileId, CancellationToken cancellationToken)
    {
        await RunHook("delete", cancellationToken);
        lock (_gate)
        {
            _files[fileId] = _files[fileId] with { IsDeleted = true };
        }
    }

    public static string Sha(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));

    private Task RunHook(string operation, CancellationToken cancellationToken) =>
        Hook?.Invoke(operation, cancellationToken) ?? Task.CompletedTask;

    private void ThrowIfNameTaken(FolderId? folderId, string name)
    {
        if (_files.Values.Any(f => !f.IsDeleted && f.FolderId == folderId && string.Equals(f.Name, name, StringComparison.OrdinalIgnoreCase)))
        {
            throw new ScaiDriveApiException(ScaiDriveErrorKind.NameConflict, "name taken", errorCode: "NAME_CONFLICT");
        }
    }

    private StoredFile AddFileUnsynchronized(FolderId? folderId, string name, byte[] content)
    {
        var file = new StoredFile(new FileId($"fil_{++_nextId}"), folderId, name, content, 1, new VersionId($"ver_{++_nextId}"), false);
        _files.Add(file.Id, file);
        return file;
    }

    private static FileItem ToItem(StoredFile f) => new(
        f.Id, Share, f.FolderId, f.Name, null, null, f.Content.Length, Sha(f.Content), f.Version, f.VersionId,
        DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, f.IsDeleted);

    private UploadSession ToUploadSession(Session s)
    {
        lock (_gate)
        {
            int[] received = [.. s.Received.Order()];
            int[] missing = [.. Enumerable.Range(0, s.TotalChunks).Except(received)];
            return new UploadSession(s.Id, s.Request.ShareId, s.Request.FolderId, s.Request.FileName, s.Request.FileSize, ChunkSize, s.TotalChunks,
                DateTimeOffset.UnixEpoch.AddDays(1), "active", received, missing, [], received.Length * (long)ChunkSize, s.Request.ReplaceFileId);
        }
    }
}
