using System.Buffers.Binary;

namespace ScaiDrive.WinFsp;

/// <summary>
/// The self-relative security descriptors we hand to WinFsp (it checks access with them before calling us).
/// The server has roles, not ACLs (docs/scaidrive-api.md §3), so every node gets one of two fixed descriptors:
/// owner and group BUILTIN\Administrators, a protected DACL allowing SYSTEM and Administrators full access and
/// Everyone either full access (writable) or read and execute (read-only shares and mounts). Built by hand from the
/// documented binary format (MS-DTYP 2.4.6) so that they exist on every platform and tests can read them back.
/// </summary>
internal static class SecurityDescriptors
{
    // Static initializers run in text order: the SIDs come before the descriptors built from them.
    internal static readonly byte[] s_localSystem = Sid(5, 18);          // S-1-5-18
    internal static readonly byte[] s_administrators = Sid(5, 32, 544);  // S-1-5-32-544
    internal static readonly byte[] s_everyone = Sid(1, 0);              // S-1-1-0

    // O:BAG:BAD:P(A;;FA;;;SY)(A;;FA;;;BA)(A;;FA;;;WD)
    public static readonly byte[] Writable = Build(everyoneMask: Interop.Win32.FileAllAccess);

    // O:BAG:BAD:P(A;;FA;;;SY)(A;;FA;;;BA)(A;;FRFX;;;WD)
    public static readonly byte[] ReadOnly = Build(everyoneMask: Interop.Win32.FileGenericRead | Interop.Win32.FileGenericExecute);

    private const ushort SeDaclPresent = 0x0004;
    private const ushort SeDaclProtected = 0x1000;
    private const ushort SeSelfRelative = 0x8000;

    private static byte[] Build(uint everyoneMask)
    {
        (byte[] Sid, uint Mask)[] aces =
        [
            (s_localSystem, Interop.Win32.FileAllAccess),
            (s_administrators, Interop.Win32.FileAllAccess),
            (s_everyone, everyoneMask),
        ];
        int aclSize = 8 + aces.Sum(a => 8 + a.Sid.Length);
        const int headerSize = 20;
        int ownerOffset = headerSize;
        int groupOffset = ownerOffset + s_administrators.Length;
        int daclOffset = groupOffset + s_administrators.Length;
        byte[] descriptor = new byte[daclOffset + aclSize];
        Span<byte> d = descriptor;

        d[0] = 1; // Revision
        BinaryPrimitives.WriteUInt16LittleEndian(d[2..], SeSelfRelative | SeDaclPresent | SeDaclProtected);
        BinaryPrimitives.WriteUInt32LittleEndian(d[4..], (uint)ownerOffset);
        BinaryPrimitives.WriteUInt32LittleEndian(d[8..], (uint)groupOffset);
        BinaryPrimitives.WriteUInt32LittleEndian(d[12..], 0); // no SACL
        BinaryPrimitives.WriteUInt32LittleEndian(d[16..], (uint)daclOffset);
        s_administrators.CopyTo(d[ownerOffset..]);
        s_administrators.CopyTo(d[groupOffset..]);

        Span<byte> acl = d[daclOffset..];
        acl[0] = 2; // ACL_REVISION
        BinaryPrimitives.WriteUInt16LittleEndian(acl[2..], (ushort)aclSize);
        BinaryPrimitives.WriteUInt16LittleEndian(acl[4..], (ushort)aces.Length);
        int at = 8;
        foreach ((byte[] sid, uint mask) in aces)
        {
            acl[at] = 0; // ACCESS_ALLOWED_ACE_TYPE
            acl[at + 1] = 0; // no inheritance flags: WinFsp asks us for every node
            BinaryPrimitives.WriteUInt16LittleEndian(acl[(at + 2)..], (ushort)(8 + sid.Length));
            BinaryPrimitives.WriteUInt32LittleEndian(acl[(at + 4)..], mask);
            sid.CopyTo(acl[(at + 8)..]);
            at += 8 + sid.Length;
        }

        return descriptor;
    }

    private static byte[] Sid(byte authority, params uint[] subAuthorities)
    {
        byte[] sid = new byte[8 + (4 * subAuthorities.Length)];
        sid[0] = 1; // Revision
        sid[1] = (byte)subAuthorities.Length;
        sid[7] = authority; // 48-bit big-endian identifier authority
        for (int i = 0; i < subAuthorities.Length; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(sid.AsSpan(8 + (4 * i)), subAuthorities[i]);
        }

        return sid;
    }
}
