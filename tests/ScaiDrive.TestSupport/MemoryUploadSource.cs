using ScaiDrive.Client;

namespace ScaiDrive.TestSupport;

/// <summary>Upload content from a byte array, for tests that upload through the API as a colleague would.</summary>
public sealed class MemoryUploadSource(byte[] data) : IUploadSource
{
    public long Length => data.Length;

    public ValueTask<int> ReadAtAsync(long offset, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        int count = (int)Math.Min(buffer.Length, Math.Max(0, data.Length - offset));
        data.AsMemory((int)offset, count).CopyTo(buffer);
        return ValueTask.FromResult(count);
    }
}
