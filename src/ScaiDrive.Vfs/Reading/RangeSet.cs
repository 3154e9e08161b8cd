using System.Diagnostics;

namespace ScaiDrive.Vfs.Reading;

/// <summary>A set of half-open byte ranges [start, end), kept sorted, disjoint and coalesced. Not thread-safe.</summary>
internal sealed class RangeSet
{
    // Invariant: sorted by Start; for neighbours a, b: a.End < b.Start (touching ranges are merged).
    private readonly List<ByteRange> _ranges = [];

    public IReadOnlyList<ByteRange> Ranges => _ranges;

    /// <summary>Sum of the lengths of all ranges.</summary>
    public long TotalBytes { get; private set; }

    public void Add(long start, long end)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        if (end <= start)
        {
            return;
        }

        // First range that could touch [start, end): the first whose End >= start.
        int first = LowerBoundByEnd(start);
        int last = first;
        long newStart = start;
        long newEnd = end;
        long removed = 0;
        while (last < _ranges.Count && _ranges[last].Start <= end)
        {
            newStart = Math.Min(newStart, _ranges[last].Start);
            newEnd = Math.Max(newEnd, _ranges[last].End);
            removed += _ranges[last].Length;
            last++;
        }

        _ranges.RemoveRange(first, last - first);
        _ranges.Insert(first, new ByteRange(newStart, newEnd));
        TotalBytes += newEnd - newStart - removed;
        AssertInvariant();
    }

    public void Remove(long start, long end)
    {
        if (end <= start)
        {
            return;
        }

        int i = LowerBoundByEnd(start + 1);
        while (i < _ranges.Count && _ranges[i].Start < end)
        {
            ByteRange r = _ranges[i];
            _ranges.RemoveAt(i);
            TotalBytes -= r.Length;
            if (r.Start < start)
            {
                _ranges.Insert(i++, new ByteRange(r.Start, start));
                TotalBytes += start - r.Start;
            }

            if (r.End > end)
            {
                _ranges.Insert(i++, new ByteRange(end, r.End));
                TotalBytes += r.End - end;
            }
        }

        AssertInvariant();
    }

    /// <summary>True when every byte of [start, end) is present (an empty range is always contained).</summary>
    public bool Contains(long start, long end)
    {
        if (end <= start)
        {
            return true;
        }

        int i = LowerBoundByEnd(start + 1);
        return i < _ranges.Count && _ranges[i].Start <= start && _ranges[i].End >= end;
    }

    /// <summary>Bytes of [start, end) that are not yet present.</summary>
    public long MissingBytes(long start, long end)
    {
        if (end <= start)
        {
            return 0;
        }

        long present = 0;
        for (int i = LowerBoundByEnd(start + 1); i < _ranges.Count && _ranges[i].Start < end; i++)
        {
            present += Math.Min(end, _ranges[i].End) - Math.Max(start, _ranges[i].Start);
        }

        return end - start - present;
    }

    public void Clear()
    {
        _ranges.Clear();
        TotalBytes = 0;
    }

    // Index of the first range whose End >= value (binary search; ranges are sorted by both Start and End).
    private int LowerBoundByEnd(long value)
    {
        int lo = 0;
        int hi = _ranges.Count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (_ranges[mid].End < value)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    [Conditional("DEBUG")]
    private void AssertInvariant()
    {
        long total = 0;
        for (int i = 0; i < _ranges.Count; i++)
        {
            Debug.Assert(_ranges[i].Start < _ranges[i].End);
            Debug.Assert(i == 0 || _ranges[i - 1].End < _ranges[i].Start);
            total += _ranges[i].Length;
        }

        Debug.Assert(total == TotalBytes);
    }
}

internal readonly record struct ByteRange(long Start, long End)
{
    public long Length => End - Start;
}
