namespace ScaiDrive.Vfs.Reading;

/// <summary>
/// The sequential-access detector of one handle: a pure state machine fed with the reads of that handle.
/// It decides how far ahead of the reader the cache should be filled; <see cref="ContentReader"/> turns that into requests.
/// Not thread-safe (its owner, <see cref="ReadState"/>, is guarded by the reader's lock).
/// </summary>
internal struct ReadAheadPolicy
{
    private readonly ReadAheadSettings _settings;
    private bool _started;
    private long _lowWater;      // smallest offset a read may start at and still count as sequential
    private long _highWater;     // end of the furthest sequential read
    private long _nextDoubleAt;  // the window doubles once the reader reaches this offset
    private long _window;        // 0 = no read-ahead (random access)

    public ReadAheadPolicy(ReadAheadSettings settings)
    {
        _settings = settings;
    }

    /// <summary>Current read-ahead window in bytes; 0 while access looks random.</summary>
    public readonly long Window => _window;

    /// <summary>Where read-ahead should have filled the cache up to (exclusive); meaningless while <see cref="Window"/> is 0.</summary>
    public readonly long DesiredEnd => _highWater + _window;

    /// <summary>Feeds one read; returns whether it broke a sequential run (so read-ahead in flight for the old run is useless).</summary>
    public ReadAheadObservation Observe(long offset, long length)
    {
        long end = offset + length;
        if (!_started)
        {
            _started = true;
            // Streams start at 0; a first read elsewhere is a seek (an index lookup, a header at the end).
            if (offset == 0)
            {
                StartRun(end);
                return ReadAheadObservation.Sequential;
            }

            ResetTo(offset, end);
            return ReadAheadObservation.Random;
        }

        // The kernel issues several reads of one stream in parallel, so they may arrive slightly out of order:
        // a read a little behind the furthest one, or a little past it, still belongs to the run.
        bool sequential = offset >= _lowWater && offset <= _highWater + _settings.SeekToleranceBytes;
        if (!sequential)
        {
            bool hadWindow = _window > 0;
            ResetTo(offset, end);
            return hadWindow ? ReadAheadObservation.Reset : ReadAheadObservation.Random;
        }

        if (_window == 0)
        {
            // Second read in a row that follows the previous one: a sequential run begins here.
            StartRun(Math.Max(end, _highWater));
            return ReadAheadObservation.Sequential;
        }

        _highWater = Math.Max(_highWater, end);
        _lowWater = Math.Max(_lowWater, offset - _settings.SeekToleranceBytes);
        while (_highWater >= _nextDoubleAt && _window < _settings.MaxWindowBytes)
        {
            _window = Math.Min(_window * 2, _settings.MaxWindowBytes);
            _nextDoubleAt = _highWater + _window / _settings.DoubleAfterFraction;
        }

        return ReadAheadObservation.Sequential;
    }

    private void StartRun(long end)
    {
        _window = _settings.InitialWindowBytes;
        _highWater = end;
        _lowWater = Math.Max(0, end - _settings.SeekToleranceBytes);
        _nextDoubleAt = end + _window / _settings.DoubleAfterFraction;
    }

    private void ResetTo(long offset, long end)
    {
        _window = 0;
        _highWater = end;
        _lowWater = Math.Max(0, offset - _settings.SeekToleranceBytes);
        _nextDoubleAt = long.MaxValue;
    }
}

internal enum ReadAheadObservation
{
    /// <summary>Part of a sequential run: fill up to <see cref="ReadAheadPolicy.DesiredEnd"/>.</summary>
    Sequential,
    /// <summary>Random access, nothing to cancel.</summary>
    Random,
    /// <summary>A seek ended a sequential run: cancel its read-ahead.</summary>
    Reset,
}

internal readonly record struct ReadAheadSettings(
    long InitialWindowBytes,
    long MaxWindowBytes,
    long SeekToleranceBytes,
    int DoubleAfterFraction);
