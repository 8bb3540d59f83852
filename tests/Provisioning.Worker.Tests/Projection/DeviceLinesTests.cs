using System.Text;
using Provisioning.Worker.Projection;

namespace Provisioning.Worker.Tests.Projection;

public class DeviceLinesTests
{
    [Fact]
    public async Task Lines_are_written_as_user_colon_hash_and_changes_are_reported_only_when_real()
    {
        // Given
        var lines = new DeviceLines();

        // When / Then
        Assert.True(lines.Set("a.b", "$7$101$x$y"));
        Assert.False(lines.Set("a.b", "$7$101$x$y"));
        Assert.True(lines.Set("a.b", "$7$101$x$z"));
        Assert.True(lines.Set("a.c", "$7$101$q$r"));
        Assert.True(lines.Remove("a.c"));
        Assert.False(lines.Remove("a.c"));

        using var stream = new MemoryStream();
        await lines.WriteToAsync(stream, CancellationToken.None);
        Assert.Equal("a.b:$7$101$x$z\n", Encoding.UTF8.GetString(stream.ToArray()));
        Assert.Equal(1, lines.Count);
    }
}
