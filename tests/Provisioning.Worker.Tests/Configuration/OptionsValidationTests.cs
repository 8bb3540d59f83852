using Provisioning.Worker.Configuration;
using Provisioning.Worker.Hosting;

namespace Provisioning.Worker.Tests.Configuration;

public class OptionsValidationTests
{
    private static MosquittoSection ValidMosquitto() => new()
    {
        Target = new()
        {
            PasswdFile = Path.Combine(Path.GetTempPath(), "passwd"),
            PidFile = "/run/mosquitto/mosquitto.pid",
        },
        Credentials = new() { BrokerHost = "mqtt.example.com" },
    };

    [Fact]
    public void Valid_mosquitto_options_pass() =>
        Assert.True(ValidMosquitto().Validate(WorkerRole.Standalone).Succeeded);

    [Theory]
    [InlineData(nameof(BrokerTargetOptions.PasswdFile), "", "Mosquitto:PasswdFile is required")]
    [InlineData(nameof(BrokerTargetOptions.PasswdFile), "/no/such/dir/passwd", "Mosquitto:PasswdFile is '/no/such/dir/passwd'")]
    [InlineData(nameof(BrokerTargetOptions.PidFile), "", "Mosquitto:PidFile is required")]
    [InlineData(nameof(DeviceCredentialOptions.BrokerHost), " ", "Mosquitto:BrokerHost is required")]
    [InlineData(nameof(BrokerTargetOptions.PasswdFileMode), "0644", "Mosquitto:PasswdFileMode is '0644'")]
    [InlineData(nameof(BrokerTargetOptions.PasswdFileMode), "rw-r", "Mosquitto:PasswdFileMode is 'rw-r'")]
    [InlineData(nameof(BrokerTargetOptions.ProbeUsername), "a.b", "Mosquitto:ProbeUsername is 'a.b'")]
    public void Invalid_mosquitto_options_name_the_key_and_the_value(string property, string value, string expected)
    {
        var options = ValidMosquitto();
        options.Set(property, value);

        var result = options.Validate(WorkerRole.Standalone);

        Assert.False(result.Succeeded);
        Assert.Contains(expected, result.FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("readwrite devices/{tenant}/#", "Mosquitto:DeviceTopics:1 is 'readwrite devices/{tenant}/#': the filter 'devices/{tenant}/#' uses the unknown placeholder {tenant}")]
    [InlineData("readwrite devices/#/{deviceId}", "Mosquitto:DeviceTopics:1 is")]
    [InlineData("readwrite", "Mosquitto:DeviceTopics:1 is 'readwrite'")]
    [InlineData("readonly devices/{deviceId}", "Mosquitto:DeviceTopics:1 is 'readonly devices/{deviceId}': the access 'readonly'")]
    public void Invalid_device_topic_rules_name_the_key(string rule, string expected)
    {
        var options = ValidMosquitto();
        options.Target.AclFile = Path.Combine(Path.GetTempPath(), "acl");
        options.Credentials.DeviceTopics = ["read devices/{tenantId}/{deviceId}/cmd", rule];

        Assert.Contains(expected, options.Validate(WorkerRole.Standalone).FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void The_default_rule_applies_only_when_no_rule_is_configured()
    {
        var options = ValidMosquitto().Credentials;
        Assert.Equal(["readwrite devices/{tenantId}/{deviceId}/#"], options.EffectiveDeviceTopics);

        options.DeviceTopics = ["read a/{username}"];
        Assert.Equal(["read a/{username}"], options.EffectiveDeviceTopics);
    }

    [Theory]
    [InlineData(0, "Mosquitto:BrokerPort is 0")]
    [InlineData(70000, "Mosquitto:BrokerPort is 70000")]
    public void Broker_port_out_of_range_is_refused(int port, string expected)
    {
        var options = ValidMosquitto();
        options.Credentials.BrokerPort = port;

        Assert.Contains(expected, options.Validate(WorkerRole.Standalone).FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0640", true)]
    [InlineData("0600", true)]
    [InlineData("0400", true)]
    [InlineData("0660", false)]
    [InlineData("0644", false)]
    [InlineData("0641", false)]
    public void File_modes_must_be_0640_or_stricter(string mode, bool strictEnough) =>
        Assert.Equal(strictEnough, BrokerTargetOptions.IsStrictEnough(BrokerTargetOptions.ParseFileMode(mode)!.Value));

    [Theory]
    [InlineData("", "RabbitMq:Uri is ''")]
    [InlineData("http://host", "RabbitMq:Uri is 'http://host'")]
    [InlineData("not a uri", "RabbitMq:Uri is 'not a uri'")]
    public void A_bad_rabbitmq_uri_is_named(string uri, string expected)
    {
        var result = new RabbitMqOptionsValidator().Validate(null, new RabbitMqOptions { Uri = uri });

        Assert.Contains(expected, result.FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(101)]
    public void A_redelivery_limit_out_of_range_is_named(int limit)
    {
        var result = new RabbitMqOptionsValidator().Validate(null, new RabbitMqOptions { Uri = "amqp://h/", RedeliveryLimit = limit });

        Assert.Contains($"RabbitMq:RedeliveryLimit is {limit}", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bad_rabbitmq_uri_is_shown_without_its_password()
    {
        var result = new RabbitMqOptionsValidator().Validate(null, new RabbitMqOptions { Uri = "http://user:s3cret@host/" });

        Assert.DoesNotContain("s3cret", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("RabbitMq:Uri", result.FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "ConnectionStrings:Provisioning is required")]
    [InlineData("Database=x", "ConnectionStrings:Provisioning has no Host")]
    [InlineData("Hots=oops", "ConnectionStrings:Provisioning is not a valid Npgsql connection string")]
    public void A_bad_connection_string_is_named(string connectionString, string expected) =>
        Assert.Contains(expected, new DatabaseOptionsValidator().Validate(null, new DatabaseOptions { ConnectionString = connectionString }).FailureMessage, StringComparison.Ordinal);

    [Fact]
    public void Durations_must_be_positive() =>
        Assert.Contains(
            "Provisioning:PollInterval",
            new ProvisioningOptionsValidator().Validate(null, new ProvisioningOptions { PollInterval = TimeSpan.Zero }).FailureMessage,
            StringComparison.Ordinal);
}
