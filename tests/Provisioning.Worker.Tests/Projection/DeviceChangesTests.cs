using System.Text;
using Provisioning.Worker.Projection;

namespace Provisioning.Worker.Tests.Projection;

public sealed class DeviceChangesTests : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("device-changes-");

    [Fact]
    public async Task A_full_read_gives_back_every_line_and_username_in_order_and_leaves_no_file_in_the_directory()
    {
        // Given
        await using var all = DeviceChanges.Everything(_directory.FullName);

        // When
        await all.ActiveAsync("acme.a", "$7$101$x$y", CancellationToken.None);
        await all.ActiveAsync("globex.b", "$7$101$z$w", CancellationToken.None);
        all.Inactive("acme.gone");

        // Then: the fleet is not in a file anyone can see, and both readers get the same devices
        Assert.Empty(_directory.GetFileSystemInfos());
        Assert.True(all.IsFull);
        Assert.Equal(2, all.Count);
        using var copy = new MemoryStream();
        await all.CopyAllLinesToAsync(copy, CancellationToken.None);
        Assert.Equal("acme.a:$7$101$x$y\nglobex.b:$7$101$z$w\n", Encoding.UTF8.GetString(copy.ToArray()));
        var usernames = new List<string>();
        await foreach (var username in all.AllUsernamesAsync(CancellationToken.None))
        {
            usernames.Add(username);
        }

        Assert.Equal(["acme.a", "globex.b"], usernames);
    }

    [Fact]
    public async Task Changes_since_the_last_cycle_keep_the_last_state_of_each_device()
    {
        // Given
        await using var changes = DeviceChanges.Since();

        // When
        await changes.ActiveAsync("acme.a", "h1", CancellationToken.None);
        changes.Inactive("acme.a");
        await changes.ActiveAsync("acme.b", "h2", CancellationToken.None);

        // Then
        Assert.False(changes.IsFull);
        Assert.Equal(2, changes.Count);
        Assert.Null(changes.Changed["acme.a"]);
        Assert.Equal("h2", changes.Changed["acme.b"]);
        await Assert.ThrowsAsync<InvalidOperationException>(() => changes.CopyAllLinesToAsync(Stream.Null, CancellationToken.None));
    }

    public void Dispose() => _directory.Delete(recursive: true);
}
