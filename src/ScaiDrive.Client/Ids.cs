namespace ScaiDrive.Client;

// Typed IDs: a file ID is not a bare string. The server's IDs are opaque prefixed strings
// (fil_, fld_, shr_, ver_, ups_, lnk_, usr_); we never parse them.

/// <summary>ID of a share (<c>shr_…</c>).</summary>
public readonly record struct ShareId(string Value)
{
    public override string ToString() => Value;
}

/// <summary>ID of a folder (<c>fld_…</c>). The share root has no folder ID; APIs take <c>null</c> for it.</summary>
public readonly record struct FolderId(string Value)
{
    public override string ToString() => Value;
}

/// <summary>ID of a file (<c>fil_…</c>).</summary>
public readonly record struct FileId(string Value)
{
    public override string ToString() => Value;
}

/// <summary>ID of one version of a file (<c>ver_…</c>).</summary>
public readonly record struct VersionId(string Value)
{
    public override string ToString() => Value;
}

/// <summary>ID of a resumable upload session (<c>ups_…</c>).</summary>
public readonly record struct UploadSessionId(string Value)
{
    public override string ToString() => Value;
}

/// <summary>ID of an external link (<c>lnk_…</c>).</summary>
public readonly record struct LinkId(string Value)
{
    public override string ToString() => Value;
}

/// <summary>Opaque change-feed position. Today the server sends an integer; we keep its text.</summary>
public readonly record struct ChangeCursor(string Value)
{
    public override string ToString() => Value;
}
