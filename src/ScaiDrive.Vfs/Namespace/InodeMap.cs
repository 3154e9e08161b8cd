using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace ScaiDrive.Vfs.Namespace;

/// <summary>
/// Stable inode numbers. An ID's inode is the first 8 bytes of SHA-256(ID), so a remount gives every file and folder
/// the same number without storing anything (git and backup tools remember inodes). Two cases need memory, kept in an
/// append-only log under <c>&lt;cache&gt;/state/inodes.log</c>: a hash collision (the later ID probes to the next free
/// number) and a node born locally whose server ID arrives later (it keeps the inode it had). A recorded number is
/// reserved for its ID even while that ID is not loaded, so probing gives the same answers in every run.
/// </summary>
internal sealed class InodeMap : IDisposable
{
    private readonly Lock _gate = new();
    private readonly string? _logPath;

    // Guarded by _gate. _recorded: ID → inode from the log; _owner: inode → ID for every number handed out or reserved.
    private readonly Dictionary<string, ulong> _recorded = new(StringComparer.Ordinal);
    private readonly Dictionary<ulong, string> _owner = new();
    private StreamWriter? _log;

    public InodeMap(string? stateDirectory)
    {
        if (stateDirectory is null)
        {
            return;
        }

        Directory.CreateDirectory(stateDirectory);
        _logPath = Path.Combine(stateDirectory, "inodes.log");
        if (File.Exists(_logPath))
        {
            foreach (string line in File.ReadLines(_logPath))
            {
                int tab = line.IndexOf('\t');
                if (tab <= 0 || !ulong.TryParse(line.AsSpan(tab + 1), NumberStyles.None, CultureInfo.InvariantCulture, out ulong inode))
                {
                    continue; // A torn last line after a crash.
                }

                string id = line[..tab];
                if (_recorded.TryGetValue(id, out ulong previous))
                {
                    _owner.Remove(previous);
                }

                ReleaseFromPreviousOwnerUnsynchronized(inode, id);

                _recorded[id] = inode;
                _owner[inode] = id;
            }
        }
    }

    /// <summary>The inode of <paramref name="id"/>: recorded, else derived from its hash and probed past collisions.</summary>
    public ulong GetOrAssign(string id)
    {
        lock (_gate)
        {
            if (_recorded.TryGetValue(id, out ulong inode))
            {
                return inode;
            }

            inode = Hash(id);
            bool probed = false;
            while (true)
            {
                if (!_owner.TryGetValue(inode, out string? owner))
                {
                    break;
                }

                if (owner == id)
                {
                    return inode;
                }

                inode = Next(inode);
                probed = true;
            }

            _owner[inode] = id;
            if (probed)
            {
                RecordUnsynchronized(id, inode);
            }

            return inode;
        }
    }

    /// <summary>Binds a server ID to an inode a local node already has (created here, uploaded later; or an atomic save).</summary>
    public void Bind(string id, ulong inode)
    {
        lock (_gate)
        {
            if (_recorded.TryGetValue(id, out ulong existing))
            {
                if (existing == inode)
                {
                    return;
                }

                _owner.Remove(existing);
            }
            else if (_owner.TryGetValue(Hash(id), out string? owner) && owner == id)
            {
                _owner.Remove(Hash(id));
            }

            ReleaseFromPreviousOwnerUnsynchronized(inode, id);
            _owner[inode] = id;
            RecordUnsynchronized(id, inode);
        }
    }

    /// <summary>
    /// The inode passes from the ID that had it to <paramref name="id"/>: an atomic save, where the saved file's node
    /// keeps its inode and takes over the target's ID. The previous ID must not keep a claim on the number: the server
    /// may still list that file for a moment (its trashing is under way), and a node made for it with the same inode
    /// would displace the live one the kernel knows.
    /// </summary>
    private void ReleaseFromPreviousOwnerUnsynchronized(ulong inode, string id)
    {
        if (_owner.TryGetValue(inode, out string? previous) && previous != id
            && _recorded.TryGetValue(previous, out ulong recorded) && recorded == inode)
        {
            _recorded.Remove(previous);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _log?.Dispose();
            _log = null;
        }
    }

    internal static ulong Hash(string id)
    {
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(id), digest);
        ulong inode = BinaryPrimitives.ReadUInt64LittleEndian(digest);
        return inode <= VfsFileSystem.RootInode || inode == ulong.MaxValue ? Next(inode) : inode;
    }

    private static ulong Next(ulong inode)
    {
        inode++;
        // 0 is invalid, 1 is the root, and ~0 is reserved by some kernels.
        return inode <= VfsFileSystem.RootInode || inode == ulong.MaxValue ? 2 : inode;
    }

    private void RecordUnsynchronized(string id, ulong inode)
    {
        _recorded[id] = inode;
        if (_logPath is null)
        {
            return;
        }

        // Not fsync'd: losing the last lines in a power cut only changes inodes of files created just before it.
        _log ??= new StreamWriter(new FileStream(_logPath, FileMode.Append, FileAccess.Write, FileShare.Read), new UTF8Encoding(false));
        _log.Write(id);
        _log.Write('\t');
        _log.Write(inode.ToString(CultureInfo.InvariantCulture));
        _log.Write('\n');
        _log.Flush();
    }
}
