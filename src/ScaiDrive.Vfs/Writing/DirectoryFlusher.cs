namespace ScaiDrive.Vfs.Writing;

/// <summary>
/// Group commit of directory fsyncs. Every close of a new staged file and every journal write needs "the directory
/// entries I just made are durable"; one fsync of a directory covers every entry change made before it started, so
/// callers that arrive while one is running share the next one instead of queueing one each. Under a burst of
/// concurrent closes (parallel tar, a build) this turns N directory flushes into about two.
/// </summary>
internal sealed class DirectoryFlusher
{
    private readonly string _path;
    private readonly Action<string> _fsync;
    private readonly Lock _gate = new();

    // Guarded by _gate. _running: the fsync in progress (it may have started before a caller's change, so callers that
    // arrive now do not count on it). _next: the fsync that starts once _running ends; every caller that arrived
    // while _running ran waits for it.
    private bool _running;
    private TaskCompletionSource? _next;

    internal DirectoryFlusher(string path, Action<string> fsync)
    {
        _path = path;
        _fsync = fsync;
    }

    public DirectoryFlusher(string path)
        : this(path, UploadJournal.FsyncDirectory)
    {
    }

    public string Path => _path;

    /// <summary>Completes once an fsync of the directory that started after this call has finished; throws its error.</summary>
    public Task FlushAsync()
    {
        TaskCompletionSource mine;
        lock (_gate)
        {
            if (_running)
            {
                _next ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                return _next.Task;
            }

            _running = true;
            mine = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        // The fsync blocks: run it on the pool, never on the caller's (possibly FUSE) thread inside a lock.
        _ = Task.Run(() => RunLoop(mine));
        return mine.Task;
    }

    private void RunLoop(TaskCompletionSource batch)
    {
        while (true)
        {
            try
            {
                _fsync(_path);
                batch.TrySetResult();
            }
            catch (Exception ex)
            {
                batch.TrySetException(ex);
            }

            lock (_gate)
            {
                if (_next is null)
                {
                    _running = false;
                    return;
                }

                batch = _next;
                _next = null;
            }
        }
    }
}
