using ScaiDrive.Vfs.Reading;
using Xunit;

namespace ScaiDrive.Vfs.Tests.Reading;

public sealed class ReadAheadPolicyTests
{
    private const long MiB = 1024 * 1024;
    private static readonly ReadAheadSettings s_settings = new(MiB, 64 * MiB, 2 * MiB, 4);

    [Fact]
    public void SequentialReadsFromStartGrowTheWindowUpToTheMaximum()
    {
        var policy = new ReadAheadPolicy(s_settings);
        Assert.Equal(ReadAheadObservation.Sequential, policy.Observe(0, 128 * 1024));
        Assert.Equal(MiB, policy.Window);

        long previous = policy.Window;
        long offset = 128 * 1024;
        int doublings = 0;
        while (offset < 256 * MiB)
        {
            Assert.Equal(ReadAheadObservation.Sequential, policy.Observe(offset, 128 * 1024));
            offset += 128 * 1024;
            Assert.True(policy.Window == previous || policy.Window == previous * 2, "the window only ever doubles");
            doublings += policy.Window != previous ? 1 : 0;
            previous = policy.Window;
            Assert.Equal(offset + policy.Window, policy.DesiredEnd);
        }

        Assert.Equal(64 * MiB, policy.Window);
        Assert.Equal(6, doublings);
    }

    [Fact]
    public void WindowReachesMaximumAfterAboutAQuarterOfItsSizeTimesTwo()
    {
        var policy = new ReadAheadPolicy(s_settings);
        long offset = 0;
        while (policy.Window < 64 * MiB)
        {
            policy.Observe(offset, 128 * 1024);
            offset += 128 * 1024;
        }

        // 1/4 of 1+2+...+32 MiB is about 16 MiB: the ramp costs little of a large read.
        Assert.InRange(offset, 12 * MiB, 20 * MiB);
    }

    [Fact]
    public void FirstReadAwayFromStartIsRandomAndAFollowingReadStartsARun()
    {
        var policy = new ReadAheadPolicy(s_settings);
        Assert.Equal(ReadAheadObservation.Random, policy.Observe(100 * MiB, 4096));
        Assert.Equal(0, policy.Window);
        Assert.Equal(ReadAheadObservation.Sequential, policy.Observe((100 * MiB) + 4096, 4096));
        Assert.Equal(MiB, policy.Window);
    }

    [Fact]
    public void OutOfOrderParallelReadsStaySequential()
    {
        var policy = new ReadAheadPolicy(s_settings);
        long[] order = [0, 256, 128, 512, 384, 640, 896, 768];
        foreach (long k in order)
        {
            Assert.Equal(ReadAheadObservation.Sequential, policy.Observe(k * 1024, 128 * 1024));
        }

        Assert.True(policy.Window >= MiB);
    }

    [Fact]
    public void SeekResetsTheWindow()
    {
        var policy = new ReadAheadPolicy(s_settings);
        for (long offset = 0; offset < 8 * MiB; offset += 128 * 1024)
        {
            policy.Observe(offset, 128 * 1024);
        }

        Assert.True(policy.Window > MiB);
        Assert.Equal(ReadAheadObservation.Reset, policy.Observe(500 * MiB, 128 * 1024));
        Assert.Equal(0, policy.Window);
        Assert.Equal(ReadAheadObservation.Random, policy.Observe(0, 128 * 1024));
        Assert.Equal(0, policy.Window);
        Assert.Equal(ReadAheadObservation.Sequential, policy.Observe(128 * 1024, 128 * 1024));
        Assert.Equal(MiB, policy.Window);
    }

    [Fact]
    public void LargeBackwardSeekIsRandom()
    {
        var policy = new ReadAheadPolicy(s_settings);
        for (long offset = 0; offset < 16 * MiB; offset += MiB)
        {
            policy.Observe(offset, MiB);
        }

        Assert.Equal(ReadAheadObservation.Reset, policy.Observe(4 * MiB, MiB));
    }
}
