using System.Buffers;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using ScaiDrive.Client.Wire;

namespace ScaiDrive.Client;

public sealed partial class ScaiDriveClient
{
    private static readonly MediaTypeHeaderValue s_octetStream = new("application/octet-stream");

    /// <summary>
    /// POST /uploads. Retried even after a lost answer: a duplicate session costs nothing (it is never completed
    /// and expires after 24 h of inactivity), unlike a duplicate file.
    /// </summary>
    public Task<UploadSession> CreateUploadSessionAsync(CreateUploadSessionRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var body = new CreateUploadDto
        {
            ShareId = request.ShareId.Value,
            FolderId = request.FolderId?.Value,
            FileName = request.FileName,
            FileSize = request.FileSize,
            ChunkSize = request.ChunkSize,
            MimeType = request.MimeType,
            ChecksumSha256 = request.ChecksumSha256,
            ReplaceFileId = request.ReplaceFileId?.Value,
            BaseVersionId = request.BaseVersionId?.Value,
            ChunkHashes = request.ChunkHashes,
        };
        return RunAsync(_pipelines.Create, async ct =>
            (await SendJsonAsync(HttpMethod.Post, "api/v1/uploads", body, WireJsonContext.Default.CreateUploadDto, WireJsonContext.Default.UploadSessionDto, ct)
                .ConfigureAwait(false)).ToModel(), cancellationToken);
    }

    /// <summary>PUTs one chunk with its SHA-256 in <c>X-Chunk-SHA256</c>. Idempotent, so retried.</summary>
    public Task<ChunkReceipt> PutChunkAsync(UploadSessionId sessionId, int index, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) =>
        PutChunkAsync(sessionId, index, data, sha256: null, cancellationToken);

    private Task<ChunkReceipt> PutChunkAsync(UploadSessionId sessionId, int index, ReadOnlyMemory<byte> data, string? sha256, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        sha256 ??= Hex(SHA256.HashData(data.Span));
        Uri url = Url($"api/v1/uploads/{Esc(sessionId.Value)}/chunks/{index}");
        return RunAsync(_pipelines.Transfer, async ct =>
        {
            using var response = await SendAsync(() =>
            {
                var content = new ReadOnlyMemoryContent(data);
                content.Headers.ContentType = s_octetStream;
                var request = new HttpRequestMessage(HttpMethod.Put, url) { Content = content };
                request.Headers.Add("X-Chunk-SHA256", sha256);
                return request;
            }, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
            var dto = await ReadJsonAsync(response, WireJsonContext.Default.ChunkReceiptDto, ct).ConfigureAwait(false);
            return new ChunkReceipt(dto.Index ?? index, dto.Size ?? data.Length, dto.Sha256 ?? sha256, dto.ReceivedChunksCount ?? 0);
        }, cancellationToken);
    }

    public async Task<UploadSession> GetUploadSessionAsync(UploadSessionId sessionId, CancellationToken cancellationToken = default) =>
        (await GetJsonAsync($"api/v1/uploads/{Esc(sessionId.Value)}", WireJsonContext.Default.UploadSessionDto, cancellationToken).ConfigureAwait(false)).ToModel();

    /// <summary>
    /// Finalizes a session into a file. After a lost answer it first asks the session whether it already completed
    /// (and into which file) instead of finalizing twice.
    /// </summary>
    public Task<FileItem> CompleteUploadAsync(UploadSessionId sessionId, CancellationToken cancellationToken = default)
    {
        string relative = $"api/v1/uploads/{Esc(sessionId.Value)}";
        return RunCreateAsync(
            "upload completion",
            async ct =>
            {
                using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Post, Url(relative + "/complete")), HttpCompletionOption.ResponseHeadersRead, ct)
                    .ConfigureAwait(false);
                return (await ReadJsonAsync(response, WireJsonContext.Default.ItemDto, ct).ConfigureAwait(false)).ToFile();
            },
            async ct =>
            {
                UploadSessionDto dto;
                try
                {
                    using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Get, Url(relative)), HttpCompletionOption.ResponseHeadersRead, ct)
                        .ConfigureAwait(false);
                    dto = await ReadJsonAsync(response, WireJsonContext.Default.UploadSessionDto, ct).ConfigureAwait(false);
                }
                catch (ScaiDriveApiException ex) when (ex.Kind is ScaiDriveErrorKind.NotFound or ScaiDriveErrorKind.Gone)
                {
                    // Cannot tell; completing again lets the server say what happened.
                    return null;
                }

                return string.Equals(dto.Status, "completed", StringComparison.OrdinalIgnoreCase) && dto.FileId is { } fileId
                    ? await GetFileAsync(new FileId(fileId), ct).ConfigureAwait(false)
                    : null;
            },
            cancellationToken);
    }

    public Task AbortUploadAsync(UploadSessionId sessionId, CancellationToken cancellationToken = default) =>
        DeleteByIdAsync($"api/v1/uploads/{Esc(sessionId.Value)}", cancellationToken);

    /// <summary>
    /// Whole resumable upload: creates (or resumes) a session, sends the missing chunks in parallel with checksums, completes.
    /// <paramref name="progress"/> receives bytes confirmed by the server so far.
    /// </summary>
    /// <remarks>
    /// Chunks go out <see cref="ResumableUploadOptions.Parallelism"/> at a time, each from a pooled buffer of one chunk,
    /// so memory is bounded by parallelism × chunk size whatever the file size. A resumed session sends only the
    /// chunks the server reports missing; a session that is gone, or that was made for a different length, is
    /// replaced by a new one (and <see cref="ResumableUploadOptions.OnSessionReady"/> is told).
    /// </remarks>
    public async Task<FileItem> UploadResumableAsync(CreateUploadSessionRequest request, IUploadSource source, ResumableUploadOptions? options = null, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(source);
        options ??= new ResumableUploadOptions();
        if (request.FileSize != source.Length)
        {
            throw new ArgumentException($"The request says {request.FileSize} bytes but the source has {source.Length}.", nameof(request));
        }

        UploadSession? session = null;
        if (options.ExistingSessionId is { } existing)
        {
            session = await TryResumeAsync(existing, source.Length, cancellationToken).ConfigureAwait(false);
        }

        string[]? chunkHashes = null;
        if (session is null)
        {
            bool hint = options.SendChunkHashes ?? request.ReplaceFileId is not null;
            if (hint && request.ChunkHashes is null)
            {
                var (hashes, whole) = await HashChunksAsync(source, request.ChunkSize, cancellationToken).ConfigureAwait(false);
                chunkHashes = hashes;
                request = request with { ChunkHashes = hashes, ChecksumSha256 = request.ChecksumSha256 ?? whole };
            }

            session = await CreateUploadSessionAsync(request, cancellationToken).ConfigureAwait(false);
        }

        if (options.OnSessionReady is { } onReady)
        {
            await onReady(session, cancellationToken).ConfigureAwait(false);
        }

        await SendMissingChunksAsync(session, source, chunkHashes, options, progress, cancellationToken).ConfigureAwait(false);
        try
        {
            return await CompleteUploadAsync(session.Id, cancellationToken).ConfigureAwait(false);
        }
        catch (ScaiDriveApiException ex) when (ex.Kind == ScaiDriveErrorKind.Conflict && ex.ErrorCode == "UPLOAD_INCOMPLETE")
        {
            // A chunk the server acknowledged did not stick (or the session was touched by someone else): fill in once more.
            session = await GetUploadSessionAsync(session.Id, cancellationToken).ConfigureAwait(false);
            await SendMissingChunksAsync(session, source, chunkHashes, options, progress, cancellationToken).ConfigureAwait(false);
            return await CompleteUploadAsync(session.Id, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<UploadSession?> TryResumeAsync(UploadSessionId sessionId, long length, CancellationToken cancellationToken)
    {
        UploadSession session;
        try
        {
            session = await GetUploadSessionAsync(sessionId, cancellationToken).ConfigureAwait(false);
        }
        catch (ScaiDriveApiException ex) when (ex.Kind is ScaiDriveErrorKind.NotFound or ScaiDriveErrorKind.Gone)
        {
            Log.UploadSessionGone(_logger, sessionId.Value);
            return null;
        }

        if (session.FileSize != length)
        {
            // The local content changed length since the session was made: its chunks are of no use.
            Log.UploadSessionGone(_logger, sessionId.Value);
            try
            {
                await AbortUploadAsync(sessionId, cancellationToken).ConfigureAwait(false);
            }
            catch (ScaiDriveApiException)
            {
                // Best effort: an abandoned session expires on its own.
            }

            return null;
        }

        return session;
    }

    private async Task SendMissingChunksAsync(
        UploadSession session, IUploadSource source, string[]? chunkHashes, ResumableUploadOptions options, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        var skip = new HashSet<int>(session.ExistingChunks);
        int[] toSend = session.MissingChunks.Where(i => !skip.Contains(i)).Distinct().Order().ToArray();
        int chunkSize = session.ChunkSize;
        long length = source.Length;
        long ChunkLength(int index) => Math.Min(chunkSize, length - ((long)index * chunkSize));

        long confirmed = length - toSend.Sum(i => ChunkLength(i));
        progress?.Report(confirmed);
        Log.UploadSessionReady(_logger, session.Id.Value, toSend.Length, session.TotalChunks);
        if (toSend.Length == 0)
        {
            return;
        }

        var parallel = new ParallelOptions
        {
            MaxDegreeOfParallelism = Math.Clamp(options.Parallelism, 1, 16),
            CancellationToken = cancellationToken,
        };
        await Parallel.ForEachAsync(toSend, parallel, async (index, ct) =>
        {
            int size = (int)ChunkLength(index);
            byte[] buffer = ArrayPool<byte>.Shared.Rent(size);
            try
            {
                await ReadExactlyAsync(source, (long)index * chunkSize, buffer.AsMemory(0, size), ct).ConfigureAwait(false);
                string? hash = chunkHashes is not null && index < chunkHashes.Length ? chunkHashes[index] : null;
                await PutChunkAsync(session.Id, index, buffer.AsMemory(0, size), hash, ct).ConfigureAwait(false);
                long now = Interlocked.Add(ref confirmed, size);
                progress?.Report(now);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }).ConfigureAwait(false);
    }

    /// <summary>One sequential pass: per-chunk SHA-256 (dedup hints) and the whole file's SHA-256.</summary>
    private static async Task<(string[] Chunks, string Whole)> HashChunksAsync(IUploadSource source, int chunkSize, CancellationToken cancellationToken)
    {
        long length = source.Length;
        int count = (int)((length + chunkSize - 1) / chunkSize);
        var hashes = new string[count];
        using var whole = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(chunkSize);
        try
        {
            for (int i = 0; i < count; i++)
            {
                int size = (int)Math.Min(chunkSize, length - ((long)i * chunkSize));
                await ReadExactlyAsync(source, (long)i * chunkSize, buffer.AsMemory(0, size), cancellationToken).ConfigureAwait(false);
                hashes[i] = Hex(SHA256.HashData(buffer.AsSpan(0, size)));
                whole.AppendData(buffer, 0, size);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return (hashes, Hex(whole.GetHashAndReset()));
    }

    private static async ValueTask ReadExactlyAsync(IUploadSource source, long offset, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        int filled = 0;
        while (filled < buffer.Length)
        {
            int n = await source.ReadAtAsync(offset + filled, buffer[filled..], cancellationToken).ConfigureAwait(false);
            if (n <= 0)
            {
                throw new IOException($"The upload source ended at {offset + filled}, before its stated length {source.Length}.");
            }

            filled += n;
        }
    }
}
