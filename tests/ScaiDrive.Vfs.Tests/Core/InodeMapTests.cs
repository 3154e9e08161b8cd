using ScaiDrive.Vfs.Namespace;
using ScaiDrive.Vfs.Tests.Reading;
using Xunit;

namespace ScaiDrive.Vfs.Tests.Core;

public sealed class InodeMapTests
{
    [Fact]
    public void AnIdWhoseInodePassedToAnotherIdGetsANumberOfItsOwn()
    {
        using var map = new InodeMap(null);
        ulong local = map.GetOrAssign("stg_local");
        map.Bind("fil_draft", local);      // the new file lands
        map.Bind("fil_letter", local);     // and is renamed over letter: its node takes letter's ID

        Assert.Equal(local, map.GetOrAssign("fil_letter"));
        ulong draft = map.GetOrAssign("fil_draft");
        Assert.NotEqual(local, draft);
        Assert.Equal(draft, map.GetOrAssign("fil_draft"));
    }

    [Fact]
    public void TheHandoverSurvivesAReload()
    {
        using var temp = new TempDirectory();
        ulong local;
        using (var map = new InodeMap(temp.Path))
        {
            local = map.GetOrAssign("stg_local");
            map.Bind("fil_draft", local);
            map.Bind("fil_letter", local);
        }

        using var reloaded = new InodeMap(temp.Path);
        Assert.Equal(local, reloaded.GetOrAssign("fil_letter"));
        Assert.NotEqual(local, reloaded.GetOrAssign("fil_draft"));
    }
}
