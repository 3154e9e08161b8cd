using ScaiDrive.Client;

namespace ScaiDrive.Vfs.Writing;

// One upload attempt of one key, from a free file slot to success, cancellation, retry or permanent failure.
internal sealed partial class UploadQueue
{
    private async Task RunAsync(Entry entry, CancellationTokenSource cts)
    {
        Snapshot? snapshot = null;
        bool haveSlot = false;
        try
        {
            await _fileSlots.WaitAsync(cts.Token);
            haveSlot = true;
            lock (_gate)
            {
                snapshot = new Snapshot(entry.Request, entry.TargetVersion, entry.ResumableSessionUnsynchronized, entry.AttemptedSha256);
                entry.UploadingGeneration = snapshot.Request.Generation;
                entry.UploadingTargetVersion = snapshot.TargetVersion;
            }

            LogUploadStarted(snapshot.Request.Key, snapshot.Request.Generation, snapshot.Request.Length, snapshot.Session?.Value);
            (FileItem item, UploadTarget finalTarget) = await UploadAsync(entry, snapshot, cts.Token);
            await OnLandedAsync(entry, snapshot, item, finalTarget);
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            if (snapshot is not null)
            {
                await OnCancelledAsync(entry, snapshot);
            }
        }
        catch (Exception ex) when (snapshot is not null)
        {
            await OnErrorAsync(entry, snapshot, ex);
        }
        finally
        {
            if (haveSlot)
            {
                _fileSlots.Release();
            }

            lock (_gate)
            {
                if (entry.State == UploadState.Uploading)
                {
                    DateTimeOffset now = _time.GetUtcNow();
                    entry.State = entry.RetryNotBefore > now ? UploadState.RetryWait : UploadState.Waiting;
                    if (entry.Expedite)
                    {
                        entry.DueAt = Min(entry.DueAt, Max(now, entry.RetryNotBefore));
                    }
                }

                entry.UploadCts = null;
                Interlocked.Exchange(ref entry.BytesUploaded, 0);
                SignalChangedUnsynchronized();
            }

            cts.Dispose();
            Schedule(entry);
        }
    }

    /// <summary>
    /// Sends the content and resolves the conflicts that have a safe answer: our own earlier upload (same checksum, or a
    /// version we made) is recognised instead of duplicated; anything else becomes a conflict copy.
    /// </summary>
    private async Task<(FileItem Item, UploadTarget Target)> UploadAsync(Entry entry, Snapshot snapshot, CancellationToken cancellationToken)
    {
        UploadRequest request = snapshot.Request;
        UploadTarget target = request.Target;
        UploadSessionId? session = snapshot.Session;
        using StagedFileUploadSource source = StagedFileUploadSource.Open(request.StagedPath, request.Length);
        string? hinted = await KnownSha256Async(entry, request, source.Length, cancellationToken);
        string sha = hinted ?? await source.ComputeSha256Async(cancellationToken);
        lock (_gate)
        {
            entry.AttemptedSha256 = sha;
            RememberSentUnsynchronized(entry, sha);
        }

        if (session is { } early)
        {
            session = await FixEarlySessionAsync(entry, request, early, sha, cancellationToken);
        }

        string? conflictOf = null;
        int conflictAttempt = 0;
        string conflictBaseName = target.Name;
        for (int step = 0; ; step++)
        {
            try
            {
                FileItem item = await SendAsync(entry, snapshot, request, target, source, sha, session, cancellationToken);
                return (item, target);
            }
            catch (ScaiDriveApiException ex) when (hinted is not null && IsChecksumMismatch(ex))
            {
                // The façade's background hash did not describe the file after all: hash it here, and start a session
                // with the right checksum (the server keeps the one a session was created with).
                hinted = null;
                sha = await source.ComputeSha256Async(cancellationToken);
                UploadSessionId? stale;
                lock (_gate)
                {
                    entry.AttemptedSha256 = sha;
                    RememberSentUnsynchronized(entry, sha);
                    stale = entry.SessionGeneration == request.Generation ? entry.SessionId : null;
                    entry.SessionId = null;
                }

                session = null;
                if (stale is { } staleSession)
                {
                    await AbortQuietlyAsync(staleSession);
                }

                await WriteRecordAsync(entry, cancellationToken);
            }
            catch (ScaiDriveApiException ex) when (session is not null && ex.Kind is ScaiDriveErrorKind.NotFound or ScaiDriveErrorKind.Gone)
            {
                LogSessionRestart(request.Key, session.Value.Value, ex.Kind);
                session = null;
                lock (_gate)
                {
                    entry.SessionId = null;
                }

                await WriteRecordAsync(entry, cancellationToken);
            }
            catch (ScaiDriveApiException ex) when (step < MaxConflictSteps && target.ReplaceFileId is null && ex.Kind == ScaiDriveErrorKind.NameConflict)
            {
                FileItem? existing = await FindByNameAsync(target, cancellationToken);
                if (existing is not null && SameSha(existing.ChecksumSha256, sha))
                {
                    LogAlreadyThere(request.Key, existing.Id);
                    return (existing, target);
                }

                if (existing is null && conflictOf is null)
                {
                    // What held the name is gone already (a stray an abandoned upload left, trashed meanwhile): the
                    // name is free again, so send again under it rather than fork a conflict copy.
                    continue;
                }

                bool? abandoned = existing is null || conflictOf is not null ? null : await ResolveAbandonedClashAsync(entry, existing, cancellationToken);
                if (abandoned == true)
                {
                    // A file an abandoned POST left behind, wanted by nobody: it went to the trash, send again.
                    continue;
                }

                if (existing is not null && conflictOf is null && (abandoned == false || SameSha(existing.ChecksumSha256, snapshot.PreviousSha256) || SentEarlier(entry, existing.ChecksumSha256) || IsOurs(request.Key, existing)))
                {
                    // Our own earlier generation landed (a cancelled upload that the server had already committed).
                    target = target with { ReplaceFileId = existing.Id, BaseVersionId = existing.VersionId };
                }
                else
                {
                    conflictOf ??= ex.Kind.ToString();
                    conflictAttempt++;
                    target = new UploadTarget(target.ShareId, target.FolderId, ConflictNames.Make(conflictBaseName, _time.GetUtcNow(), conflictAttempt), null, null);
                    LogConflictCopy(request.Key, conflictBaseName, target.Name, ex.Kind);
                }

                await AdoptTargetAsync(entry, snapshot, target, conflictOf, cancellationToken);
            }
            catch (ScaiDriveApiException ex) when (step < MaxConflictSteps && target.ReplaceFileId is { } fileId && ex.Kind == ScaiDriveErrorKind.VersionConflict)
            {
                FileItem current = await _transport.GetFileAsync(fileId, cancellationToken);
                if (SameSha(current.ChecksumSha256, sha))
                {
                    LogAlreadyThere(request.Key, current.Id);
                    return (current, target);
                }

                if (SameSha(current.ChecksumSha256, snapshot.PreviousSha256) || SentEarlier(entry, current.ChecksumSha256) || IsOurs(request.Key, current))
                {
                    // The version that moved on is one we made: rebase instead of forking.
                    target = target with { BaseVersionId = current.VersionId };
                }
                else
                {
                    conflictOf ??= ex.Kind.ToString();
                    conflictAttempt++;
                    conflictBaseName = current.Name;
                    target = new UploadTarget(current.ShareId, current.FolderId, ConflictNames.Make(current.Name, _time.GetUtcNow(), conflictAttempt), null, null);
                    LogConflictCopy(request.Key, current.Name, target.Name, ex.Kind);
                }

                await AdoptTargetAsync(entry, snapshot, target, conflictOf, cancellationToken);
            }
        }
    }

    /// <summary>The façade's background hash (see <see cref="SequentialContentHash"/>), trusted on a first attempt only: a retry after any error hashes the file itself.</summary>
    private async ValueTask<string?> KnownSha256Async(Entry entry, UploadRequest request, long length, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (entry.Attempts > 0 || request.ContentHash is null || length != request.Length)
            {
                return null;
            }
        }

        return await request.ContentHash.GetSha256Async(length, cancellationToken);
    }

    private async Task<FileItem> SendAsync(Entry entry, Snapshot snapshot, UploadRequest request, UploadTarget target, StagedFileUploadSource source, string sha, UploadSessionId? session, CancellationToken cancellationToken)
    {
        long length = source.Length;
        if (target.ReplaceFileId is null && length <= _options.SmallUploadThreshold)
        {
            return await PostSmallAsync(entry, snapshot, target, source, sha, cancellationToken);
        }

        var create = new CreateUploadSessionRequest(target.ShareId, target.FolderId, target.Name, length)
        {
            ReplaceFileId = target.ReplaceFileId,
            BaseVersionId = target.BaseVersionId,
            ChecksumSha256 = sha,
            ChunkSize = _options.ChunkSize,
        };
        long generation = request.Generation;
        var options = new ResumableUploadOptions
        {
            Parallelism = _options.ChunkParallelism,
            ExistingSessionId = session,
            OnSessionReady = (ready, token) => OnSessionReadyAsync(entry, generation, ready, token),
        };
        IUploadSource chunks = _options.SendDuringWriteBackDelay && length > _options.SmallUploadThreshold
            ? new CommitWhenDueSource(source, _options.ChunkSize, ct => WaitUntilDueAsync(entry, ct))
            : source;
        return await _transport.UploadResumableAsync(create, chunks, options, new ProgressSink(entry), cancellationToken);
    }

    /// <summary>
    /// Waits until the entry's write-back delay is over (or someone waits for it: fsync, unmount). Any newer
    /// generation, hold, retarget or unlink meanwhile cancels the run instead.
    /// </summary>
    private async ValueTask WaitUntilDueAsync(Entry entry, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task changed;
            TimeSpan wait;
            lock (_gate)
            {
                DateTimeOffset now = _time.GetUtcNow();
                if (entry.Expedite || entry.DueAt <= now)
                {
                    return;
                }

                wait = entry.DueAt - now;
                changed = _changed.Task;
            }

            using var delayCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            await Task.WhenAny(changed, Task.Delay(wait, _time, delayCts.Token));
            await delayCts.CancelAsync();
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    /// <summary>The session ID goes into the journal before any chunk is sent, so a crash can resume instead of resend.</summary>
    private async ValueTask OnSessionReadyAsync(Entry entry, long generation, UploadSession session, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (entry.Request.Generation != generation || (entry.SessionId == session.Id && entry.SessionGeneration == generation))
            {
                return;
            }

            entry.SessionId = session.Id;
            entry.SessionGeneration = generation;
        }

        await WriteRecordAsync(entry, cancellationToken);
    }

    /// <summary>Makes a target the queue chose itself (replace of our own file, conflict copy) durable before using it.</summary>
    private async Task AdoptTargetAsync(Entry entry, Snapshot snapshot, UploadTarget target, string? conflictOf, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (entry.Removed || entry.Request.Generation != snapshot.Request.Generation || entry.TargetVersion != snapshot.TargetVersion)
            {
                throw new OperationCanceledException("superseded while resolving a conflict", cancellationToken);
            }

            if (conflictOf is null && target.ReplaceFileId is { } adopted)
            {
                MarkUnreportedUnsynchronized(entry, entry.Request.Target, adopted);
            }

            entry.Request = entry.Request with { Target = target };
            entry.ConflictOf = conflictOf;
            entry.SessionId = null;
        }

        await WriteRecordAsync(entry, cancellationToken);
    }

    private async Task<FileItem?> FindByNameAsync(UploadTarget target, CancellationToken cancellationToken)
    {
        FolderListing listing = await _transport.ListChildrenAsync(target.ShareId, target.FolderId, cancellationToken);

        // Names are unique case-insensitively within a folder (§21.9).
        return listing.Files.FirstOrDefault(f => !f.IsDeleted && string.Equals(f.Name, target.Name, StringComparison.OrdinalIgnoreCase));
    }

    private bool IsOurs(StagedFileKey key, FileItem item)
    {
        lock (_gate)
        {
            return _landed.TryGetValue(key, out FileItem? landed) && landed.Id == item.Id && landed.VersionId == item.VersionId;
        }
    }

    private static bool IsChecksumMismatch(ScaiDriveApiException ex) =>
        ex.Kind == ScaiDriveErrorKind.InvalidRequest && string.Equals(ex.ErrorCode, "CHECKSUM_MISMATCH", StringComparison.Ordinal);

    private static bool SameSha(string? a, string? b) =>
        a is not null && b is not null && string.Equals(a, b, StringComparison.OrdinalIgnoreCase);

    private async Task OnLandedAsync(Entry entry, Snapshot snapshot, FileItem item, UploadTarget finalTarget)
    {
        UploadRequest request = snapshot.Request;
        bool current = false, deleteLanded = false;
        string? conflictOf = null;
        FileId? stray = null;
        TaskCompletionSource<FileItem?>? completion = null;
        lock (_gate)
        {
            if (entry.Removed)
            {
                // Unlinked while its upload was finishing: what landed must go too (to the trash, so it is not lost);
                // unless the key still keeps that very file (an abandoned POST settled it as the key's file).
                deleteLanded = finalTarget.ReplaceFileId is null && !KeepsUnsynchronized(request.Key, item.Id);
            }
            else if (entry.Request.Generation == request.Generation && entry.TargetVersion == snapshot.TargetVersion)
            {
                current = true;
                RemoveEntryUnsynchronized(entry);
                conflictOf = entry.ConflictOf;
                stray = entry.StrayFileId;
                completion = entry.Completion;
                entry.Attempts = 0;
                _completed++;
                if (conflictOf is null)
                {
                    RememberLandedUnsynchronized(request.Key, item);
                }
            }
            else if (entry.TargetVersion == snapshot.TargetVersion)
            {
                // Same place, newer content: the newer generation becomes a new version of what just landed.
                RememberLandedUnsynchronized(request.Key, item);
                MarkUnreportedUnsynchronized(entry, finalTarget, item.Id);
                entry.Request = ApplyLandedUnsynchronized(entry.Request);
            }
            else if (finalTarget.ReplaceFileId is null)
            {
                // Renamed or moved while the old name was landing: upload to the new target, then delete this one.
                entry.StrayFileId = item.Id;
            }

            SignalChangedUnsynchronized();
        }

        if (deleteLanded)
        {
            await DeleteQuietlyAsync(item.Id);
            return;
        }

        if (!current)
        {
            await WriteRecordAsync(entry, CancellationToken.None);
            return;
        }

        await RemoveRecordAsync(entry, CancellationToken.None);
        if (stray is { } strayId && strayId != item.Id)
        {
            await DeleteQuietlyAsync(strayId);
        }

        if (conflictOf is not null)
        {
            var failure = new UploadFailure(
                request.Target,
                Enum.TryParse(conflictOf, out ScaiDriveErrorKind kind) ? kind : ScaiDriveErrorKind.VersionConflict,
                $"'{request.Target.Name}' changed on the server meanwhile; the local content was uploaded as '{item.Name}'",
                null)
            {
                Disposition = UploadFailureDisposition.ConflictCopied,
                ConflictCopy = item,
                Key = request.Key,
                Generation = request.Generation,
                FailedAt = _time.GetUtcNow(),
            };
            lock (_gate)
            {
                _failures.Add(failure);
            }

            completion?.TrySetException(new UploadFailedException(failure, null));
            RaiseFailed(request.Key, failure);
            return;
        }

        LogUploaded(request.Key, request.Generation, item.Id, item.Version);
        completion?.TrySetResult(item);
        RaiseUploaded(request.Key, request.Generation, item);
    }

    private async Task OnCancelledAsync(Entry entry, Snapshot snapshot)
    {
        if (_disposeCts.IsCancellationRequested)
        {
            // Shutting down without draining: keep the session, the next RecoverAsync resumes it.
            return;
        }

        UploadSessionId? toAbort;
        UploadTarget sentTo;
        string? sentSha;
        bool abandoned;
        lock (_gate)
        {
            toAbort = entry.SessionGeneration == snapshot.Request.Generation ? entry.SessionId : null;
            entry.SessionId = null;
            sentSha = entry.AttemptedSha256;

            // The target this run last sent to (it may have adopted a conflict name) unless the caller moved it since.
            sentTo = entry.TargetVersion == snapshot.TargetVersion ? entry.Request.Target : snapshot.Request.Target;
            abandoned = entry.Removed || entry.TargetVersion != snapshot.TargetVersion;
        }

        if (abandoned && sentTo.ReplaceFileId is null && sentSha is not null)
        {
            // Unlinked or renamed: a new file the server committed under the old name must not stay behind.
            await TrashIfLandedAsync(sentTo, sentSha);
        }

        if (toAbort is { } session)
        {
            await AbortQuietlyAsync(session);
            await WriteRecordAsync(entry, CancellationToken.None);
        }
    }

    private async Task OnErrorAsync(Entry entry, Snapshot snapshot, Exception ex)
    {
        UploadRequest request = snapshot.Request;
        int attempts;
        lock (_gate)
        {
            attempts = entry.Attempts + 1;
        }

        (bool permanent, ScaiDriveErrorKind kind) = Classify(ex, attempts);
        if (ex is StagedContentMissingException missing)
        {
            await FailAsync(entry, snapshot, ScaiDriveErrorKind.Other, missing.Message, ex, contentMissing: true);
            return;
        }

        if (permanent)
        {
            await FailAsync(entry, snapshot, kind, ex.Message, ex, contentMissing: false);
            return;
        }

        TimeSpan delay = Backoff(attempts, (ex as ScaiDriveApiException)?.RetryAfter);
        lock (_gate)
        {
            entry.Attempts = attempts;
            entry.LastError = $"{kind}: {ex.Message}";
            entry.RetryNotBefore = _time.GetUtcNow() + delay;
            entry.DueAt = entry.RetryNotBefore;
            _transientErrors++;
        }

        LogTransientError(request.Key, request.Target.Name, attempts, delay, kind, ex.Message);
    }

    private static (bool Permanent, ScaiDriveErrorKind Kind) Classify(Exception ex, int attempts) => ex switch
    {
        ScaiDriveApiException api when api.IsTransient => (false, api.Kind),

        // UPLOAD_INCOMPLETE: resume and send what is missing. An expired token may be refreshed by the user.
        ScaiDriveApiException api when api.Kind is ScaiDriveErrorKind.Conflict or ScaiDriveErrorKind.Unauthorized => (false, api.Kind),

        // The staged bytes changed under the hash (a second writer): hash and send again, a few times.
        ScaiDriveApiException api when api.Kind == ScaiDriveErrorKind.InvalidRequest
            && string.Equals(api.ErrorCode, "CHECKSUM_MISMATCH", StringComparison.Ordinal) => (attempts >= MaxChecksumRetries, api.Kind),

        ScaiDriveApiException api when api.Kind is ScaiDriveErrorKind.Other or ScaiDriveErrorKind.ContentChanged => (attempts >= MaxUnclassifiedAttempts, api.Kind),

        // Forbidden, NotFound, Gone, PayloadTooLarge, QuotaExceeded, InvalidRequest, and conflicts we could not resolve.
        ScaiDriveApiException api => (true, api.Kind),

        HttpRequestException or TimeoutException => (false, ScaiDriveErrorKind.Unavailable),
        IOException => (attempts >= MaxUnclassifiedAttempts, ScaiDriveErrorKind.Other),
        _ => (attempts >= MaxUnclassifiedAttempts, ScaiDriveErrorKind.Other),
    };

    private TimeSpan Backoff(int attempts, TimeSpan? retryAfter)
    {
        double factor = Math.Pow(2, Math.Min(attempts - 1, 30));
        TimeSpan delay = TimeSpan.FromTicks((long)Math.Min(_options.RetryBaseDelay.Ticks * factor, _options.RetryMaxDelay.Ticks));
        return retryAfter is { } after && after > delay ? after : delay;
    }

    /// <summary>Rescues the content (copy + sidecar, fsync'd), then forgets the record, then tells the façade.</summary>
    private async Task FailAsync(Entry entry, Snapshot snapshot, ScaiDriveErrorKind kind, string message, Exception ex, bool contentMissing)
    {
        UploadRequest request;
        string? sha;
        lock (_gate)
        {
            request = entry.Request.Generation == snapshot.Request.Generation ? entry.Request : snapshot.Request;
            sha = entry.AttemptedSha256;
        }

        string? rescued = null;
        if (!contentMissing)
        {
            try
            {
                rescued = await _recovery.RescueAsync(request, kind, message, sha, _time.GetUtcNow(), CancellationToken.None);
            }
            catch (Exception rescueError) when (rescueError is IOException or UnauthorizedAccessException)
            {
                // Could not rescue: the journal record stays, so the data is not forgotten; try again later.
                LogRescueFailed(request.Key, rescueError);
                lock (_gate)
                {
                    entry.Attempts++;
                    entry.LastError = $"{kind}: {message} (and the recovery copy failed: {rescueError.Message})";
                    entry.RetryNotBefore = _time.GetUtcNow() + _options.RetryMaxDelay;
                    entry.DueAt = entry.RetryNotBefore;
                }

                return;
            }
        }

        var failure = new UploadFailure(request.Target, kind, message, rescued)
        {
            Disposition = contentMissing ? UploadFailureDisposition.ContentMissing : UploadFailureDisposition.MovedToRecovery,
            Key = request.Key,
            Generation = request.Generation,
            FailedAt = _time.GetUtcNow(),
        };

        bool current;
        TaskCompletionSource<FileItem?>? completion = null;
        lock (_gate)
        {
            _failures.Add(failure);
            current = !entry.Removed && entry.Request.Generation == snapshot.Request.Generation && entry.TargetVersion == snapshot.TargetVersion;
            if (current)
            {
                RemoveEntryUnsynchronized(entry);
                completion = entry.Completion;
            }
        }

        LogPermanentFailure(request.Key, request.Target.Name, kind, rescued ?? "(nothing to rescue)", message);
        if (!current)
        {
            // A newer generation or target is already waiting: it gets its own attempt. This one's content is rescued
            // and listed in status, but the façade's node is not failed for it.
            return;
        }

        await RemoveRecordAsync(entry, CancellationToken.None);
        completion?.TrySetException(new UploadFailedException(failure, ex));
        RaiseFailed(request.Key, failure);
    }

    /// <summary>
    /// An unlinked key's cancelled new-file upload may have been committed by the server just before the cancel
    /// arrived; if a file of that name with the content we sent is there, it goes to the trash like the local file did.
    /// </summary>
    private async Task TrashIfLandedAsync(UploadTarget target, string sentSha)
    {
        using var timeout = new CancellationTokenSource(s_abortTimeout, _time);
        try
        {
            FileItem? existing = await FindByNameAsync(target, timeout.Token);
            if (existing is not null && SameSha(existing.ChecksumSha256, sentSha))
            {
                await DeleteQuietlyAsync(existing.Id);
                SettleFound(existing);
            }
        }
        catch (Exception ex) when (ex is ScaiDriveApiException or OperationCanceledException or HttpRequestException or IOException)
        {
            LogStrayDeleteFailed(new FileId("(unknown)"), ex.Message);
        }
    }

    private async Task DeleteQuietlyAsync(FileId fileId)
    {
        using var timeout = new CancellationTokenSource(s_abortTimeout, _time);
        try
        {
            await _transport.DeleteFileAsync(fileId, timeout.Token);
        }
        catch (Exception ex) when (ex is ScaiDriveApiException or OperationCanceledException or HttpRequestException or IOException)
        {
            LogStrayDeleteFailed(fileId, ex.Message);
        }
    }

    /// <summary>What one run works on, taken under the gate when it starts.</summary>
    private sealed record Snapshot(UploadRequest Request, int TargetVersion, UploadSessionId? Session, string? PreviousSha256);
}
