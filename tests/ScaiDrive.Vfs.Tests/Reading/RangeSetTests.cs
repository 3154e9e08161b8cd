using ScaiDrive.Vfs.Reading;
using Xunit;

namespace ScaiDrive.Vfs.Tests.Reading;

public sealed class RangeSetTests
{
    [Fact]
    public void AddMergesTouchingAndOverlappingRanges()
    {
        var set = new RangeSet();
        set.Add(10, 20);
        set.Add(30, 40);
        set.Add(20, 30);
        Assert.Equal([new ByteRange(10, 40)], set.Ranges);
        Assert.Equal(30, set.TotalBytes);

        set.Add(0, 5);
        set.Add(35, 50);
        Assert.Equal([new ByteRange(0, 5), new ByteRange(10, 50)], set.Ranges);
        Assert.Equal(45, set.TotalBytes);
    }

    [Fact]
    public void ContainsAndMissingBytes()
    {
        var set = new RangeSet();
        set.Add(0, 100);
        set.Add(200, 300);
        Assert.True(set.Contains(0, 100));
        Assert.True(set.Contains(250, 300));
        Assert.False(set.Contains(50, 150));
        Assert.False(set.Contains(300, 301));
        Assert.True(set.Contains(500, 500));
        Assert.Equal(100, set.MissingBytes(50, 250));
        Assert.Equal(0, set.MissingBytes(200, 300));
        Assert.Equal(10, set.MissingBytes(300, 310));
    }

    [Fact]
    public void RemoveSplitsRanges()
    {
        var set = new RangeSet();
        set.Add(0, 100);
        set.Remove(40, 60);
        Assert.Equal([new ByteRange(0, 40), new ByteRange(60, 100)], set.Ranges);
        Assert.Equal(80, set.TotalBytes);
        set.Remove(0, 1000);
        Assert.Empty(set.Ranges);
        Assert.Equal(0, set.TotalBytes);
    }

    [Fact]
    public void MatchesABitmapModelUnderRandomOperations()
    {
        var random = new Random(42);
        var set = new RangeSet();
        var model = new bool[512];
        for (int step = 0; step < 2000; step++)
        {
            int a = random.Next(512);
            int b = Math.Min(512, a + random.Next(40));
            if (random.Next(3) == 0)
            {
                set.Remove(a, b);
                Array.Fill(model, false, a, b - a);
            }
            else
            {
                set.Add(a, b);
                Array.Fill(model, true, a, b - a);
            }

            Assert.Equal(model.Count(x => x), set.TotalBytes);
            int c = random.Next(512);
            int d = Math.Min(512, c + random.Next(1, 30));
            Assert.Equal(model.AsSpan(c, d - c).IndexOf(false) < 0, set.Contains(c, d));
            Assert.Equal(model.AsSpan(c, d - c).Count(false), set.MissingBytes(c, d));
        }
    }
}
