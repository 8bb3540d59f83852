using System.Text;
using Provisioning.Worker.Mosquitto;

namespace Provisioning.Worker.Tests.Mosquitto;

public class OperatorAclLinesTests
{
    [Fact]
    public void Operator_blocks_patterns_and_comments_are_kept_byte_for_byte_and_managed_blocks_are_left_to_the_worker()
    {
        // Given: an anonymous rule, an operator's block, the probe's block (with the worker's pattern), a device's block
        var file = "# operators\r\ntopic read public/#\n\nuser service-pulse\ntopic readwrite #\n"
            + "user probe\ntopic write provisioning-worker/reload/x\npattern readwrite d/%u/#\n"
            + "user acme.s1\ntopic readwrite devices/acme/s1/#\n"
            + "user ops\n  topic read ops/#\n";
        var lines = new OperatorAclLines("probe");

        // When
        lines.Load(Encoding.UTF8.GetBytes(file));

        // Then
        Assert.Equal(
            "# operators\r\ntopic read public/#\n\nuser service-pulse\ntopic readwrite #\nuser ops\n  topic read ops/#\n",
            Encoding.UTF8.GetString(lines.Content));
        Assert.Empty(lines.Problems);
    }

    [Theory]
    [InlineData("user service-pulse\ntopic subscribe x\n", "line 2: the access 'subscribe'")]
    [InlineData("user service-pulse\ntopic\n", "line 2: a 'topic' line without a topic")]
    [InlineData("user\n", "line 1: a 'user' line without a username")]
    [InlineData("# fine\nallow everything\n", "line 2: 'allow' is not one of user, topic, pattern")]
    [InlineData("pattern read a/#/b\n", "line 1: the topic 'a/#/b' is not a valid filter")]
    public void A_line_the_broker_would_refuse_is_reported_with_its_number(string file, string expected)
    {
        var lines = new OperatorAclLines("probe");

        lines.Load(Encoding.UTF8.GetBytes(file));

        Assert.Contains(lines.Problems, p => p.StartsWith(expected, StringComparison.Ordinal));
    }
}
