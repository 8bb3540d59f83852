using Microsoft.Extensions.Configuration;
using Provisioning.Worker.Cli;
using Provisioning.Worker.Hosting;

namespace Provisioning.Worker.Tests.Hosting;

public class WorkerRolesTests
{
    [Fact]
    public void Without_broker_groups_the_worker_is_standalone()
    {
        // Given
        var configuration = Configuration(("Mosquitto:BrokerHost", "mqtt.local"));

        // When
        var role = WorkerRoles.Of(configuration, agent: false);

        // Then
        Assert.Equal(WorkerRole.Standalone, role);
    }

    [Fact]
    public void Brokers_settings_without_groups_leave_the_worker_standalone()
    {
        // Given
        var configuration = Configuration(("Brokers:SilenceTimeout", "00:01:00"), ("Brokers:Tenants:acme", "eu"));

        // When
        var role = WorkerRoles.Of(configuration, agent: false);

        // Then
        Assert.Equal(WorkerRole.Standalone, role);
    }

    [Fact]
    public void With_broker_groups_the_worker_is_central()
    {
        // Given
        var configuration = Configuration(("Brokers:Groups:eu:Host", "mqtt-eu.example"));

        // When
        var role = WorkerRoles.Of(configuration, agent: false);

        // Then
        Assert.Equal(WorkerRole.Central, role);
    }

    [Fact]
    public void Started_as_an_agent_the_worker_is_an_agent_even_with_broker_groups_configured()
    {
        // Given
        var configuration = Configuration(("Brokers:Groups:eu:Host", "mqtt-eu.example"));

        // When
        var role = WorkerRoles.Of(configuration, agent: true);

        // Then
        Assert.Equal(WorkerRole.Agent, role);
    }

    [Theory]
    [InlineData("b1", null, WorkerRole.Agent)]
    [InlineData("b1", "mqtt-eu.example", WorkerRole.Agent)]
    [InlineData("", "mqtt-eu.example", WorkerRole.Central)]
    [InlineData(null, "mqtt-eu.example", WorkerRole.Central)]
    [InlineData(null, null, WorkerRole.Standalone)]
    public void An_operator_command_is_beside_an_agent_when_agent_broker_is_set_else_it_follows_the_groups(string? agentBroker, string? groupHost, WorkerRole expected)
    {
        // Given
        var values = new List<(string, string)>();
        if (agentBroker is not null)
        {
            values.Add(("Agent:Broker", agentBroker));
        }

        if (groupHost is not null)
        {
            values.Add(("Brokers:Groups:eu:Host", groupHost));
        }

        // When
        var role = WorkerRoles.OfOperatorCommand(Configuration([.. values]));

        // Then
        Assert.Equal(expected, role);
    }

    [Theory]
    [InlineData(WorkerRole.Standalone, true, true)]
    [InlineData(WorkerRole.Central, true, false)]
    [InlineData(WorkerRole.Agent, false, true)]
    public void An_agent_consumes_nothing_and_a_central_worker_keeps_no_broker(WorkerRole role, bool consumes, bool keepsBroker) =>
        Assert.Equal((consumes, keepsBroker), (role.Consumes(), role.KeepsBroker()));

    [Fact]
    public void Agent_starts_the_worker_as_a_broker_agent_with_the_arguments_after_it()
    {
        // When
        var start = StartCommandLine.Parse(["agent", "--Agent:Broker=b1", "--urls", "http://127.0.0.1:9001"]);

        // Then
        Assert.Equal(StartKind.Agent, start.Kind);
        Assert.Equal("agent", start.Word);
        Assert.Equal(["--Agent:Broker=b1", "--urls", "http://127.0.0.1:9001"], start.Arguments);
    }

    [Theory]
    [InlineData("Agent")]
    [InlineData("agents")]
    public void A_mistyped_agent_word_starts_nothing(string word)
    {
        // When
        var start = StartCommandLine.Parse([word, "--Agent:Broker=b1"]);

        // Then
        Assert.Equal(StartKind.UnknownWord, start.Kind);
    }

    [Fact]
    public void Brokers_is_an_operator_command_with_the_arguments_after_it()
    {
        // When
        var start = StartCommandLine.Parse(["brokers", "out", "b1"]);

        // Then
        Assert.Equal(StartKind.OperatorCommand, start.Kind);
        Assert.Equal("brokers", start.Word);
        Assert.Equal((OperatorCommand)BrokersCommand.RunAsync, start.Command);
        Assert.Equal(["out", "b1"], start.Arguments);
    }

    private static IConfiguration Configuration(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => KeyValuePair.Create(v.Key, (string?)v.Value))).Build();
}
