using Provisioning.Worker.Brokers;
using Provisioning.Worker.Configuration;

namespace Provisioning.Worker.Tests.Brokers;

/// <summary>
/// A value read from a file or a Kubernetes ConfigMap often ends with a line break. A broker or group name must not:
/// the agent of <c>Agent__Group=eu\n</c> would keep the group "eu\n", which is not the group "eu" tenants are placed in.
/// </summary>
public class BrokerNameLineBreakTests
{
    [Theory]
    [InlineData("eu\n")]
    [InlineData("b1\n")]
    public void A_name_with_a_trailing_line_break_is_not_a_name(string name) =>
        Assert.False(BrokerGroups.IsValidName(name));

    [Fact]
    public void An_agent_group_with_a_trailing_line_break_is_refused_naming_the_key()
    {
        // Given
        var options = new AgentOptions { Broker = "b1", Group = "eu\n" };

        // When
        var result = new AgentOptionsValidator().Validate(null, options);

        // Then
        Assert.True(result.Failed);
        Assert.Contains("Agent:Group is", result.FailureMessage, StringComparison.Ordinal);
    }
}
