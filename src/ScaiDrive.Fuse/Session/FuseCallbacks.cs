using System.Runtime.InteropServices;
using ScaiDrive.Fuse.Interop;

namespace ScaiDrive.Fuse.Session;

/// <summary>
/// The native entry points libfuse calls on its loop threads. Each copies what it needs out of the request (names,
/// write data, fuse_file_info fields are valid only during the call), hands off to <see cref="FuseSession"/>, and
/// returns without waiting: the reply comes later from the task. Nothing may throw out of an
/// <see cref="UnmanagedCallersOnly"/> method (it would kill the process), so each catches everything and, when the
/// hand-off itself failed, answers the request on the spot.
/// </summary>
internal static unsafe class FuseCallbacks
{
    public static FuseLowLevelOps* CreateOps()
    {
        var ops = (FuseLowLevelOps*)NativeMemory.AllocZeroed((nuint)sizeof(FuseLowLevelOps));
        ops->Init = &OnInit;
        ops->Destroy = &OnDestroy;
        ops->Lookup = &OnLookup;
        ops->Forget = &OnForget;
        ops->GetAttr = &OnGetAttr;
        ops->SetAttr = &OnSetAttr;
        ops->ReadLink = &OnReadLink;
        ops->MkNod = &OnMkNod;
        ops->MkDir = &OnMkDir;
        ops->Unlink = &OnUnlink;
        ops->RmDir = &OnRmDir;
        ops->Symlink = &OnSymlink;
        ops->Rename = &OnRename;
        ops->Link = &OnLink;
        ops->Open = &OnOpen;
        ops->Read = &OnRead;
        ops->Write = &OnWrite;
        ops->Flush = &OnFlush;
        ops->Release = &OnRelease;
        ops->Fsync = &OnFsync;
        ops->OpenDir = &OnOpenDir;
        ops->ReadDir = &OnReadDir;
        ops->ReleaseDir = &OnReleaseDir;
        ops->FsyncDir = &OnFsyncDir;
        ops->StatFs = &OnStatFs;
        ops->SetXattr = &OnSetXattr;
        ops->GetXattr = &OnGetXattr;
        ops->ListXattr = &OnListXattr;
        ops->RemoveXattr = &OnRemoveXattr;
        ops->Access = &OnAccess;
        ops->Create = &OnCreate;
        ops->ForgetMulti = &OnForgetMulti;
        ops->ReadDirPlus = &OnReadDirPlus;
        return ops;
    }

    private static FuseSession SessionOf(nint req) => FuseSession.FromUserData(FuseNative.ReqUserData(req));

    private static byte[] CopyName(byte* name) => new ReadOnlySpan<byte>(name, checked((int)strlen(name))).ToArray();

    private static nuint strlen(byte* s)
    {
        byte* p = s;
        while (*p != 0)
        {
            p++;
        }

        return (nuint)(p - s);
    }

    /// <summary>The request could not be handed off: answer it here (never throws).</summary>
    private static void Fail(nint req, FuseSession? session, Exception exception)
    {
        try
        {
            if (session is not null)
            {
                session.OnDispatchFailed(exception);
                new FuseRequest(req, session).ReplyError(ErrnoMap.FromException(exception));
            }
            else
            {
                FuseNative.ReplyErr(req, Errno.EIO);
            }
        }
        catch
        {
            // Nothing sensible is left to do; the process must survive.
        }
    }

    private static void ForgetFailed(nint req, FuseSession? session, Exception exception)
    {
        try
        {
            if (session is not null)
            {
                session.OnDispatchFailed(exception);
                new FuseRequest(req, session).ReplyNone();
            }
            else
            {
                FuseNative.ReplyNone(req);
            }
        }
        catch
        {
            // The process must survive.
        }
    }

    private static FuseRequest Begin(nint req, out FuseSession session)
    {
        session = SessionOf(req);
        session.BeginRequest();
        return new FuseRequest(req, session);
    }

    [UnmanagedCallersOnly]
    private static void OnInit(nint userData, FuseConnInfo* conn)
    {
        try
        {
            FuseSession.FromUserData(userData).OnInit(conn);
        }
        catch
        {
            // OnInit catches and records its own failures.
        }
    }

    [UnmanagedCallersOnly]
    private static void OnDestroy(nint userData)
    {
    }

    [UnmanagedCallersOnly]
    private static void OnLookup(nint req, ulong parent, byte* name)
    {
        FuseSession? s = null;
        try
        {
            FuseRequest r = Begin(req, out s);
            s.Lookup(r, parent, CopyName(name));
        }
        catch (Exception e)
        {
            Fail(req, s, e);
        }
    }

    [UnmanagedCallersOnly]
    private static void OnForget(nint req, ulong ino, ulong count)
    {
        FuseSession? s = null;
        try
        {
            FuseRequest r = Begin(req, out s);
            s.Forget(r, ino, count);
        }
        catch (Exception e)
        {
            // forget has no error reply: free the request.
            ForgetFailed(req, s, e);
        }
    }

    [UnmanagedCallersOnly]
    private static void OnForgetMulti(nint req, nuint count, FuseForgetData* forgets)
    {
        FuseSession? s = null;
        try
        {
            FuseRequest r = Begin(req, out s);
            var copy = new FuseForgetData[(int)count];
            new ReadOnlySpan<FuseForgetData>(forgets, (int)count).CopyTo(copy);
            s.ForgetMany(r, copy);
        }
        catch (Exception e)
        {
            ForgetFailed(req, s, e);
        }
    }

    [UnmanagedCallersOnly]
    private static void OnGetAttr(nint req, ulong ino, FuseFileInfo* fi)
    {
        FuseSession? s = null;
        try
        {
            FuseRequest r = Begin(req, out s);
            s.GetAttributes(r, ino, fi is null ? null : fi->Fh);
        }
        catch (Exception e)
        {
            Fail(req, s, e);
        }
    }

    [UnmanagedCallersOnly]
    private static void OnSetAttr(nint req, ulong ino, Stat* attr, int toSet, FuseFileInfo* fi)
    {
        FuseSession? s = null;
        try
        {
            FuseRequest r = Begin(req, out s);
            DateTimeOffset now = s.Now;
            var changes = new FuseSetAttributes
            {
                Size = (toSet & FuseConstants.SetAttrSize) != 0 ? attr->Size : null,
                Mode = (toSet & FuseConstants.SetAttrMode) != 0 ? attr->Mode : null,
                Uid = (toSet & FuseConstants.SetAttrUid) != 0 ? attr->Uid : null,
                Gid = (toSet & FuseConstants.SetAttrGid) != 0 ? attr->Gid : null,
                AccessedAt = (toSet & FuseConstants.SetAttrAtimeNow) != 0 ? now
                    : (toSet & FuseConstants.SetAttrAtime) != 0 ? attr->AccessTime.ToDateTimeOffset() : null,
                ModifiedAt = (toSet & FuseConstants.SetAttrMtimeNow) != 0 ? now
                    : (toSet & FuseConstants.SetAttrMtime) != 0 ? attr->ModifyTime.ToDateTimeOffset() : null,
            };
            s.SetAttributes(r, ino, changes, fi is null ? null : fi->Fh);
        }
        catch (Exception e)
        {
            Fail(req, s, e);
        }
    }

    [UnmanagedCallersOnly]
    private static void OnReadLink(nint req, ulong ino)
    {
        // No symbolic links exist on this filesystem: readlink of anything is EINVAL, as for a regular file.
        FuseSession? s = null;
        try
        {
            Begin(req, out s).ReplyError(Errno.EINVAL);
        }
        catch (Exception e)
        {
            Fail(req, s, e);
        }
    }

    [UnmanagedCallersOnly]
    private static void OnMkNod(nint req, ulong parent, byte* name, uint mode, ulong rdev)
    {
        FuseSession? s = null;
        try
        {
            FuseRequest r = Begin(req, out s);
            s.MakeNode(r, parent, CopyName(name), mode);
        }
        catch (Exception e)
        {
            Fail(req, s, e);
        }
    }

    [UnmanagedCallersOnly]
    private static void OnMkDir(nint req, ulong parent, byte* name, uint mode)
    {
        FuseSession? s = null;
        try
        {
            FuseRequest r = Begin(req, out s);
            s.MakeDirectory(r, parent, CopyName(name), mode);
        }
        catch (Exception e)
        {
            Fail(req, s, e);
        }
    }

    [UnmanagedCallersOnly]
    private static void OnUnlink(nint req, ulong parent, byte* name)
    {
        FuseSession? s = null;
        try
        {
            FuseRequest r = Begin(req, out s);
            s.Unlink(r, parent, CopyName(name));
        }
        catch (Exception e)
        {
            Fail(req, s, e);
        }
    }

    [UnmanagedCallersOnly]
    private static void OnRmDir(nint req, ulong parent, byte* name)
    {
        FuseSession? s = null;
        try
        {
            FuseRequest r = Begin(req, out s);
            s.RemoveDirectory(r, parent, CopyName(name));
        }
        catch (Exception e)
        {
            Fail(req, s, e);
        }
    }

    [UnmanagedCallersOnly]
    private static void OnSymlink(nint req, byte* link, ulong parent, byte* name)
    {
        // The server stores no symbolic links: EPERM is symlink(2)'s "filesystem does not support symlinks".
        FuseSession? s = null;
        try
        {
            Begin(req, out s).ReplyError(Errno.EPERM);
        }
        catch (Exception e)
        {
            Fail(req, s, e);
        }
    }

    [UnmanagedCallersOnly]
    private static void OnLink(nint req, ulong ino, ulong newParent, byte* newName)
    {
        // No hard links: EPERM is link(2)'s "filesystem does not support hard links".
        FuseSession? s = null;
        try
        {
            Begin(req, out s).ReplyError(Errno.EPERM);
        }
        catch (Exception e)
        {
            Fail(req, s, e);
        }
    }

    [UnmanagedCallersOnly]
    private static void OnRename(nint req, ulong parent, byte* name, ulong newParent, byte* newName, uint flags)
    {
        FuseSession? s = null;
        try
        {
            FuseRequest r = Begin(req, out s);
            s.Rename(r, parent, CopyName(name), newParent, CopyName(newName), flags);
        }
        catch (Exception e)
        {
            Fail(req, s, e);
        }
    }

    [UnmanagedCallersOnly]
    private static void OnOpen(nint req, ulong ino, FuseFileInfo* fi)
    {
        FuseSession? s = null;
        try
        {
            FuseRequest r = Begin(req, out s);
            s.Open(r, ino, fi->Flags);
        }
        catch (Exception e)
        {
            Fail(req, s, e);
        }
    }

    [UnmanagedCallersOnly]
    private static void OnCreate(nint req, ulong parent, byte* name, uint mode, FuseFileInfo* fi)
    {
        FuseSession? s = null;
        try
        {
            FuseRequest r = Begin(req, out s);
            s.Create(r, parent, CopyName(name), mode, fi->Flags);
        }
        catch (Exception e)
        {
            Fail(req, s, e);
        }
    }

    [UnmanagedCallersOnly]
    private static void OnRead(nint req, ulong ino, nuint size, long offset, FuseFileInfo* fi)
    {
        FuseSession? s = null;
        try
        {
            FuseRequest r = Begin(req, out s);
            s.Read(r, ino, fi->Fh, offset, checked((int)size));
        }
        catch (Exception e)
        {
            Fail(req, s, e);
        }
    }

    [UnmanagedCallersOnly]
    private static void OnWrite(nint req, ulong ino, byte* buffer, nuint size, long offset, FuseFileInfo* fi)
    {
        FuseSession? s = null;
        try
        {
            FuseRequest r = Begin(req, out s);
            s.Write(r, ino, fi->Fh, offset, new ReadOnlySpan<byte>(buffer, checked((int)size)));
        }
        catch (Exception e)
        {
            Fail(req, s, e);
        }
    }

    [UnmanagedCallersOnly]
    private static void OnFlush(nint req, ulong ino, FuseFileInfo* fi)
    {
        FuseSession? s = null;
        try
        {
            FuseRequest r = Begin(req, out s);
            s.Flush(r, ino, fi->Fh);
        }
        catch (Exception e)
        {
            Fail(req, s, e);
        }
    }

    [UnmanagedCallersOnly]
    private static void OnRelease(nint req, ulong ino, FuseFileInfo* fi)
    {
        FuseSession? s = null;
        try
        {
            FuseRequest r = Begin(req, out s);
            s.Release(r, ino, fi->Fh);
        }
        catch (Exception e)
        {
            Fail(req, s, e);
        }
    }

    [UnmanagedCallersOnly]
    private static void OnFsync(nint req, ulong ino, int dataSync, FuseFileInfo* fi)
    {
        FuseSession? s = null;
        try
        {
            FuseRequest r = Begin(req, out s);
            s.Fsync(r, ino, fi->Fh, dataSync != 0);
        }
        catch (Exception e)
        {
            Fail(req, s, e);
        }
    }

    [UnmanagedCallersOnly]
    private static void OnOpenDir(nint req, ulong ino, FuseFileInfo* fi)
    {
        FuseSession? s = null;
        try
        {
            FuseRequest r = Begin(req, out s);
            s.OpenDirectory(r, ino);
        }
        catch (Exception e)
        {
            Fail(req, s, e);
        }
    }

    [UnmanagedCallersOnly]
    private static void OnReadDir(nint req, ulong ino, nuint size, long offset, FuseFileInfo* fi)
    {
        FuseSession? s = null;
        try
        {
            FuseRequest r = Begin(req, out s);
            s.ReadDirectory(r, ino, fi->Fh, offset, checked((int)size), plus: false);
        }
        catch (Exception e)
        {
            Fail(req, s, e);
        }
    }

    [UnmanagedCallersOnly]
    private static void OnReadDirPlus(nint req, ulong ino, nuint size, long offset, FuseFileInfo* fi)
    {
        FuseSession? s = null;
        try
        {
            FuseRequest r = Begin(req, out s);
            s.ReadDirectory(r, ino, fi->Fh, offset, checked((int)size), plus: true);
        }
        catch (Exception e)
        {
            Fail(req, s, e);
        }
    }

    [UnmanagedCallersOnly]
    private static void OnReleaseDir(nint req, ulong ino, FuseFileInfo* fi)
    {
        FuseSession? s = null;
        try
        {
            FuseRequest r = Begin(req, out s);
            s.ReleaseDirectory(r, fi->Fh);
        }
        catch (Exception e)
        {
            Fail(req, s, e);
        }
    }

    [UnmanagedCallersOnly]
    private static void OnFsyncDir(nint req, ulong ino, int dataSync, FuseFileInfo* fi)
    {
        // Directory changes go to the server as they happen: nothing is pending for a directory.
        FuseSession? s = null;
        try
        {
            Begin(req, out s).ReplyOk();
        }
        catch (Exception e)
        {
            Fail(req, s, e);
        }
    }

    [UnmanagedCallersOnly]
    private static void OnStatFs(nint req, ulong ino)
    {
        FuseSession? s = null;
        try
        {
            FuseRequest r = Begin(req, out s);
            s.StatFs(r, ino);
        }
        catch (Exception e)
        {
            Fail(req, s, e);
        }
    }

    [UnmanagedCallersOnly]
    private static void OnSetXattr(nint req, ulong ino, byte* name, byte* value, nuint size, int flags)
    {
        FuseSession? s = null;
        try
        {
            FuseRequest r = Begin(req, out s);
            s.SetExtendedAttribute(r, ino, CopyName(name), new ReadOnlySpan<byte>(value, checked((int)size)).ToArray(), flags);
        }
        catch (Exception e)
        {
            Fail(req, s, e);
        }
    }

    [UnmanagedCallersOnly]
    private static void OnGetXattr(nint req, ulong ino, byte* name, nuint size)
    {
        FuseSession? s = null;
        try
        {
            FuseRequest r = Begin(req, out s);
            s.GetExtendedAttribute(r, ino, CopyName(name), checked((int)size));
        }
        catch (Exception e)
        {
            Fail(req, s, e);
        }
    }

    [UnmanagedCallersOnly]
    private static void OnListXattr(nint req, ulong ino, nuint size)
    {
        FuseSession? s = null;
        try
        {
            FuseRequest r = Begin(req, out s);
            s.ListExtendedAttributes(r, ino, checked((int)size));
        }
        catch (Exception e)
        {
            Fail(req, s, e);
        }
    }

    [UnmanagedCallersOnly]
    private static void OnRemoveXattr(nint req, ulong ino, byte* name)
    {
        FuseSession? s = null;
        try
        {
            FuseRequest r = Begin(req, out s);
            s.RemoveExtendedAttribute(r, ino, CopyName(name));
        }
        catch (Exception e)
        {
            Fail(req, s, e);
        }
    }

    [UnmanagedCallersOnly]
    private static void OnAccess(nint req, ulong ino, int mask)
    {
        FuseSession? s = null;
        try
        {
            FuseRequest r = Begin(req, out s);
            s.Access(r, ino, mask);
        }
        catch (Exception e)
        {
            Fail(req, s, e);
        }
    }
}
