using Microsoft.Extensions.Logging;
using ScaiDrive.Client;

namespace ScaiDrive.Vfs.Writing;

// Sessions opened while a new file is still written (EarlyChunkSender): the queue adopts one at close, journals it as
// the generation's session (marked resizable), and its run sets the exact size before resuming it like any other.
internal sealed partial class UploadQueue
{
    /// <summary>
    /// A sender for a new file's staged copy, or null when early sending is off or the server cannot resize sessions.
    /// <paramref name="currentTarget"/> answers where the file would go now (null once unlinked); it is called with no lock held.
    /// </summary>
    public EarlyChunkSender? CreateEarlySender(string stagedPath, Func<UploadTarget?> currentTarget)
    {
        if (!_options.SendWhileWriting || _transport is not IEarlySendTransport early || !early.ResizeMaybeSupported)
        {
            return null;
        }

        return new EarlyChunkSender(early, stagedPath, currentTarget, _options.ChunkSize, _options.SmallUploadThreshold, _logger);
    }

    /// <summary>
    /// Makes the request's early session the session of its generation (journaled with the record about to be written).
    /// A key that already has a session of its own keeps it and the early one is aborted.
    /// </summary>
    private static void AdoptEarlySessionUnsynchronized(Entry entry, UploadRequest request, ref UploadSessionId? toAbort)
    {
        if (request.EarlySession is not { } early)
        {
            return;
        }

        // The queue may have rewritten the target (a new file whose earlier generation landed becomes a replacement).
        if (early.Target != request.Target || (entry.SessionId is not null && entry.SessionGeneration >= request.Generation))
        {
            toAbort = early.Id;
            return;
        }

        entry.SessionId = early.Id;
        entry.SessionGeneration = request.Generation;
        entry.SessionResizable = true;
        entry.EarlyQuiesced = early.Quiesced;
    }

    /// <summary>
    /// Before a run resumes an early session: waits for the sender's last chunk PUTs, then sets the exact size and the
    /// checksum. Null (session aborted, the run makes a new one) when the server refuses — a chunk that no longer fits,
    /// or no PATCH at all; transient errors propagate (the run retries later with the same session).
    /// </summary>
    private async Task<UploadSessionId?> FixEarlySessionAsync(Entry entry, UploadRequest request, UploadSessionId session, string sha, CancellationToken cancellationToken)
    {
        Task? quiesced;
        lock (_gate)
        {
            if (!entry.SessionResizable || entry.SessionId != session)
            {
                return session;
            }

            quiesced = entry.EarlyQuiesced;
        }

        if (quiesced is not null)
        {
            await quiesced.WaitAsync(cancellationToken);
        }

        UploadResizeResult? result = null;
        ScaiDriveApiException? refused = null;
        if (_transport is IEarlySendTransport early && (request.Target.ReplaceFileId is not null || request.Length > _options.SmallUploadThreshold))
        {
            try
            {
                result = await early.ResizeUploadSessionAsync(session, request.Length, sha, cancellationToken);
            }
            catch (ScaiDriveApiException ex) when (ex.Kind is not (ScaiDriveErrorKind.Unavailable or ScaiDriveErrorKind.RateLimited or ScaiDriveErrorKind.Unauthorized))
            {
                refused = ex;
            }
        }

        if (result?.Session is not null)
        {
            lock (_gate)
            {
                if (entry.SessionId == session)
                {
                    entry.SessionResizable = false;
                    entry.EarlyQuiesced = null;
                }
            }

            LogEarlyAdopted(request.Key, session.Value, request.Length);
            return session;
        }

        LogEarlyRefused(request.Key, session.Value, refused?.Message ?? "the server cannot resize sessions");
        lock (_gate)
        {
            if (entry.SessionId == session)
            {
                entry.SessionId = null;
                entry.SessionResizable = false;
                entry.EarlyQuiesced = null;
            }
        }

        await AbortQuietlyAsync(session);
        await WriteRecordAsync(entry, cancellationToken);
        return null;
    }

    [LoggerMessage(EventId = 5160, Level = LogLevel.Debug, Message = "{Key}: early upload session {SessionId} set to {Length} bytes; sending what is missing")]
    private partial void LogEarlyAdopted(StagedFileKey key, string sessionId, long length);

    [LoggerMessage(EventId = 5161, Level = LogLevel.Information, Message = "{Key}: early upload session {SessionId} could not take the final size ({Reason}); starting a new one")]
    private partial void LogEarlyRefused(StagedFileKey key, string sessionId, string reason);
}
