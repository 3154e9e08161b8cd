namespace ScaiDrive.Vfs.Reading;

internal enum BlockState
{
    Fetching,
    Ready,
    Failed,
}

/// <summary>How a block is being fetched, which decides what a reader does when the fetch fails.</summary>
internal enum BlockOrigin
{
    /// <summary>One retried ranged read for a reader that needs it now: its failure is the reader's failure.</summary>
    Demand,
    /// <summary>Part of a streamed multi-block request (read-ahead, small file): a failure means "fetch on demand instead".</summary>
    Stream,
}

/// <summary>
/// One aligned block of one content version in memory. Every mutable field is guarded by the owning
/// <see cref="ContentReader"/>'s lock, except the buffer's bytes, which belong to the fetch while
/// <see cref="State"/> is <see cref="BlockState.Fetching"/> and are read-only afterwards.
/// </summary>
internal sealed class Block
{
    public Block(MemoryContent owner, long index, long offset, int length, byte[] buffer, BlockOrigin origin)
    {
        Owner = owner;
        Index = index;
        Offset = offset;
        Length = length;
        Buffer = buffer;
        Origin = origin;
    }

    public MemoryContent Owner { get; }

    public long Index { get; }

    /// <summary>Offset of the block's first byte in the file.</summary>
    public long Offset { get; }

    /// <summary>Valid bytes (less than the block size only for the last block of a file).</summary>
    public int Length { get; }

    public BlockOrigin Origin { get; }

    /// <summary>Pool buffer; null once returned (not in the cache, not fetching, no pins).</summary>
    public byte[]? Buffer { get; set; }

    public BlockState State { get; set; } = BlockState.Fetching;

    public Exception? Error { get; set; }

    /// <summary>Readers waiting for or copying out of the buffer, plus a pending disk write. A pinned block is never evicted.</summary>
    public int Pins { get; set; }

    /// <summary>Reachable through <see cref="MemoryContent.Blocks"/> (and, when ready, the LRU list).</summary>
    public bool InCache { get; set; }

    /// <summary>Fetched by read-ahead and not yet read: counts against the read-ahead share of the budget.</summary>
    public bool UnconsumedReadAhead { get; set; }

    /// <summary>Read-ahead of a long sequential run: kept in memory only (<see cref="ContentReaderOptions.SequentialDiskLimitBytes"/>).</summary>
    public bool SkipDisk { get; set; }

    public LinkedListNode<Block>? LruNode { get; set; }

    /// <summary>Completes (never faults) when the fetch ended; <see cref="State"/> says how.</summary>
    public TaskCompletionSource Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public bool IsEvictable => State == BlockState.Ready && Pins == 0;
}

/// <summary>The blocks of one content version held in memory. Guarded by the owning <see cref="ContentReader"/>'s lock.</summary>
internal sealed class MemoryContent(ContentKey key)
{
    public ContentKey Key { get; } = key;

    public Dictionary<long, Block> Blocks { get; } = [];

    /// <summary>Replaced by a newer version or invalidated: nothing new is added, readers look the key up again.</summary>
    public bool Detached { get; set; }
}
