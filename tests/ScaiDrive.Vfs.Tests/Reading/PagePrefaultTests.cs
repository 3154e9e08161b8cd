using System.Runtime.InteropServices;
using ScaiDrive.Vfs.Reading;
using Xunit;

namespace ScaiDrive.Vfs.Tests.Reading;

public sealed unsafe class PagePrefaultTests
{
    private const int PageSize = 4096;

    [Fact]
    public void PopulateMakesEveryWholePageOfTheRangeResident()
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Skip("madvise(MADV_POPULATE_WRITE) is Linux only");
        }

        const int pages = 256;
        // A fresh anonymous mapping: nothing is resident until touched.
        nint map = Mmap(0, pages * PageSize, ProtRead | ProtWrite, MapPrivate | MapAnonymous, -1, 0);
        Assert.NotEqual(-1, map);
        try
        {
            Assert.Equal(0, ResidentPages(map, pages));

            // An unaligned range: only the pages wholly inside it are populated.
            Assert.True(PagePrefault.Populate(map + 100, (nuint)(pages * PageSize - 200)));

            Assert.Equal(pages - 2, ResidentPages(map, pages));
        }
        finally
        {
            Munmap(map, pages * PageSize);
        }
    }

    [Fact]
    public void PopulatingABlockBufferKeepsItsContentUsable()
    {
        byte[] buffer = GC.AllocateUninitializedArray<byte>(1024 * 1024);
        PagePrefault.Populate(buffer);
        buffer.AsSpan().Fill(0x5A);
        Assert.All(buffer, b => Assert.Equal(0x5A, b));
    }

    private static int ResidentPages(nint address, int pages)
    {
        byte[] vector = new byte[pages];
        fixed (byte* v = vector)
        {
            Assert.Equal(0, Mincore(address, (nuint)(pages * PageSize), v));
        }

        return vector.Count(b => (b & 1) != 0);
    }

    private const int ProtRead = 1, ProtWrite = 2, MapPrivate = 2, MapAnonymous = 0x20;

    [DllImport("libc", EntryPoint = "mmap")]
    private static extern nint Mmap(nint address, nuint length, int prot, int flags, int fd, nint offset);

    [DllImport("libc", EntryPoint = "munmap")]
    private static extern int Munmap(nint address, nuint length);

    [DllImport("libc", EntryPoint = "mincore")]
    private static extern int Mincore(nint address, nuint length, byte* vector);
}
