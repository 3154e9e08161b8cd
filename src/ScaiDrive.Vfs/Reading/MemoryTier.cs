using System.Diagnostics;
using ScaiDrive.Client;

namespace ScaiDrive.Vfs.Reading;

/// <summary>
/// The memory tier: blocks by content, an LRU list of ready blocks, and the pool that bounds them all.
/// Not thread-safe: every member is called under the owning <see cref="ContentReader"/>'s lock.
/// </summary>
internal sealed class MemoryTier
{
    private readonly BlockPool _pool;
    private readonly Dictionary<FileId, MemoryContent> _contents = [];

    // Ready blocks in the cache, least recently used first. Pinned ones stay listed and are skipped by eviction.
    private readonly LinkedList<Block> _lru = new();

    public MemoryTier(BlockPool pool)
    {
        _pool = pool;
    }

    public BlockPool Pool => _pool;

    /// <summary>Blocks fetched by read-ahead that no reader has touched yet (fetching or ready).</summary>
    public int UnconsumedReadAhead { get; private set; }

    /// <summary>
    /// The content entry for <paramref name="key"/>, replacing the entry of an older (or differing) version of the file.
    /// Null when a newer version than <paramref name="key"/> is cached: such reads bypass the cache.
    /// </summary>
    public MemoryContent? GetOrCreate(ContentKey key)
    {
        if (_contents.TryGetValue(key.FileId, out MemoryContent? content))
        {
            if (content.Key == key)
            {
                return content;
            }

            if (key.Version < content.Key.Version)
            {
                return null;
            }

            Detach(content);
        }

        content = new MemoryContent(key);
        _contents.Add(key.FileId, content);
        return content;
    }

    public void Invalidate(FileId fileId)
    {
        if (_contents.TryGetValue(fileId, out MemoryContent? content))
        {
            Detach(content);
        }
    }

    public Block AddBlock(MemoryContent content, long index, byte[] buffer, BlockOrigin origin, bool readAhead)
    {
        Debug.Assert(!content.Detached && !content.Blocks.ContainsKey(index));
        long offset = index * _pool.BlockSize;
        int length = (int)Math.Min(_pool.BlockSize, content.Key.Size - offset);
        var block = new Block(content, index, offset, length, buffer, origin) { InCache = true, UnconsumedReadAhead = readAhead };
        content.Blocks.Add(index, block);
        if (readAhead)
        {
            UnconsumedReadAhead++;
        }

        return block;
    }

    public void MarkReady(Block block)
    {
        block.State = BlockState.Ready;
        if (block.InCache)
        {
            block.LruNode = _lru.AddLast(block);
        }
        else
        {
            ReleaseIfUnused(block);
        }
    }

    public void MarkFailed(Block block, Exception error)
    {
        block.State = BlockState.Failed;
        block.Error = error;
        Remove(block);
    }

    /// <summary>A reader is using the block: it moves to the recent end and stops counting as read-ahead.</summary>
    public void Touch(Block block)
    {
        if (block.UnconsumedReadAhead)
        {
            block.UnconsumedReadAhead = false;
            UnconsumedReadAhead--;
        }

        if (block.LruNode is { } node)
        {
            _lru.Remove(node);
            _lru.AddLast(node);
        }
    }

    public void Unpin(Block block)
    {
        Debug.Assert(block.Pins > 0);
        block.Pins--;
        ReleaseIfUnused(block);
    }

    /// <summary>
    /// A buffer for a new block: a free one; else one taken from the least recently used block that has been read;
    /// else a new one while the pool may grow; else (demand only, <paramref name="spareReadAhead"/> false) one taken
    /// from read-ahead nobody has read yet. Recycling before growing keeps the resident set near what is in use
    /// (one stream needs its window, not the whole budget) and avoids first-touch page faults, which cost more than
    /// the copy itself (about 10 ms per MiB measured on a loaded VM); re-reads are served by the disk tier anyway.
    /// </summary>
    public byte[]? TryAllocate(bool spareReadAhead)
    {
        if (_pool.TryRentFree() is { } free)
        {
            return free;
        }

        if (TryEvict(spareUnread: true))
        {
            return _pool.TryRentFree();
        }

        if (_pool.TryGrow() is { } fresh)
        {
            return fresh;
        }

        return !spareReadAhead && TryEvict(spareUnread: false) ? _pool.TryRentFree() : null;
    }

    private bool TryEvict(bool spareUnread)
    {
        for (LinkedListNode<Block>? node = _lru.First; node is not null; node = node.Next)
        {
            Block candidate = node.Value;
            if (candidate.IsEvictable && !(spareUnread && candidate.UnconsumedReadAhead))
            {
                Remove(candidate);
                return true;
            }
        }

        return false;
    }

    /// <summary>Takes back a block whose fetch was never started.</summary>
    public void Abandon(Block block)
    {
        Debug.Assert(block.State == BlockState.Fetching && block.Pins == 0);
        block.State = BlockState.Failed;
        block.Error = new OperationCanceledException("Read-ahead abandoned before it started.");
        Remove(block);
    }

    private void Detach(MemoryContent content)
    {
        content.Detached = true;
        _contents.Remove(content.Key.FileId);
        foreach (Block block in content.Blocks.Values.ToList())
        {
            Remove(block);
        }
    }

    private void Remove(Block block)
    {
        if (!block.InCache)
        {
            return;
        }

        block.InCache = false;
        block.Owner.Blocks.Remove(block.Index);
        if (block.LruNode is { } node)
        {
            _lru.Remove(node);
            block.LruNode = null;
        }

        if (block.UnconsumedReadAhead)
        {
            block.UnconsumedReadAhead = false;
            UnconsumedReadAhead--;
        }

        ReleaseIfUnused(block);
    }

    private void ReleaseIfUnused(Block block)
    {
        if (!block.InCache && block.Pins == 0 && block.State != BlockState.Fetching && block.Buffer is { } buffer)
        {
            block.Buffer = null;
            _pool.Return(buffer);
        }
    }
}
