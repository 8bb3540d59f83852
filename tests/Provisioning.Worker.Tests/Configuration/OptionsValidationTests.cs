using Provisioning.Worker.Configuration;

namespace Provisioning.Worker.Tests.Configuration;

public class OptionsValidationTests
{
    private static MosquittoOptions ValidMosquitto() => new()
    {
        PasswdFile = Path.Combine(Path.GetTempPath(), "passwd"),
        PidFile = "/run/mosquitto/mosquitto.pid",
        BrokerHost = "mqtt.example.com",
    };

    [Fact]
    public void Valid_mosquitto_options_pass() =>
        Assert.True(new MosquittoOptionsValidator(Provisioning.Worker.Hosting.WorkerRole.Standalone).Validate(null, ValidMosquitto()).Succeeded);

    [Theory]
    [InlineData(nameof(MosquittoOptions.PasswdFile), "", "Mosquitto:PasswdFile is required")]
    [InlineData(nameof(MosquittoOptions.PasswdFile), "/no/such/dir/passwd", "Mosquitto:PasswdFile is '/no/such/dir/passwd'")]
    [InlineData(nameof(MosquittoOptions.PidFile), "", "Mosquitto:PidFile is required")]
    [InlineData(nameof(MosquittoOptions.BrokerHost), " ", "Mosquitto:BrokerHost is required")]
    [InlineData(nameof(MosquittoOptions.PasswdFileMode), "0644", "Mosquitto:PasswdFileMode is '0644'")]
    [InlineData(nameof(MosquittoOptions.PasswdFileMode), "rw-r", "Mosquitto:PasswdFileMode is 'rw-r'")]
    [InlineData(nameof(MosquittoOptions.ProbeUsername), "a.b", "Mosquitto:ProbeUsername is 'a.b'")]
    public void Invalid_mosquitto_options_name_the_key_and_the_value(string property, string value, string expected)
    {
        var options = ValidMosquitto();
        typeof(MosquittoOptions).GetProperty(property)!.SetValue(options, value);

        var result = new MosquittoOptionsValidator(Provisioning.Worker.Hosting.WorkerRole.Standalone).Validate(null, options);

        Assert.True(result.Failed);
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
        options.AclFile = Path.Combine(Path.GetTempPath(), "acl");
        options.DeviceTopics = ["read devices/{tenantId}/{deviceId}/cmd", rule];

        Assert.Contains(expected, new MosquittoOptionsValidator(Provisioning.Worker.Hosting.WorkerRole.Standalone).Validate(null, options).FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void The_default_rule_applies_only_when_no_rule_is_configured()
    {
        var options = ValidMosquitto();
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
        options.BrokerPort = port;

        Assert.Contains(expected, new MosquittoOptionsValidator(Provisioning.Worker.Hosting.WorkerRole.Standalone).Validate(null, options).FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0640", true)]
    [InlineData("0600", true)]
    [InlineData("0400", true)]
    [InlineData("0660", false)]
    [InlineData("0644", false)]
    [InlineData("0641", false)]
    public void File_modes_must_be_0640_or_stricter(string mode, bool strictEnough) =>
        Assert.Equal(strictEnough, MosquittoOptions.IsStrictEnough(MosquittoOptions.ParseFileMode(mode)!.Value));

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
