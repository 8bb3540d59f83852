using System.Text;
using Provisioning.Worker.Mosquitto;

namespace Provisioning.Worker.Tests.Mosquitto;

public class DeviceLinesTests
{
    [Fact]
    public async Task A_merge_keeps_the_unchanged_lines_drops_removed_users_and_appends_the_changed_ones()
    {
        // Given
        var previous = "header-line\nt.a:$7$101$a$a\nt.b:$7$101$b$b\nt.c:$7$101$c$c\n";
        var lines = new DeviceLines();
        lines.Set("t.b", "$7$101$b$new");
        lines.Remove("t.c");
        lines.Set("t.d", "$7$101$d$d");
        lines.Remove("t.unknown");

        // When
        using var input = new MemoryStream(Encoding.UTF8.GetBytes(previous));
        using var output = new MemoryStream();
        var count = await lines.MergeAsync(input, "header-line\n".Length, output, CancellationToken.None);

        // Then
        Assert.Equal("t.a:$7$101$a$a\nt.b:$7$101$b$new\nt.d:$7$101$d$d\n", Encoding.UTF8.GetString(output.ToArray()));
        Assert.Equal(3, count);
    }

    [Fact]
    public async Task A_device_that_moves_to_the_current_username_form_loses_its_earlier_form_line_and_block()
    {
        // Given: lines and blocks of the earlier form tenant.device, as an earlier version wrote them
        var passwd = "t.a:$7$101$a$a\nt.b:$7$101$b$b\nt.c:$7$101$c$c\n";
        var acl = "user t.a\ntopic readwrite devices/t/a/#\nuser t.b\ntopic readwrite devices/t/b/#\n";
        var lines = new DeviceLines();
        lines.Set("t/a", "$7$1$a$new");
        lines.Remove("t/b");
        var blocks = new DeviceLines(DeviceRecordFormat.AclBlock);
        blocks.Remove("t/a");

        // When
        using var passwdOut = new MemoryStream();
        using var aclOut = new MemoryStream();
        await lines.MergeAsync(new MemoryStream(Encoding.UTF8.GetBytes(passwd)), 0, passwdOut, CancellationToken.None);
        await blocks.MergeAsync(new MemoryStream(Encoding.UTF8.GetBytes(acl)), 0, aclOut, CancellationToken.None);

        // Then
        Assert.Equal("t.c:$7$101$c$c\nt/a:$7$1$a$new\n", Encoding.UTF8.GetString(passwdOut.ToArray()));
        Assert.Equal("user t.b\ntopic readwrite devices/t/b/#\n", Encoding.UTF8.GetString(aclOut.ToArray()));
    }

    [Fact]
    public async Task A_merge_without_changes_copies_every_device_line_across_read_boundaries()
    {
        // Given: more than the 1 MiB read buffer, so lines straddle reads
        var builder = new StringBuilder();
        for (var i = 0; i < 20_000; i++)
        {
            builder.Append(System.Globalization.CultureInfo.InvariantCulture, $"tenant.device-{i:D6}:$7$101$salt$0123456789012345678901234567890123456789012345678901234567890123456789\n");
        }

        var content = Encoding.UTF8.GetBytes(builder.ToString());
        using var input = new MemoryStream(content);
        using var output = new MemoryStream();

        // When
        var count = await new DeviceLines().MergeAsync(input, 0, output, CancellationToken.None);

        // Then
        Assert.Equal(20_000, count);
        Assert.Equal(content, output.ToArray());
    }

    [Fact]
    public async Task A_previous_file_cut_in_the_middle_of_a_line_is_refused()
    {
        using var input = new MemoryStream(Encoding.UTF8.GetBytes("t.a:$7$101$a$a\nt.b:$7$1"));
        using var output = new MemoryStream();
        await Assert.ThrowsAsync<InvalidDataException>(() => new DeviceLines().MergeAsync(input, 0, output, CancellationToken.None));
    }

    [Fact]
    public async Task An_acl_merge_drops_and_replaces_whole_blocks_across_read_boundaries()
    {
        // Given: more than the 1 MiB read buffer of two-line blocks
        var builder = new StringBuilder("user probe\ntopic write x\n");
        var header = builder.Length;
        for (var i = 0; i < 20_000; i++)
        {
            builder.Append(System.Globalization.CultureInfo.InvariantCulture, $"user t.d{i:D6}\ntopic readwrite devices/t/d{i:D6}/#\n");
        }

        var blocks = new DeviceLines(DeviceRecordFormat.AclBlock);
        blocks.Remove("t.d000001");
        blocks.Remove("t.d019999");
        blocks.SetRecord("t.d000002", Encoding.UTF8.GetBytes("user t.d000002\ntopic read devices/t/d000002/in\n"));
        using var input = new MemoryStream(Encoding.UTF8.GetBytes(builder.ToString()));
        using var output = new MemoryStream();

        // When
        var count = await blocks.MergeAsync(input, header, output, CancellationToken.None);

        // Then
        var text = Encoding.UTF8.GetString(output.ToArray());
        Assert.Equal(19_998, count);
        Assert.DoesNotContain("t.d000001", text, StringComparison.Ordinal);
        Assert.DoesNotContain("d019999", text, StringComparison.Ordinal);
        Assert.DoesNotContain("topic readwrite devices/t/d000002/#", text, StringComparison.Ordinal);
        Assert.EndsWith("user t.d000002\ntopic read devices/t/d000002/in\n", text, StringComparison.Ordinal);
        Assert.StartsWith("user t.d000000\ntopic readwrite devices/t/d000000/#\nuser t.d000003\n", text, StringComparison.Ordinal);
    }
}
