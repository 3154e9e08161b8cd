using ScaiDrive.Vfs.Namespace;
using ScaiDrive.Vfs.Reading;

namespace ScaiDrive.Vfs.Files;

/// <summary>One open file description (a FUSE file handle, a WinFsp file context).</summary>
internal sealed class OpenFile
{
    private ReadState? _readState;

    public OpenFile(ulong handle, Node node, VfsOpenFlags flags)
    {
        Handle = handle;
        Node = node;
        Flags = flags;
    }

    public ulong Handle { get; }

    public Node Node { get; }

    public VfsOpenFlags Flags { get; }

    public bool Writable => (Flags & VfsOpenFlags.Write) != 0;

    public ReadState? ReadState => Volatile.Read(ref _readState);

    /// <summary>The handle's read-ahead state, created at its first remote read (handles that only write never need one).</summary>
    public ReadState GetOrCreateReadState(ContentReader reader)
    {
        ReadState? state = Volatile.Read(ref _readState);
        if (state is not null)
        {
            return state;
        }

        state = reader.CreateReadState();
        ReadState? winner = Interlocked.CompareExchange(ref _readState, state, null);
        if (winner is not null)
        {
            reader.Release(state);
            return winner;
        }

        return state;
    }
}
