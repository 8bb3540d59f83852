using System.Text;
using Provisioning.Worker.Mosquitto;

namespace Provisioning.Worker.Tests.Mosquitto;

public class OperatorLinesTests
{
    private static readonly string _hash = MosquittoPasswordHash.Create("secret", 101);

    [Fact]
    public void Operator_lines_and_comments_are_kept_byte_for_byte_and_device_and_probe_lines_are_left_to_the_worker()
    {
        // Given
        var file = Encoding.UTF8.GetBytes(
            $"# platform accounts\r\nservice-pulse:{_hash}\r\n\nacme.s1:{_hash}\nprobe:{_hash}\nops:{_hash}\n");
        var lines = new OperatorLines("probe");

        // When
        lines.Load(file);

        // Then
        Assert.Equal($"# platform accounts\r\nservice-pulse:{_hash}\r\n\nops:{_hash}\n", Encoding.UTF8.GetString(lines.Content));
        Assert.Empty(lines.Problems);
    }

    [Fact]
    public async Task Reading_the_file_line_by_line_keeps_exactly_what_a_whole_read_keeps()
    {
        // Given: a file larger than the read buffer, operator lines at both ends, one without a final newline
        var content = new StringBuilder($"# platform accounts\r\nservice-pulse:{_hash}\r\n\n");
        for (var i = 0; i < 20_000; i++)
        {
            content.Append(System.Globalization.CultureInfo.InvariantCulture, $"acme.device-{i:D6}:{_hash}\n");
        }

        content.Append($"probe:{_hash}\nops:{_hash}");
        var bytes = Encoding.UTF8.GetBytes(content.ToString());
        var path = Path.Combine(Path.GetTempPath(), $"operator-lines-{Guid.NewGuid():N}");
        await File.WriteAllBytesAsync(path, bytes);
        try
        {
            var whole = new OperatorLines("probe");
            whole.Load(bytes);
            var streamed = new OperatorLines("probe");

            // When
            await streamed.LoadAsync(path, CancellationToken.None);

            // Then
            Assert.Equal(Encoding.UTF8.GetString(whole.Content), Encoding.UTF8.GetString(streamed.Content));
            Assert.Equal($"# platform accounts\r\nservice-pulse:{_hash}\r\n\nops:{_hash}\n", Encoding.UTF8.GetString(streamed.Content));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_malformed_operator_line_is_reported_without_its_hash()
    {
        var lines = new OperatorLines("probe");

        lines.Load(Encoding.UTF8.GetBytes($"ops:{_hash}\nops:{_hash}\nbroken:$7$notahash\n"));

        Assert.NotEmpty(lines.Problems);
        Assert.Contains(lines.Problems, p => p.Contains("ops", StringComparison.Ordinal));
        Assert.DoesNotContain(lines.Problems, p => p.Contains(_hash, StringComparison.Ordinal) || p.Contains("notahash", StringComparison.Ordinal));
    }

    [Fact]
    public void A_missing_file_has_no_operator_lines()
    {
        var lines = new OperatorLines("probe");

        lines.Load(null);

        Assert.Empty(lines.Content);
        Assert.Empty(lines.Problems);
    }

    [Fact]
    public void The_file_is_stale_until_written_and_again_after_someone_else_changes_it()
    {
        var path = Path.GetTempFileName();
        try
        {
            var lines = new OperatorLines("probe");
            Assert.True(lines.IsStale(path));

            lines.Written(path);
            Assert.False(lines.IsStale(path));

            File.AppendAllText(path, "ops:x\n");
            Assert.True(lines.IsStale(path));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
