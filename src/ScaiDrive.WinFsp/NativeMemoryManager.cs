using System.Buffers;

namespace ScaiDrive.WinFsp;

/// <summary>
/// Wraps a buffer the WinFsp driver lent us (a read's destination, a write's source) as <see cref="Memory{T}"/> so the
/// core reads from the network straight into it. The driver keeps the buffer mapped until the response is sent, which
/// is after the core's task completes; nothing is pinned because nothing is managed.
/// </summary>
internal sealed unsafe class NativeMemoryManager(byte* pointer, int length) : MemoryManager<byte>
{
    public override Span<byte> GetSpan() => new(pointer, length);

    public override MemoryHandle Pin(int elementIndex = 0)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)elementIndex, (uint)length, nameof(elementIndex));
        return new MemoryHandle(pointer + elementIndex);
    }

    public override void Unpin()
    {
    }

    protected override void Dispose(bool disposing)
    {
    }
}
