using System.Buffers;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using ScaiDrive.Client;

namespace ScaiDrive.Vfs.Writing;

// Small new files go in one multipart POST, which the server commits as a whole once it has the body. Cancelling the
// request on the client does not undo that: the server may commit just after the client gave up, and the file then
// exists although the queue believes it does not. So a superseded run stops *waiting* for its POST at once, but the
// POST itself is never torn down; its outcome is settled when it is known (see README.md, "Abandoned POSTs").
internal sealed partial class UploadQueue
{
    // Bounds an abandoned POST that never answers (the client's own attempt timeouts normally end it much sooner).
    private static readonly TimeSpan s_postTimeout = TimeSpan.FromMinutes(5);
    private const int MaxRememberedSends = 32;

    private readonly List<SmallPost> _posts = []; // guarded by _gate: POSTs in flight or abandoned and not settled yet

    /// <summary>Sends a small new file; a cancelled caller stops waiting at once, the request itself runs to its end.</summary>
    private async Task<FileItem> PostSmallAsync(Entry entry, Snapshot snapshot, UploadTarget target, StagedFileUploadSource source, string sha, CancellationToken cancellationToken)
    {
        byte[] buffer = await source.ReadAllPooledAsync(cancellationToken);
        if (snapshot.Request.ContentHash is not null)
        {
            // The façade's background hash is a hint, and a multipart POST carries no checksum for the server to catch
            // a stale one: what identifies this POST's file later (invariants 2 and 3) must be the bytes really sent.
            string sent = Convert.ToHexStringLower(SHA256.HashData(buffer.AsSpan(0, (int)source.Length)));
            if (!SameSha(sent, sha))
            {
                sha = sent;
                lock (_gate)
                {
                    entry.AttemptedSha256 = sent;
                    RememberSentUnsynchronized(entry, sent);
                }
            }
        }

        var post = new SmallPost(entry, snapshot, target, sha);
        lock (_gate)
        {
            post.Run = entry.Run;
            _posts.Add(post);
        }

        // Owns the buffer from here: it is returned when the request ends, not when this caller stops waiting.
        post.Request = SendDetachedAsync(target, buffer, (int)source.Length);
        try
        {
            FileItem item = await post.Request.WaitAsync(cancellationToken);
            ForgetPost(post);
            return item;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Task settling = Task.Run(() => SettleAbandonedAsync(post));
            lock (_gate)
            {
                post.Abandoned = true;
                TrackUnsynchronized(settling);
            }

            throw;
        }
        catch
        {
            ForgetPost(post);
            throw;
        }
    }

    private async Task<FileItem> SendDetachedAsync(UploadTarget target, byte[] buffer, int length)
    {
        // Not the run's token: only disposal (crash semantics) or the long timeout may cut the request short.
        using var timeout = new CancellationTokenSource(s_postTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, _disposeCts.Token);
        try
        {
            return await _transport.UploadSmallFileAsync(target.ShareId, target.FolderId, target.Name, buffer.AsMemory(0, length), linked.Token);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void ForgetPost(SmallPost post)
    {
        lock (_gate)
        {
            _posts.Remove(post);
        }
    }

    /// <summary>
    /// The outcome continuation of an abandoned POST: once its answer is known (or, without an answer, once the folder
    /// has been checked for our name with our bytes), a file it created is adopted or trashed, by the key's state now.
    /// </summary>
    private async Task SettleAbandonedAsync(SmallPost post)
    {
        try
        {
            FileItem? created = await OutcomeOfAsync(post);
            if (post.Run is { } run)
            {
                // The run that abandoned the POST leaves Uploading in its finally; until then the entry's state says
                // nothing about what is uploading now, and deciding on it would make the outcome a matter of timing.
                await run.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }

            if (created is not null && !_disposeCts.IsCancellationRequested)
            {
                await OnAbandonedLandedAsync(post, created);
            }
        }
        catch (Exception ex) when (ex is ScaiDriveApiException or OperationCanceledException or HttpRequestException or IOException or TimeoutException)
        {
            LogAbandonedUnsettled(post.Entry.Request.Key, post.Target.Name, ex.Message);
        }
        finally
        {
            lock (_gate)
            {
                _posts.Remove(post);
                post.Settled.TrySetResult();
                SignalChangedUnsynchronized();
            }
        }
    }

    /// <summary>
    /// A probe right after the cancel found (and trashed) the file an abandoned POST created: its outcome is known
    /// without waiting for an answer that may never come.
    /// </summary>
    private void SettleFound(FileItem created)
    {
        lock (_gate)
        {
            foreach (SmallPost post in _posts)
            {
                if (post.Abandoned && SameSha(post.Sha, created.ChecksumSha256) && SameLocation(post.Target, created))
                {
                    post.Created = created.Id;
                    post.Settled.TrySetResult();
                }
            }

            SignalChangedUnsynchronized();
        }
    }

    /// <summary>
    /// For <see cref="CancelAsync"/>: an unlink is complete only once a file its abandoned POSTs created is trashed.
    /// Bounded, since an answer may be lost for good; the settling carries on and unmount still waits for it.
    /// </summary>
    private async Task WaitForAbandonedAsync(Entry entry, CancellationToken cancellationToken)
    {
        SmallPost[] posts;
        lock (_gate)
        {
            posts = [.. _posts.Where(p => p.Entry == entry && p.Abandoned && !p.Settled.Task.IsCompleted)];
        }

        if (posts.Length == 0)
        {
            return;
        }

        foreach (SmallPost post in posts)
        {
            // Whatever the key's POSTs created is unwanted now; what the server has already committed goes at once.
            await TrashIfLandedAsync(post.Target, post.Sha);
        }

        Task[] settling = [.. posts.Select(p => p.Settled.Task)];

        try
        {
            await Task.WhenAll(settling).WaitAsync(s_abortTimeout, _time, cancellationToken);
        }
        catch (TimeoutException)
        {
            LogAbandonedUnsettled(entry.Request.Key, entry.Request.Target.Name, "no answer yet; settling in the background");
        }
    }

    private async Task<FileItem?> OutcomeOfAsync(SmallPost post)
    {
        try
        {
            return await post.Request!;
        }
        catch (ScaiDriveApiException ex) when (!ex.IsTransient)
        {
            // An answer (name taken, folder gone, quota…): nothing was created.
            return null;
        }
        catch (Exception) when (_disposeCts.IsCancellationRequested)
        {
            // Stopping without draining behaves like a crash: nothing is settled.
            return null;
        }
        catch (Exception ex) when (ex is ScaiDriveApiException or OperationCanceledException or HttpRequestException or IOException or TimeoutException)
        {
            // No answer: whether the server committed is unknown, so ask the folder (the client's create probe does the same).
            using var timeout = new CancellationTokenSource(s_abortTimeout, _time);
            FileItem? existing = await FindByNameAsync(post.Target, timeout.Token);
            return existing is not null && SameSha(existing.ChecksumSha256, post.Sha) ? existing : null;
        }
    }

    /// <summary>
    /// An abandoned POST created <paramref name="created"/>. If the key still wants a new file at that place, it is the
    /// key's file: the current generation has landed, or a newer one becomes a new version of it. Anything else (the
    /// key was unlinked, renamed, or already landed elsewhere) makes it a stray, trashed like the local file was.
    /// </summary>
    private async Task OnAbandonedLandedAsync(SmallPost post, FileItem created)
    {
        Entry entry = post.Entry;
        StagedFileKey key = entry.Request.Key;
        bool landCurrent = false, rebased = false, trash = false;
        lock (_gate)
        {
            if (post.Created == created.Id)
            {
                // Found and trashed by the probe right after the cancel.
            }
            else if (KeepsUnsynchronized(key, created.Id))
            {
                // Already adopted (a later run met it as a name conflict and made it its base): nothing to do.
            }
            else if (!entry.Removed && entry.TargetVersion == post.Snapshot.TargetVersion && WantsNewFileAtUnsynchronized(entry, created))
            {
                if (entry.Request.Generation == post.Snapshot.Request.Generation && entry.State != UploadState.Uploading)
                {
                    landCurrent = true;
                }
                else
                {
                    RememberLandedUnsynchronized(key, created);
                    MarkUnreportedUnsynchronized(entry, post.Target, created.Id);
                    entry.Request = ApplyLandedUnsynchronized(entry.Request);
                    rebased = true;
                    SignalChangedUnsynchronized();
                }
            }
            else
            {
                trash = true;
            }
        }

        if (landCurrent)
        {
            await OnLandedAsync(entry, post.Snapshot, created, post.Target);
        }
        else if (rebased)
        {
            LogAbandonedAdopted(key, created.Id);
            await WriteRecordAsync(entry, CancellationToken.None);
        }
        else if (trash)
        {
            LogAbandonedTrashed(key, created.Id, created.Name);
            await DeleteQuietlyAsync(created.Id);
        }
    }

    /// <summary>
    /// A new-file POST of <paramref name="entry"/> met <paramref name="existing"/> under its name. If that file was
    /// created by a POST (of any key) that no key wants at this place any more, it is trashed and the caller retries;
    /// if it was created by an earlier POST of this very key, the caller replaces it. Null: neither, a real clash.
    /// </summary>
    private async Task<bool?> ResolveAbandonedClashAsync(Entry entry, FileItem existing, CancellationToken cancellationToken)
    {
        bool ours = false, stray = false;
        lock (_gate)
        {
            foreach (SmallPost post in _posts)
            {
                if (!SameSha(post.Sha, existing.ChecksumSha256) || !SameLocation(post.Target, existing))
                {
                    continue;
                }

                if (post.Entry == entry || post.Entry.Request.Key == entry.Request.Key)
                {
                    ours = true;
                }
                else if (!KeepsUnsynchronized(post.Entry.Request.Key, existing.Id)
                    && (post.Entry.Removed || post.Entry.TargetVersion != post.Snapshot.TargetVersion || !WantsNewFileAtUnsynchronized(post.Entry, existing)))
                {
                    stray = true;
                }
            }
        }

        if (ours)
        {
            return false;
        }

        if (!stray)
        {
            return null;
        }

        LogAbandonedTrashed(entry.Request.Key, existing.Id, existing.Name);
        cancellationToken.ThrowIfCancellationRequested();
        await DeleteQuietlyAsync(existing.Id);
        return true;
    }

    /// <summary>
    /// The queue made <paramref name="fileId"/> the key's file on its own (an abandoned POST's file, a landed generation
    /// superseded before it was reported) while the façade asked for a new file at <paramref name="askedFor"/>: the
    /// façade does not know that ID, so an unlink or a move of the key must trash it (see CancelAsync, RetargetAsync).
    /// </summary>
    private static void MarkUnreportedUnsynchronized(Entry entry, UploadTarget askedFor, FileId fileId)
    {
        if (askedFor.ReplaceFileId is null || askedFor.ReplaceFileId == entry.UnreportedFileId)
        {
            entry.UnreportedFileId = fileId;
        }
    }

    /// <summary>
    /// Every generation a key sent may have been committed although its run was cancelled (a POST, or a session's
    /// complete call, answered after the cancel), not only the last one: a conflict with any of them is a conflict with
    /// ourselves, to be rebased, never a reason for a conflict copy.
    /// </summary>
    private static void RememberSentUnsynchronized(Entry entry, string sha)
    {
        if (!entry.SentSha256.Contains(sha, StringComparer.OrdinalIgnoreCase))
        {
            if (entry.SentSha256.Count >= MaxRememberedSends)
            {
                entry.SentSha256.RemoveAt(0);
            }

            entry.SentSha256.Add(sha);
        }
    }

    private bool SentEarlier(Entry entry, string? sha)
    {
        lock (_gate)
        {
            return sha is not null && entry.SentSha256.Contains(sha, StringComparer.OrdinalIgnoreCase);
        }
    }

    /// <summary>The key's landed file or the file its pending request replaces is <paramref name="fileId"/>.</summary>
    private bool KeepsUnsynchronized(StagedFileKey key, FileId fileId) =>
        (_landed.TryGetValue(key, out FileItem? landed) && landed.Id == fileId)
        || (_entries.TryGetValue(key, out Entry? current) && !current.Removed && current.Request.Target.ReplaceFileId == fileId);

    private static bool WantsNewFileAtUnsynchronized(Entry entry, FileItem item) =>
        entry.Request.Target.ReplaceFileId is null && SameLocation(entry.Request.Target, item);

    // Names are unique case-insensitively within a folder (§21.9).
    private static bool SameLocation(UploadTarget target, FileItem item) =>
        target.ShareId == item.ShareId && target.FolderId == item.FolderId && string.Equals(target.Name, item.Name, StringComparison.OrdinalIgnoreCase);

    // Event IDs 5190–5199: abandoned POSTs (kept apart from UploadQueue.Log.cs, which others extend).
    [LoggerMessage(EventId = 5190, Level = LogLevel.Information, Message = "{Key}: an abandoned upload created {FileId}; it is now the base of the newer generation")]
    private partial void LogAbandonedAdopted(StagedFileKey key, FileId fileId);

    [LoggerMessage(EventId = 5191, Level = LogLevel.Information, Message = "{Key}: trashing {FileId} ('{Name}'), created by an abandoned upload nobody wants there any more")]
    private partial void LogAbandonedTrashed(StagedFileKey key, FileId fileId, string name);

    [LoggerMessage(EventId = 5192, Level = LogLevel.Warning, Message = "{Key}: could not settle the abandoned upload of '{Name}': {Error}")]
    private partial void LogAbandonedUnsettled(StagedFileKey key, string name, string error);

    /// <summary>One multipart POST of a new file; fields guarded by <c>_gate</c> (Request is set once, before it is shared).</summary>
    private sealed class SmallPost(Entry entry, Snapshot snapshot, UploadTarget target, string sha)
    {
        public Entry Entry { get; } = entry;

        /// <summary>The run that sent it: generation and target version then.</summary>
        public Snapshot Snapshot { get; } = snapshot;

        /// <summary>Where it was sent (may be a conflict-copy name the run chose).</summary>
        public UploadTarget Target { get; } = target;

        public string Sha { get; } = sha;

        public Task<FileItem>? Request { get; set; }

        /// <summary>The run that sent it (settling waits for it to end, so the entry's state is the state after it).</summary>
        public Task? Run { get; set; }

        /// <summary>The run stopped waiting for it; <see cref="SettleAbandonedAsync"/> owns its outcome.</summary>
        public bool Abandoned { get; set; }

        /// <summary>The file it created, when a probe found it before the answer came.</summary>
        public FileId? Created { get; set; }

        /// <summary>Completed when a file it may have created is dealt with (or known not to exist).</summary>
        public TaskCompletionSource Settled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
