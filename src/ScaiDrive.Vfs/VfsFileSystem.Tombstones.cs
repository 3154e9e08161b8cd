using ScaiDrive.Client;

namespace ScaiDrive.Vfs;

// Tombstones: files and folders this mount sends to the trash. A folder listing requested before such a delete ended
// may still show the object; without a tombstone the listing would bring it back as a new node (its old node was
// already detached, or, after a rename over a file, took over the target's ID), and the name would list but not open.
// A listing requested after the delete ended is believed: if the object shows again, someone restored it.
public sealed partial class VfsFileSystem
{
    // Long enough for any listing requested before a delete ended to have been answered (requests time out sooner).
    private static readonly TimeSpan s_tombstoneLifetime = TimeSpan.FromMinutes(10);

    // By server ID. Guarded by _gate.
    private readonly Dictionary<string, Tombstone> _tombstones = new(StringComparer.Ordinal);

    // Old tombstones are swept when the table grows past this; it doubles when a sweep frees little (an rm -rf of
    // thousands of files within the lifetime), so each delete costs amortised O(1). Guarded by _gate.
    private int _tombstoneSweepAt = 256;

    /// <summary>Sends a file to the trash, keeping listings that predate the delete from showing it again.</summary>
    private async Task TrashFileAsync(FileId fileId, CancellationToken cancellationToken)
    {
        using TombstoneScope scope = Bury(fileId.Value);
        await _client.DeleteFileAsync(fileId, permanent: false, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>As <see cref="TrashFileAsync"/>, for a folder (the server's delete takes its subtree along).</summary>
    private async Task TrashFolderAsync(FolderId folderId, CancellationToken cancellationToken)
    {
        using TombstoneScope scope = Bury(folderId.Value);
        await _client.DeleteFolderAsync(folderId, permanent: false, cancellationToken).ConfigureAwait(false);
    }

    private TombstoneScope Bury(string id)
    {
        lock (_gate)
        {
            return BuryUnsynchronized(id);
        }
    }

    /// <summary>
    /// Starts a tombstone (under the namespace gate, where the local change that gives up the object is made). Scopes
    /// may nest (a rename over a file buries the source's old ID, then trashes it): the one that ends last dates the
    /// tombstone.
    /// </summary>
    private TombstoneScope BuryUnsynchronized(string id)
    {
        _tombstones[id] = new Tombstone(long.MaxValue, default);
        return new TombstoneScope(this, id);
    }

    private void EndBurial(string id)
    {
        lock (_gate)
        {
            DateTimeOffset now = _time.GetUtcNow();
            _tombstones[id] = new Tombstone(++_namespaceEpoch, now);
            if (_tombstones.Count > _tombstoneSweepAt)
            {
                foreach ((string key, Tombstone stone) in _tombstones.ToArray())
                {
                    if (stone.EndedEpoch != long.MaxValue && now - stone.EndedAt > s_tombstoneLifetime)
                    {
                        _tombstones.Remove(key);
                    }
                }

                _tombstoneSweepAt = Math.Max(256, _tombstones.Count * 2);
            }
        }
    }

    /// <summary>True when a listing requested at the start of <paramref name="window"/> may show an object this mount deleted.</summary>
    private bool IsBuriedUnsynchronized(string id, EpochWindow window) =>
        _tombstones.TryGetValue(id, out Tombstone stone) && stone.EndedEpoch > window.After;

    /// <param name="EndedEpoch">The namespace epoch at which the delete ended; <see cref="long.MaxValue"/> while in flight.</param>
    private readonly record struct Tombstone(long EndedEpoch, DateTimeOffset EndedAt);

    private readonly struct TombstoneScope(VfsFileSystem fs, string id) : IDisposable
    {
        public void Dispose() => fs.EndBurial(id);
    }
}
