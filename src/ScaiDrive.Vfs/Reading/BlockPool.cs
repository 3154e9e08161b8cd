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

    public byte[]? TryRent()
    {
        if (!_free.TryPop(out byte[]? buffer))
        {
            if (_allocated == Capacity)
            {
                return null;
            }

            buffer = GC.AllocateUninitializedArray<byte>(BlockSize);
            _allocated++;
        }

        InUse++;
        PeakInUse = Math.Max(PeakInUse, InUse);
        return buffer;
    }

    public void Return(byte[] buffer)
    {
        Debug.Assert(buffer.Length == BlockSize);
        Debug.Assert(InUse > 0);
        InUse--;
        _free.Push(buffer);
    }
}
