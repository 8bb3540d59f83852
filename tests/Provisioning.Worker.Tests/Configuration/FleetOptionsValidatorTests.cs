using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Provisioning.Worker.Configuration;
using Provisioning.Worker.Hosting;

namespace Provisioning.Worker.Tests.Configuration;

public sealed class FleetOptionsValidatorTests : IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("fleet-options-");

    // Brokers

    [Fact]
    public void A_fleet_of_valid_groups_with_pins_to_them_passes()
    {
        // Given
        var options = Fleet(("eu", "mqtt-eu.example", 1883), ("us", "mqtt-us.example", 8883));
        options.Tenants["acme"] = "eu";

        // When
        var result = new BrokersOptionsValidator().Validate(null, options);

        // Then
        Assert.True(result.Succeeded, result.FailureMessage);
    }

    [Fact]
    public void No_brokers_section_at_all_passes()
    {
        // When
        var result = new BrokersOptionsValidator().Validate(null, new BrokersOptions());

        // Then
        Assert.True(result.Succeeded, result.FailureMessage);
    }

    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    public void A_group_without_a_host_names_its_host_key(string host)
    {
        // Given
        var options = Fleet(("eu", "mqtt-eu.example", 1883), ("us", host, 1883));

        // When
        var result = new BrokersOptionsValidator().Validate(null, options);

        // Then
        Assert.True(result.Failed);
        Assert.Contains("Brokers:Groups:us:Host is required", result.FailureMessage, StringComparison.Ordinal);
        Assert.DoesNotContain("Brokers:Groups:eu:", result.FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(65536)]
    public void A_group_port_out_of_range_names_its_port_key_and_value(int port)
    {
        // Given
        var options = Fleet(("eu", "mqtt-eu.example", port));

        // When
        var result = new BrokersOptionsValidator().Validate(null, options);

        // Then
        Assert.True(result.Failed);
        Assert.Contains($"Brokers:Groups:eu:Port is {port}", result.FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(65535)]
    public void Group_ports_at_the_ends_of_the_range_pass(int port) =>
        Assert.True(new BrokersOptionsValidator().Validate(null, Fleet(("eu", "mqtt-eu.example", port))).Succeeded);

    [Fact]
    public void A_pin_to_a_group_not_configured_names_the_tenant_key_and_the_configured_groups()
    {
        // Given
        var options = Fleet(("eu", "mqtt-eu.example", 1883), ("us", "mqtt-us.example", 1883));
        options.Tenants["acme"] = "asia";

        // When
        var result = new BrokersOptionsValidator().Validate(null, options);

        // Then
        Assert.True(result.Failed);
        Assert.Contains("Brokers:Tenants:acme pins the tenant to the group 'asia'", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("(configured: eu, us)", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void A_pin_without_any_group_names_the_tenant_key_and_says_no_group_is_configured()
    {
        // Given
        var options = new BrokersOptions();
        options.Tenants["acme"] = "eu";

        // When
        var result = new BrokersOptionsValidator().Validate(null, options);

        // Then
        Assert.True(result.Failed);
        Assert.Contains("Brokers:Tenants:acme pins the tenant to the group 'eu', but Brokers:Groups configures no group", result.FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("-eu")]
    [InlineData("eu west")]
    [InlineData("eu/west")]
    public void A_bad_group_name_names_the_group_key(string group)
    {
        // Given
        var options = Fleet((group, "mqtt.example", 1883));

        // When
        var result = new BrokersOptionsValidator().Validate(null, options);

        // Then
        Assert.True(result.Failed);
        Assert.Contains($"Brokers:Groups:{group} is not a valid group name", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void A_group_name_of_64_characters_is_refused()
    {
        // Given
        var group = new string('g', 64);

        // When
        var result = new BrokersOptionsValidator().Validate(null, Fleet((group, "mqtt.example", 1883)));

        // Then
        Assert.Contains($"Brokers:Groups:{group} is not a valid group name", result.FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void A_silence_timeout_that_is_not_positive_names_its_key(int seconds)
    {
        // Given
        var options = new BrokersOptions { SilenceTimeout = TimeSpan.FromSeconds(seconds) };

        // When
        var result = new BrokersOptionsValidator().Validate(null, options);

        // Then
        Assert.True(result.Failed);
        Assert.Contains("Brokers:SilenceTimeout is", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_problem_is_reported_at_once()
    {
        // Given
        var options = Fleet(("eu", "", 0));
        options.Tenants["acme"] = "asia";
        options.SilenceTimeout = TimeSpan.Zero;

        // When
        var failures = new BrokersOptionsValidator().Validate(null, options).Failures!;

        // Then
        Assert.Equal(4, failures.Count());
    }

    // Agent

    [Fact]
    public void The_default_agent_options_pass() =>
        Assert.True(new AgentOptionsValidator().Validate(null, new AgentOptions()).Succeeded);

    [Theory]
    [InlineData("")]
    [InlineData("-b1")]
    [InlineData("b 1")]
    public void A_bad_broker_name_names_the_agent_broker_key(string broker)
    {
        // When
        var result = new AgentOptionsValidator().Validate(null, new AgentOptions { Broker = broker, Group = "eu" });

        // Then
        Assert.True(result.Failed);
        Assert.Contains($"Agent:Broker is '{broker}'", result.FailureMessage, StringComparison.Ordinal);
        Assert.DoesNotContain("Agent:Group", result.FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData(".eu")]
    [InlineData("eu:1")]
    public void A_bad_group_name_names_the_agent_group_key(string group)
    {
        // When
        var result = new AgentOptionsValidator().Validate(null, new AgentOptions { Broker = "b1", Group = group });

        // Then
        Assert.True(result.Failed);
        Assert.Contains($"Agent:Group is '{group}'", result.FailureMessage, StringComparison.Ordinal);
        Assert.DoesNotContain("Agent:Broker", result.FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    public void A_max_lag_that_is_not_positive_names_its_key(int seconds)
    {
        // When
        var result = new AgentOptionsValidator().Validate(null, new AgentOptions { Broker = "b1", Group = "eu", MaxLag = TimeSpan.FromSeconds(seconds) });

        // Then
        Assert.True(result.Failed);
        Assert.Contains("Agent:MaxLag is", result.FailureMessage, StringComparison.Ordinal);
    }

    // Mosquitto, by role

    [Fact]
    public void A_central_worker_needs_no_passwd_file_pid_file_or_broker_host()
    {
        // Given a Mosquitto section with none of them
        var options = new MosquittoOptions();

        // When
        var central = new MosquittoOptionsValidator(WorkerRole.Central).Validate(null, options);
        var standalone = new MosquittoOptionsValidator(WorkerRole.Standalone).Validate(null, options);

        // Then the same section stops a standalone worker
        Assert.True(central.Succeeded, central.FailureMessage);
        Assert.True(standalone.Failed);
    }

    [Fact]
    public void A_central_worker_still_refuses_what_it_uses_itself()
    {
        // Given
        var options = new MosquittoOptions { DeviceTopics = ["readonly devices/{deviceId}"] };

        // When
        var result = new MosquittoOptionsValidator(WorkerRole.Central).Validate(null, options);

        // Then
        Assert.True(result.Failed);
        Assert.Contains("Mosquitto:DeviceTopics:0", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void An_agent_with_its_files_and_a_probe_host_passes_without_a_broker_host()
    {
        // Given no Mosquitto:BrokerHost
        var options = ValidAgentMosquitto();

        // When
        var result = new MosquittoOptionsValidator(WorkerRole.Agent).Validate(null, options);

        // Then
        Assert.True(result.Succeeded, result.FailureMessage);
    }

    [Theory]
    [InlineData(nameof(MosquittoOptions.PasswdFile), "Mosquitto:PasswdFile is required")]
    [InlineData(nameof(MosquittoOptions.PidFile), "Mosquitto:PidFile is required")]
    [InlineData(nameof(MosquittoOptions.AclFile), "Mosquitto:AclFile is required for an agent")]
    [InlineData(nameof(MosquittoOptions.ProbeHost), "Mosquitto:ProbeHost is required for an agent")]
    public void An_agent_without_one_of_its_keys_is_refused_naming_it(string property, string expected)
    {
        // Given
        var options = ValidAgentMosquitto();
        typeof(MosquittoOptions).GetProperty(property)!.SetValue(options, string.Empty);

        // When
        var result = new MosquittoOptionsValidator(WorkerRole.Agent).Validate(null, options);

        // Then
        Assert.True(result.Failed);
        Assert.Contains(expected, result.FailureMessage, StringComparison.Ordinal);
        Assert.DoesNotContain("Mosquitto:BrokerHost", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void An_agent_probes_the_broker_host_when_no_probe_host_is_set()
    {
        // Given
        var options = ValidAgentMosquitto();
        options.ProbeHost = string.Empty;
        options.BrokerHost = "127.0.0.1";

        // When
        var result = new MosquittoOptionsValidator(WorkerRole.Agent).Validate(null, options);

        // Then
        Assert.True(result.Succeeded, result.FailureMessage);
    }

    [Theory]
    [InlineData(nameof(MosquittoOptions.PasswdFile), "Mosquitto:PasswdFile is required")]
    [InlineData(nameof(MosquittoOptions.PidFile), "Mosquitto:PidFile is required")]
    [InlineData(nameof(MosquittoOptions.BrokerHost), "Mosquitto:BrokerHost is required")]
    public void A_standalone_worker_still_needs_its_files_and_broker_host(string property, string expected)
    {
        // Given
        var options = new MosquittoOptions
        {
            PasswdFile = Path.Combine(_root.FullName, "passwd"),
            PidFile = "/run/mosquitto/mosquitto.pid",
            BrokerHost = "mqtt.example.com",
        };
        Assert.True(new MosquittoOptionsValidator(WorkerRole.Standalone).Validate(null, options).Succeeded);
        typeof(MosquittoOptions).GetProperty(property)!.SetValue(options, string.Empty);

        // When
        var result = new MosquittoOptionsValidator(WorkerRole.Standalone).Validate(null, options);

        // Then
        Assert.True(result.Failed);
        Assert.Contains(expected, result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void A_standalone_worker_does_not_need_an_acl_file()
    {
        // Given
        var options = new MosquittoOptions
        {
            PasswdFile = Path.Combine(_root.FullName, "passwd"),
            PidFile = "/run/mosquitto/mosquitto.pid",
            BrokerHost = "mqtt.example.com",
        };

        // When
        var result = new MosquittoOptionsValidator(WorkerRole.Standalone).Validate(null, options);

        // Then
        Assert.True(result.Succeeded, result.FailureMessage);
    }

    // As the worker binds them

    [Fact]
    public void Bound_as_the_worker_binds_them_a_group_without_a_host_stops_it_naming_the_key()
    {
        // Given
        using var provider = Services(WorkerRole.Central, ("Brokers:Groups:eu:Host", "mqtt-eu.example"), ("Brokers:Groups:us:Port", "1883"));

        // When
        var thrown = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<BrokersOptions>>().Value);

        // Then
        Assert.Contains("Brokers:Groups:us:Host is required", thrown.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Brokers:Groups:eu:", thrown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bound_as_the_worker_binds_them_a_pin_to_an_unknown_group_stops_it_naming_the_tenant_key()
    {
        // Given
        using var provider = Services(WorkerRole.Central, ("Brokers:Groups:eu:Host", "mqtt-eu.example"), ("Brokers:Tenants:acme", "us"));

        // When
        var thrown = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<BrokersOptions>>().Value);

        // Then
        Assert.Contains("Brokers:Tenants:acme pins the tenant to the group 'us'", thrown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bound_as_the_worker_binds_them_valid_groups_are_read_with_their_endpoints()
    {
        // Given
        using var provider = Services(WorkerRole.Central, ("Brokers:Groups:eu:Host", "mqtt-eu.example"), ("Brokers:Groups:eu:Port", "8883"), ("Brokers:Tenants:acme", "eu"), ("Brokers:SilenceTimeout", "00:01:00"));

        // When
        var brokers = provider.GetRequiredService<IOptions<BrokersOptions>>().Value;

        // Then
        var eu = Assert.Single(brokers.Groups);
        Assert.Equal(("eu", "mqtt-eu.example", 8883), (eu.Key, eu.Value.Host, eu.Value.Port));
        Assert.Equal("eu", brokers.Tenants["acme"]);
        Assert.Equal(TimeSpan.FromMinutes(1), brokers.SilenceTimeout);
    }

    [Fact]
    public void Bound_as_the_worker_binds_them_a_bad_agent_max_lag_stops_it_naming_the_key()
    {
        // Given
        using var provider = Services(WorkerRole.Agent, ("Agent:Broker", "b1"), ("Agent:Group", "eu"), ("Agent:MaxLag", "00:00:00"));

        // When
        var thrown = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<AgentOptions>>().Value);

        // Then
        Assert.Contains("Agent:MaxLag is", thrown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bound_as_the_worker_binds_them_the_mosquitto_section_is_checked_for_the_role_given()
    {
        // Given an empty Mosquitto section
        using var central = Services(WorkerRole.Central);
        using var standalone = Services(WorkerRole.Standalone);

        // When
        var thrown = Assert.Throws<OptionsValidationException>(() => standalone.GetRequiredService<IOptions<MosquittoOptions>>().Value);

        // Then
        Assert.NotNull(central.GetRequiredService<IOptions<MosquittoOptions>>().Value);
        Assert.Contains("Mosquitto:PasswdFile is required", thrown.Message, StringComparison.Ordinal);
    }

    public void Dispose() => _root.Delete(recursive: true);

    private MosquittoOptions ValidAgentMosquitto() => new()
    {
        PasswdFile = Path.Combine(_root.FullName, "passwd"),
        AclFile = Path.Combine(_root.FullName, "acl"),
        PidFile = "/run/mosquitto/mosquitto.pid",
        ProbeHost = "127.0.0.1",
    };

    private static BrokersOptions Fleet(params (string Group, string Host, int Port)[] groups)
    {
        var options = new BrokersOptions();
        foreach (var (group, host, port) in groups)
        {
            options.Groups[group] = new BrokerEndpoint { Host = host, Port = port };
        }

        return options;
    }

    private static ServiceProvider Services(WorkerRole role, params (string Key, string Value)[] values)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(values.Select(v => KeyValuePair.Create(v.Key, (string?)v.Value)))
            .Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddProvisioningOptions(role);
        return services.BuildServiceProvider();
    }
}
