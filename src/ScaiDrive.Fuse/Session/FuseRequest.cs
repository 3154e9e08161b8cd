using ScaiDrive.Fuse.Interop;

namespace ScaiDrive.Fuse.Session;

/// <summary>
/// One kernel request awaiting its answer. Exactly one Reply* call per request, from any thread; each reply ends the
/// request's in-flight accounting in the session. After the session closed its reply gate (unmount drained or timed
/// out) a reply is dropped instead of touching a destroyed session.
/// </summary>
internal readonly unsafe struct FuseRequest
{
    private readonly nint _req;
    private readonly FuseSession _session;

    public FuseRequest(nint req, FuseSession session)
    {
        _req = req;
        _session = session;
    }

    public FuseSession Session => _session;

    public void ReplyError(int errno)
    {
        if (_session.EnterReply())
        {
            try
            {
                FuseNative.ReplyErr(_req, errno);
            }
            finally
            {
                _session.ExitReply();
            }
        }
    }

    public void ReplyOk() => ReplyError(0);

    /// <summary>
    /// Answers with the bytes the buffers describe (a pipe, for a spliced read); libfuse splices or copies them. True
    /// when libfuse took them all; false when it failed or the session is closing (bytes may be left in the pipe).
    /// </summary>
    public bool ReplyData(FuseBufvec* buffers)
    {
        if (_session.EnterReply())
        {
            try
            {
                return FuseNative.ReplyData(_req, buffers, 0) == 0;
            }
            finally
            {
                _session.ExitReply();
            }
        }

        return false;
    }

    public void ReplyNone()
    {
        if (_session.EnterReply())
        {
            try
            {
                FuseNative.ReplyNone(_req);
            }
            finally
            {
                _session.ExitReply();
            }
        }
    }

    public void ReplyEntry(in FuseAttributes attributes)
    {
        FuseEntryParam entry = _session.ToEntryParam(attributes);
        if (_session.EnterReply())
        {
            try
            {
                FuseNative.ReplyEntry(_req, &entry);
            }
            finally
            {
                _session.ExitReply();
            }
        }
    }

    /// <summary>A cached "no such entry" (inode 0) for the negative timeout.</summary>
    public void ReplyNegativeEntry(TimeSpan timeout)
    {
        FuseEntryParam entry = default;
        entry.EntryTimeout = timeout.TotalSeconds;
        if (_session.EnterReply())
        {
            try
            {
                FuseNative.ReplyEntry(_req, &entry);
            }
            finally
            {
                _session.ExitReply();
            }
        }
    }

    /// <summary>False when the kernel no longer wanted the answer (interrupted): the caller undoes the open.</summary>
    public bool ReplyCreate(in FuseAttributes attributes, in FuseOpenResult open)
    {
        FuseEntryParam entry = _session.ToEntryParam(attributes);
        FuseFileInfo info = _session.ToFileInfo(open);
        if (_session.EnterReply())
        {
            try
            {
                return FuseNative.ReplyCreate(_req, &entry, &info) == 0;
            }
            finally
            {
                _session.ExitReply();
            }
        }

        return false;
    }

    public void ReplyAttributes(in FuseAttributes attributes)
    {
        Stat stat = _session.ToStat(attributes);
        double timeout = _session.FileSystem.Timeouts.Attribute.TotalSeconds;
        if (_session.EnterReply())
        {
            try
            {
                FuseNative.ReplyAttr(_req, &stat, timeout);
            }
            finally
            {
                _session.ExitReply();
            }
        }
    }

    /// <summary>False when the kernel no longer wanted the answer (interrupted): the caller undoes the open.</summary>
    public bool ReplyOpen(in FuseOpenResult open)
    {
        FuseFileInfo info = _session.ToFileInfo(open);
        if (_session.EnterReply())
        {
            try
            {
                return FuseNative.ReplyOpen(_req, &info) == 0;
            }
            finally
            {
                _session.ExitReply();
            }
        }

        return false;
    }

    public void ReplyWrite(int count)
    {
        if (_session.EnterReply())
        {
            try
            {
                FuseNative.ReplyWrite(_req, (nuint)count);
            }
            finally
            {
                _session.ExitReply();
            }
        }
    }

    public void ReplyBuffer(ReadOnlySpan<byte> data)
    {
        if (_session.EnterReply())
        {
            try
            {
                fixed (byte* p = data)
                {
                    FuseNative.ReplyBuf(_req, p, (nuint)data.Length);
                }
            }
            finally
            {
                _session.ExitReply();
            }
        }
    }

    public void ReplyXattrSize(int size)
    {
        if (_session.EnterReply())
        {
            try
            {
                FuseNative.ReplyXattr(_req, (nuint)size);
            }
            finally
            {
                _session.ExitReply();
            }
        }
    }

    public void ReplyStatFs(in FuseStatFs statFs)
    {
        StatVfs s = default;
        s.BlockSize = statFs.BlockSize;
        s.FragmentSize = statFs.BlockSize;
        s.Blocks = statFs.TotalBlocks;
        s.BlocksFree = statFs.FreeBlocks;
        s.BlocksAvailable = statFs.AvailableBlocks;
        s.Files = statFs.TotalFiles;
        s.FilesFree = statFs.FreeFiles;
        s.FilesAvailable = statFs.FreeFiles;
        s.NameMax = statFs.MaxNameLength;
        if (_session.EnterReply())
        {
            try
            {
                FuseNative.ReplyStatfs(_req, &s);
            }
            finally
            {
                _session.ExitReply();
            }
        }
    }

    /// <summary>
    /// Packs directory entries from <paramref name="startIndex"/> into <paramref name="buffer"/> the way readdir(plus)
    /// wants them; index 0 is ".", 1 is "..", and entry i has next-offset i + 1. For readdirplus every packed entry
    /// other than the dots is one kernel reference, counted before the reply leaves. Returns the bytes used.
    /// </summary>
    public int FillDirectory(Span<byte> buffer, ulong directoryInode, IReadOnlyList<FuseDirectoryEntry> entries, long startIndex, bool plus)
    {
        int used = 0;
        long total = entries.Count + 2L;
        Span<byte> nameBuffer = stackalloc byte[512];
        fixed (byte* start = buffer)
        {
            for (long index = Math.Max(0, startIndex); index < total; index++)
            {
                ReadOnlySpan<byte> name;
                FuseAttributes attributes;
                bool dot = index < 2;
                if (dot)
                {
                    name = index == 0 ? "."u8 : ".."u8;
                    // glibc hides entries whose d_ino is 0; ".." gets the root's number when its own is not known.
                    attributes = new FuseAttributes(index == 0 ? directoryInode : 1, FileTypeBits.Directory, 2, 0, default, default, default);
                }
                else
                {
                    FuseDirectoryEntry entry = entries[(int)(index - 2)];
                    name = entry.Name;
                    attributes = entry.Attributes;
                }

                Span<byte> z = name.Length < nameBuffer.Length ? nameBuffer : new byte[name.Length + 1];
                name.CopyTo(z);
                z[name.Length] = 0;
                nuint room = (nuint)(buffer.Length - used);
                nuint needed;
                fixed (byte* namePtr = z)
                {
                    if (plus)
                    {
                        FuseEntryParam param = dot ? default : _session.ToEntryParam(attributes);
                        if (dot)
                        {
                            // Dots carry no reference: inode 0 tells the kernel not to link them.
                            param.Attr = _session.ToStat(attributes);
                            param.Attr.Ino = attributes.Inode;
                        }

                        needed = FuseNative.AddDirEntryPlus(_req, start + used, room, namePtr, &param, index + 1);
                    }
                    else
                    {
                        Stat stat = _session.ToStat(attributes);
                        needed = FuseNative.AddDirEntry(_req, start + used, room, namePtr, &stat, index + 1);
                    }
                }

                if (needed > room)
                {
                    break;
                }

                used += (int)needed;
                if (plus && !dot)
                {
                    _session.FileSystem.AddLookupReference(attributes.Inode);
                }
            }
        }

        return used;
    }
}
