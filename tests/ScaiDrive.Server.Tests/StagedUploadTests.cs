using System.Security.Cryptography;
using ScaiDrive.Server.Storage;
using Xunit;

namespace ScaiDrive.Server.Tests;

/// <summary>
/// The session file's write/seal protocol that <c>PUT /chunks/{i}</c> and <c>/complete</c> meet in: a chunk PUT that
/// arrives while <c>/complete</c> holds the seal is refused (the endpoint answers 409 <c>UPLOAD_COMPLETING</c>), and a
/// chunk still being written when <c>/complete</c> seals counts as missing. Over HTTP the two orders cannot be forced,
/// so the protocol is driven here directly.
/// </summary>
public sealed class StagedUploadTests : IDisposable
{
    private const int Chunk = 64 * 1024;
    private readonly string _directory = Directory.CreateTempSubdirectory("sdfs-staged-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private (StagedUpload Staged, byte[] Data) Create(int chunks, IEnumerable<int> received)
    {
        byte[] data = new byte[chunks * Chunk];
        new Random(chunks).NextBytes(data);
        string path = Path.Combine(_directory, StagedUpload.DataFileName);
        File.WriteAllBytes(path, data);
        return (new StagedUpload(path, data.Length, Chunk, chunks, received), data);
    }

    [Fact]
    public async Task A_sealed_session_refuses_chunk_writes_until_it_is_unsealed()
    {
        (StagedUpload staged, byte[] data) = Create(2, [0, 1]);

        SealedContent? sealedContent = await staged.SealAsync([], TestContext.Current.CancellationToken);

        Assert.NotNull(sealedContent);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(data)), sealedContent.Sha256);
        Assert.False(staged.TryBeginWrite(0, out _));
        Assert.False(staged.TryBeginWrite(1, out _));

        // A completion that fails later (quota, conflict) reopens the session: the retried chunk is accepted again.
        staged.Unseal();
        Assert.True(staged.TryBeginWrite(0, out bool wasReceived));
        Assert.True(wasReceived);
        staged.EndWrite(0, received: true);

        // Sealing again waits for the background hasher the reopening started, before the directory goes.
        Assert.NotNull(await staged.SealAsync([], TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task A_chunk_still_being_written_when_complete_seals_counts_as_missing()
    {
        (StagedUpload staged, byte[] data) = Create(3, [0, 1, 2]);
        Assert.True(staged.TryBeginWrite(1, out bool wasReceived));
        Assert.True(wasReceived);

        var missing = new List<int>();
        Assert.Null(await staged.SealAsync(missing, TestContext.Current.CancellationToken));
        Assert.Equal([1], missing);

        // Not sealed by the refused completion: the write finishes and the next completion succeeds.
        staged.EndWrite(1, received: true);
        SealedContent? sealedContent = await staged.SealAsync([], TestContext.Current.CancellationToken);
        Assert.NotNull(sealedContent);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(data)), sealedContent.Sha256);
        Assert.Equal(data.Length, sealedContent.Size);
    }
}
