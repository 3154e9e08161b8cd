using System.Text;
using ScaiDrive.Fuse.Session;

namespace ScaiDrive.Fuse.Tests;

/// <summary>
/// A tiny purpose-built filesystem for binding tests: a node table under one lock, hooks to delay or fail requests,
/// and lookup-count bookkeeping that records any forget the kernel sends beyond what it was given.
/// </summary>
internal sealed class MemoryFileSystem : IFuseFileSystem
{
    public const ulong Root = 1;

    private readonly Lock _gate = new();

    // Guarded by _gate.
    private readonly Dictionary<ulong, Node> _nodes = new();
    private readonly Dictionary<ulong, ulong> _handles = new();
    private readonly Dictionary<ulong, long> _references = new();
    private ulong _nextInode = 2;
    private ulong _nextHandle = 1;
    private int _readsRunning;

    public MemoryFileSystem()
    {
        _nodes[Root] = new Node(Root, Root, true, 0b111_101_101);
    }

    public FuseCacheTimeouts Timeouts { get; set; } = new(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1), TimeSpan.Zero);

    public bool KeepCache { get; set; }

    /// <summary>Runs before each read's data is copied (delays, gates).</summary>
    public Func<string, Task>? BeforeRead { get; set; }

    /// <summary>Reads of this name throw InvalidOperationException (a bug in a handler).</summary>
    public string? ThrowOnReadOf { get; set; }

    public int MaxConcurrentReads { get; private set; }

    public int ReadCount { get; private set; }

    /// <summary>Forgets beyond the references handed out (must stay 0).</summary>
    public int ForgetViolations { get; private set; }

    public long OutstandingReferences
    {
        get
        {
            lock (_gate)
            {
                return _references.Values.Sum();
            }
        }
    }

    private sealed class Node(ulong inode, ulong parent, bool isDirectory, uint mode)
    {
        public ulong Inode { get; } = inode;
        public ulong Parent { get; set; } = parent;
        public bool IsDirectory { get; } = isDirectory;
        public uint Mode { get; set; } = mode;
        public byte[] Data { get; set; } = [];
        public SortedDictionary<string, ulong> Children { get; } = new(StringComparer.Ordinal);
        public Dictionary<string, byte[]> Xattrs { get; } = new();
        public DateTimeOffset Modified { get; set; } = DateTimeOffset.UtcNow;
    }

    // Names are raw bytes; Latin-1 maps every byte to one char, so keys are exact.
    private static string Key(byte[] name) => Encoding.Latin1.GetString(name);

    // ---- test-side helpers (not FUSE requests) ----

    public ulong AddFile(ulong parent, string name, byte[] data)
    {
        lock (_gate)
        {
            ulong inode = _nextInode++;
            _nodes[inode] = new Node(inode, parent, false, 0b110_100_100) { Data = data };
            _nodes[parent].Children[Key(Encoding.UTF8.GetBytes(name))] = inode;
            return inode;
        }
    }

    public ulong AddDirectory(ulong parent, string name)
    {
        lock (_gate)
        {
            ulong inode = _nextInode++;
            _nodes[inode] = new Node(inode, parent, true, 0b111_101_101);
            _nodes[parent].Children[Key(Encoding.UTF8.GetBytes(name))] = inode;
            return inode;
        }
    }

    public void SetData(ulong inode, byte[] data, bool touch)
    {
        lock (_gate)
        {
            _nodes[inode].Data = data;
            if (touch)
            {
                _nodes[inode].Modified = DateTimeOffset.UtcNow;
            }
        }
    }

    public byte[] GetData(ulong inode)
    {
        lock (_gate)
        {
            return _nodes[inode].Data.ToArray();
        }
    }

    public ulong? Find(ulong parent, string name)
    {
        lock (_gate)
        {
            return _nodes[parent].Children.TryGetValue(Key(Encoding.UTF8.GetBytes(name)), out ulong inode) ? inode : null;
        }
    }

    public void SetXattr(ulong inode, string name, byte[] value)
    {
        lock (_gate)
        {
            _nodes[inode].Xattrs[name] = value;
        }
    }

    // ---- IFuseFileSystem ----

    private Node Get(ulong inode) => _nodes.TryGetValue(inode, out Node? node) ? node : throw new FuseErrnoException(Errno.ENOENT);

    private FuseAttributes Attributes(Node n) => new(
        n.Inode,
        (n.IsDirectory ? FileTypeBits.Directory : FileTypeBits.Regular) | n.Mode,
        n.IsDirectory ? 2u : 1u,
        n.Data.Length,
        n.Modified,
        n.Modified,
        n.Modified);

    private void Reference(ulong inode) => _references[inode] = _references.GetValueOrDefault(inode) + 1;

    public ValueTask<FuseAttributes> LookupAsync(ulong parent, byte[] name, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            Node dir = Get(parent);
            if (!dir.Children.TryGetValue(Key(name), out ulong inode))
            {
                throw new FuseErrnoException(Errno.ENOENT);
            }

            Reference(inode);
            return ValueTask.FromResult(Attributes(_nodes[inode]));
        }
    }

    public void Forget(ulong inode, ulong count)
    {
        lock (_gate)
        {
            long left = _references.GetValueOrDefault(inode) - (long)count;
            if (left < 0)
            {
                ForgetViolations++;
                left = 0;
            }

            _references[inode] = left;
        }
    }

    public void AddLookupReference(ulong inode)
    {
        lock (_gate)
        {
            Reference(inode);
        }
    }

    public ValueTask<FuseAttributes> GetAttributesAsync(ulong inode, ulong? handle, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return ValueTask.FromResult(Attributes(Get(inode)));
        }
    }

    public ValueTask<FuseAttributes> SetAttributesAsync(ulong inode, FuseSetAttributes changes, ulong? handle, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            Node n = Get(inode);
            if (changes.Size is { } size)
            {
                byte[] data = n.Data;
                Array.Resize(ref data, checked((int)size));
                n.Data = data;
            }

            if (changes.Mode is { } mode)
            {
                n.Mode = mode & 0xFFF;
            }

            if (changes.ModifiedAt is { } modified)
            {
                n.Modified = modified;
            }

            return ValueTask.FromResult(Attributes(n));
        }
    }

    public ValueTask<IReadOnlyList<FuseDirectoryEntry>> ReadDirectoryAsync(ulong inode, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            Node dir = Get(inode);
            if (!dir.IsDirectory)
            {
                throw new FuseErrnoException(Errno.ENOTDIR);
            }

            IReadOnlyList<FuseDirectoryEntry> list = dir.Children
                .Select(c => new FuseDirectoryEntry(Encoding.Latin1.GetBytes(c.Key), Attributes(_nodes[c.Value])))
                .ToArray();
            return ValueTask.FromResult(list);
        }
    }

    public ValueTask<FuseAttributes> MakeDirectoryAsync(ulong parent, byte[] name, uint mode, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            Node dir = Get(parent);
            if (dir.Children.ContainsKey(Key(name)))
            {
                throw new FuseErrnoException(Errno.EEXIST);
            }

            ulong inode = _nextInode++;
            _nodes[inode] = new Node(inode, parent, true, mode & 0xFFF);
            dir.Children[Key(name)] = inode;
            Reference(inode);
            return ValueTask.FromResult(Attributes(_nodes[inode]));
        }
    }

    public ValueTask RemoveDirectoryAsync(ulong parent, byte[] name, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            Node dir = Get(parent);
            if (!dir.Children.TryGetValue(Key(name), out ulong inode))
            {
                throw new FuseErrnoException(Errno.ENOENT);
            }

            if (_nodes[inode].Children.Count > 0)
            {
                throw new FuseErrnoException(Errno.ENOTEMPTY);
            }

            dir.Children.Remove(Key(name));
            return ValueTask.CompletedTask;
        }
    }

    public ValueTask UnlinkAsync(ulong parent, byte[] name, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!Get(parent).Children.Remove(Key(name)))
            {
                throw new FuseErrnoException(Errno.ENOENT);
            }

            return ValueTask.CompletedTask;
        }
    }

    public ValueTask RenameAsync(ulong parent, byte[] name, ulong newParent, byte[] newName, uint flags, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if ((flags & ~RenameFlags.NoReplace) != 0)
            {
                throw new FuseErrnoException(Errno.EINVAL);
            }

            Node from = Get(parent);
            Node to = Get(newParent);
            if (!from.Children.TryGetValue(Key(name), out ulong inode))
            {
                throw new FuseErrnoException(Errno.ENOENT);
            }

            if ((flags & RenameFlags.NoReplace) != 0 && to.Children.ContainsKey(Key(newName)))
            {
                throw new FuseErrnoException(Errno.EEXIST);
            }

            from.Children.Remove(Key(name));
            to.Children[Key(newName)] = inode;
            _nodes[inode].Parent = newParent;
            return ValueTask.CompletedTask;
        }
    }

    public ValueTask<FuseOpenResult> OpenAsync(ulong inode, int flags, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            Node n = Get(inode);
            if ((flags & OpenFlags.Truncate) != 0)
            {
                n.Data = [];
            }

            ulong handle = _nextHandle++;
            _handles[handle] = inode;
            return ValueTask.FromResult(new FuseOpenResult(handle, KeepCache));
        }
    }

    public ValueTask<(FuseAttributes Attributes, FuseOpenResult Open)> CreateAsync(ulong parent, byte[] name, uint mode, int flags, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            Node dir = Get(parent);
            if (dir.Children.TryGetValue(Key(name), out ulong existing))
            {
                if ((flags & OpenFlags.Exclusive) != 0)
                {
                    throw new FuseErrnoException(Errno.EEXIST);
                }

                _nodes[existing].Data = [];
            }
            else
            {
                existing = _nextInode++;
                _nodes[existing] = new Node(existing, parent, false, mode & 0xFFF);
                dir.Children[Key(name)] = existing;
            }

            Reference(existing);
            ulong handle = _nextHandle++;
            _handles[handle] = existing;
            return ValueTask.FromResult((Attributes(_nodes[existing]), new FuseOpenResult(handle)));
        }
    }

    /// <summary>When set, reads of its inode are first offered as streamed reads from its socket (spliced replies).</summary>
    public StreamedSource? Streamed { get; set; }

    public bool TryReadStreamed<TArg>(ulong inode, ulong handle, long offset, int size, FuseStreamedReply<TArg> reply, TArg replyArgument) =>
        Streamed is { } streamed && streamed.Inode == inode && streamed.TryServe(offset, size, reply, replyArgument);

    public async ValueTask<int> ReadAsync(ulong inode, ulong handle, long offset, Memory<byte> destination, CancellationToken cancellationToken)
    {
        string name;
        lock (_gate)
        {
            Node n = Get(_handles[handle]);
            name = _nodes[n.Parent].Children.FirstOrDefault(c => c.Value == n.Inode).Key ?? "";
            ReadCount++;
            _readsRunning++;
            MaxConcurrentReads = Math.Max(MaxConcurrentReads, _readsRunning);
        }

        try
        {
            if (ThrowOnReadOf == name)
            {
                throw new InvalidOperationException("a bug inside a handler");
            }

            if (BeforeRead is { } hook)
            {
                await hook(name).ConfigureAwait(false);
            }

            lock (_gate)
            {
                byte[] data = _nodes[_handles[handle]].Data;
                if (offset >= data.Length)
                {
                    return 0;
                }

                int count = (int)Math.Min(destination.Length, data.Length - offset);
                data.AsSpan((int)offset, count).CopyTo(destination.Span);
                return count;
            }
        }
        finally
        {
            lock (_gate)
            {
                _readsRunning--;
            }
        }
    }

    public ValueTask<int> WriteAsync(ulong inode, ulong handle, long offset, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            Node n = Get(_handles[handle]);
            long end = offset + data.Length;
            if (end > n.Data.Length)
            {
                byte[] grown = n.Data;
                Array.Resize(ref grown, checked((int)end));
                n.Data = grown;
            }

            data.Span.CopyTo(n.Data.AsSpan((int)offset));
            n.Modified = DateTimeOffset.UtcNow;
            return ValueTask.FromResult(data.Length);
        }
    }

    public ValueTask FlushAsync(ulong inode, ulong handle, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask FsyncAsync(ulong inode, ulong handle, bool dataOnly, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask ReleaseAsync(ulong inode, ulong handle, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _handles.Remove(handle);
            return ValueTask.CompletedTask;
        }
    }

    public ValueTask<FuseStatFs> StatFsAsync(ulong inode, CancellationToken cancellationToken) =>
        ValueTask.FromResult(new FuseStatFs(4096, 1000, 600, 500, 100, 50, 255));

    public ValueTask<byte[]?> GetExtendedAttributeAsync(ulong inode, byte[] name, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return ValueTask.FromResult(Get(inode).Xattrs.TryGetValue(Encoding.UTF8.GetString(name), out byte[]? value) ? value : null);
        }
    }

    public ValueTask<IReadOnlyList<byte[]>> ListExtendedAttributesAsync(ulong inode, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            IReadOnlyList<byte[]> names = Get(inode).Xattrs.Keys.Select(Encoding.UTF8.GetBytes).ToArray();
            return ValueTask.FromResult(names);
        }
    }

    public ValueTask SetExtendedAttributeAsync(ulong inode, byte[] name, byte[] value, int flags, CancellationToken cancellationToken) =>
        throw new FuseErrnoException(Errno.EOPNOTSUPP);

    public ValueTask RemoveExtendedAttributeAsync(ulong inode, byte[] name, CancellationToken cancellationToken) =>
        throw new FuseErrnoException(Errno.EOPNOTSUPP);

    public ValueTask AccessAsync(ulong inode, int mask, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            Get(inode);
            return ValueTask.CompletedTask;
        }
    }
}

/// <summary>
/// A file's bytes on a loopback TCP connection, as a server would send them: the session splices each streamed read
/// from the receiving socket. The sender can stop early (BreakAfterBytes), as a server that goes away.
/// </summary>
internal sealed class StreamedSource : IDisposable
{
    private readonly System.Net.Sockets.Socket _receiver;
    private readonly Task _sender;
    private readonly long _length;
    private long _position;
    private bool _broken;

    private StreamedSource(ulong inode, System.Net.Sockets.Socket receiver, Task sender, long length)
    {
        Inode = inode;
        _receiver = receiver;
        _sender = sender;
        _length = length;
    }

    public ulong Inode { get; }

    public int Served;

    public static StreamedSource Start(ulong inode, byte[] data, long? breakAfterBytes = null)
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var receiver = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        receiver.Connect((System.Net.IPEndPoint)listener.LocalEndpoint);
        System.Net.Sockets.Socket sender = listener.AcceptSocket();
        int limit = (int)Math.Min(data.Length, breakAfterBytes ?? data.Length);
        Task sending = Task.Run(() =>
        {
            using (sender)
            {
                int sent = 0;
                while (sent < limit)
                {
                    sent += sender.Send(data.AsSpan(sent, Math.Min(64 * 1024, limit - sent)));
                }

                sender.Shutdown(System.Net.Sockets.SocketShutdown.Both);
            }
        });
        return new StreamedSource(inode, receiver, sending, data.Length);
    }

    /// <summary>
    /// Serves reads in file order as the core does: a read ahead of the stream waits briefly for its predecessor, then
    /// skips the gap; a read behind it, or any read after a failed reply, is declined.
    /// </summary>
    public bool TryServe<TArg>(long offset, int size, FuseStreamedReply<TArg> reply, TArg argument)
    {
        lock (this)
        {
            if (!_broken && offset > _position && offset - _position <= 4 * 1024 * 1024)
            {
                Monitor.Wait(this, 20);
                if (offset > _position)
                {
                    byte[] skip = new byte[offset - _position];
                    for (int got = 0; got < skip.Length;)
                    {
                        int n = _receiver.Receive(skip.AsSpan(got));
                        if (n == 0)
                        {
                            _broken = true;
                            return false;
                        }

                        got += n;
                    }

                    _position = offset;
                }
            }

            if (_broken || offset != _position || offset >= _length)
            {
                return false;
            }

            int count = (int)Math.Min(size, _length - offset);
            if (!reply(_receiver.SafeHandle, count, argument))
            {
                _broken = true;
                return false;
            }

            _position += count;
            Served++;
            Monitor.PulseAll(this);
            return true;
        }
    }

    public void Dispose()
    {
        _receiver.Dispose();
        // The sender fails when we close with its bytes unread; that is expected here.
        _ = _sender.ContinueWith(static _ => { }, TaskScheduler.Default).Wait(TimeSpan.FromSeconds(5));
    }
}
