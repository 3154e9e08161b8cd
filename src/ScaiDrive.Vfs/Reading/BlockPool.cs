using System.Diagnostics;

namespace ScaiDrive.Vfs.Reading;

/// <summary>
/// The memory budget made concrete: a fixed number of equal block buffers, allocated lazily and reused forever.
/// Every byte the reader holds in memory (cached blocks, blocks being fetched, read-ahead) is one of these buffers,
/// so the budget cannot be exceeded by construction. Buffers are large (LOH) objects; reusing them keeps the GC quiet.
/// Not thread-safe: guarded by the owner's lock.
/// </summary>
internal sealed class BlockPool
{
    private readonly Stack<byte[]> _free = new();
    private int _allocated;

    public BlockPool(int blockSize, int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        BlockSize = blockSize;
        Capacity = capacity;
    }

    public int BlockSize { get; }

    public int Capacity { get; }

    public int InUse { get; private set; }

    public int PeakInUse { get; private set; }

    /// <summary>A buffer that has been used before, if any is free.</summary>
    public byte[]? TryRentFree()
    {
        if (!_free.TryPop(out byte[]? buffer))
        {
            return null;
        }

        CountRent();
        return buffer;
    }

    /// <summary>A new buffer, while fewer than <see cref="Capacity"/> exist.</summary>
    public byte[]? TryGrow()
    {
        if (_allocated == Capacity)
        {
            return null;
        }

        _allocated++;
        CountRent();
        byte[] buffer = GC.AllocateUninitializedArray<byte>(BlockSize);
        PagePrefault.Populate(buffer);
        return buffer;
    }

    public byte[]? TryRent() => TryRentFree() ?? TryGrow();

    private void CountRent()
    {
        InUse++;
        PeakInUse = Math.Max(PeakInUse, InUse);
    }

    public void Return(byte[] buffer)
    {
        Debug.Assert(buffer.Length == BlockSize);
        Debug.Assert(InUse > 0);
        InUse--;
        _free.Push(buffer);
    }
}
