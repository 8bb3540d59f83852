using System.Text;
using Provisioning.Worker.Passwd;
using Provisioning.Worker.Projection;

namespace Provisioning.Worker.Tests.Projection;

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
