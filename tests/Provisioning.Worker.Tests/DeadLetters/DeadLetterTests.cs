using System.Text;
using Provisioning.Worker.Cli;
using Provisioning.Worker.DeadLetters;
using RabbitMQ.Client;

namespace Provisioning.Worker.Tests.DeadLetters;

public class DeadLetterTests
{
    private static readonly byte[] _envelope = Encoding.UTF8.GetBytes(
        """{"messageId":"aa590000-9fdc-2183-e61b-08df4951e16d","messageType":["urn:message:Provisioning.Contracts:DeviceRegistered"],"message":{"tenantId":"acme","deviceId":"outage"}}""");

    [Theory]
    [InlineData("device-registered_error", true)]
    [InlineData("device-registered_skipped", true)]
    [InlineData("device-registered", false)]
    [InlineData("_error", false)]
    [InlineData("device-registered_ERROR", false)]
    [InlineData("device-registered_error_x", false)]
    public void Only_names_ending_in_error_or_skipped_are_dead_letter_queues(string name, bool expected) =>
        Assert.Equal(expected, DeadLetterQueues.IsDeadLetterQueue(name));

    [Theory]
    [InlineData("device-registered_error", "device-registered")]
    [InlineData("device-deleted_skipped", "device-deleted")]
    [InlineData("a_error_error", "a_error")]
    public void The_source_queue_is_the_name_without_its_suffix(string deadLetterQueue, string source) =>
        Assert.Equal(source, DeadLetterQueues.SourceOf(deadLetterQueue));

    [Fact]
    public void A_non_dead_letter_queue_is_refused_with_the_bad_input_exit_code()
    {
        var e = Assert.Throws<DeadLetterToolException>(() => DeadLetterQueues.Require("device-registered"));
        Assert.Equal(CommandExitCodes.BadInput, e.ExitCode);
        Assert.Contains("must end in _error or _skipped", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_fault_headers_are_read_from_the_bytes_the_client_delivers()
    {
        var fault = FaultInfo.From(MassTransitFaultHeaders());

        Assert.Equal("fault", fault.Reason);
        Assert.Equal("System.Net.Sockets.SocketException", fault.ExceptionType);
        Assert.Equal("Connection refused", fault.Message);
        Assert.Equal("2026-11-23T11:06:55.7076496Z", fault.Timestamp);
        Assert.Equal(1, fault.RetryCount);
        Assert.Equal("device-registered", fault.InputQueue);
        Assert.Equal("System.Net.Sockets.SocketException: Connection refused", fault.Summary);
    }

    [Theory]
    [InlineData("rabbitmq://host/vhost/device-registered", "device-registered")]
    [InlineData("rabbitmq://host/device-registered", "device-registered")]
    [InlineData("rabbitmq://host/v%2Fh/some%20queue?bind=true", "some queue")]
    [InlineData("rabbitmq://host/", null)]
    [InlineData("not a uri", null)]
    public void The_input_queue_is_the_last_segment_of_the_input_address(string address, string? queue) =>
        Assert.Equal(queue, new FaultInfo(null, null, null, null, address, null, null, null).InputQueue);

    [Fact]
    public void A_message_without_fault_headers_says_so()
    {
        Assert.Equal("no fault recorded", FaultInfo.From(null).Summary);
        Assert.Equal("no fault details (reason: skip)", FaultInfo.From(new Dictionary<string, object?> { ["MT-Reason"] = "skip"u8.ToArray() }).Summary);
    }

    [Theory]
    [InlineData("MT-Reason", true)]
    [InlineData("MT-Fault-Message", true)]
    [InlineData("MT-Fault-InputAddress", true)]
    [InlineData("MT-Host-MachineName", true)]
    [InlineData("MT-Fault-Address", false)]
    [InlineData("MT-Response-Address", false)]
    [InlineData("custom", false)]
    public void Dead_lettering_headers_are_the_reason_fault_and_host_ones_but_not_the_senders_fault_address(string key, bool expected) =>
        Assert.Equal(expected, FaultInfo.IsDeadLetteringHeader(key));

    [Fact]
    public void The_envelope_gives_id_type_tenant_and_device()
    {
        var summary = MessageSummary.Read(_envelope);

        Assert.Equal(new MessageSummary("aa590000-9fdc-2183-e61b-08df4951e16d", "urn:message:Provisioning.Contracts:DeviceRegistered", "acme", "outage"), summary);
        Assert.Equal("DeviceRegistered", MessageSummary.ShortTypeName(summary.MessageType!));
    }

    [Theory]
    [InlineData("{ not json")]
    [InlineData("[1,2]")]
    [InlineData("")]
    public void A_body_that_is_not_a_json_object_gives_nothing(string body) =>
        Assert.Equal(new MessageSummary(null, null, null, null), MessageSummary.Read(Encoding.UTF8.GetBytes(body)));

    [Fact]
    public void Raw_json_gives_tenant_and_device_from_the_root() =>
        Assert.Equal(new MessageSummary(null, null, "t", "d"), MessageSummary.Read("""{"TenantId":"t","deviceId":"d","tenantId2":1}"""u8.ToArray()));

    [Fact]
    public void A_replay_keeps_id_body_content_type_and_own_headers_and_drops_what_dead_lettering_added()
    {
        var headers = MassTransitFaultHeaders();
        headers["custom"] = "kept"u8.ToArray();
        headers["MT-Fault-Address"] = "rabbitmq://host/faults"u8.ToArray();
        headers["x-dotnet-pub-seq-no"] = 7L;
        var letter = Letter(new BasicProperties { MessageId = "m-1", ContentType = "application/vnd.masstransit+json", Persistent = true, CorrelationId = "c-1", UserId = "provisioning", Headers = headers });

        var properties = ReplayProperties.For(letter, connectionUser: "provisioning");

        Assert.Equal("m-1", properties.MessageId);
        Assert.Equal("application/vnd.masstransit+json", properties.ContentType);
        Assert.True(properties.Persistent);
        Assert.Equal("c-1", properties.CorrelationId);
        Assert.Equal("provisioning", properties.UserId);
        Assert.Equal(["MT-Fault-Address", "Provisioning-Replay-Count", "custom"], properties.Headers!.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(1, properties.Headers[DeadLetter.ReplayCountHeader]);
        Assert.Equal("device-registered", letter.TargetQueue);
    }

    [Fact]
    public void A_second_replay_counts_two_and_a_user_id_the_broker_would_refuse_is_dropped()
    {
        var letter = Letter(new BasicProperties { UserId = "someone-else", Headers = new Dictionary<string, object?> { [DeadLetter.ReplayCountHeader] = 1 } }, "device-deleted_error");

        var properties = ReplayProperties.For(letter, connectionUser: "provisioning");

        Assert.Equal(2, properties.Headers![DeadLetter.ReplayCountHeader]);
        Assert.False(properties.IsUserIdPresent());
        Assert.Equal("device-deleted", letter.TargetQueue);
    }

    [Theory]
    [InlineData("aa590000-9fdc-2183-e61b-08df4951e16d", true)]
    [InlineData("AA590000-9FDC-2183-E61B-08DF4951E16D", true)]
    [InlineData("{aa590000-9fdc-2183-e61b-08df4951e16d}", true)]
    [InlineData("aa590000-9fdc-2183-e61b-08df4951e16e", false)]
    public void A_message_is_found_by_its_id_whatever_the_guid_format(string id, bool expected) =>
        Assert.Equal(expected, Letter(new BasicProperties()).HasId(id));

    [Fact]
    public void The_listing_escapes_control_characters_from_the_message()
    {
        var letter = Letter(new BasicProperties
        {
            MessageId = "id\u001b[2J",
            Headers = new Dictionary<string, object?> { ["MT-Fault-Message"] = Encoding.UTF8.GetBytes("line one\nforged line\u202e") },
        });

        var block = DeadLetterFormat.Block(letter);

        Assert.Contains("id\\u001B[2J", block, StringComparison.Ordinal);
        Assert.Contains("line one\\u000Aforged line\\u202E", block, StringComparison.Ordinal);
        Assert.DoesNotContain('\u001b', block);
    }

    private static Dictionary<string, object?> MassTransitFaultHeaders() => new()
    {
        ["MT-Reason"] = "fault"u8.ToArray(),
        ["MT-Fault-ExceptionType"] = "System.Net.Sockets.SocketException"u8.ToArray(),
        ["MT-Fault-Message"] = "Connection refused"u8.ToArray(),
        ["MT-Fault-Timestamp"] = "2026-11-23T11:06:55.7076496Z"u8.ToArray(),
        ["MT-Fault-InputAddress"] = "rabbitmq://127.0.0.1/test-vhost/device-registered"u8.ToArray(),
        ["MT-Fault-RetryCount"] = 1,
        ["MT-Fault-StackTrace"] = "   at somewhere"u8.ToArray(),
        ["MT-Host-MachineName"] = "vm"u8.ToArray(),
    };

    private static DeadLetter Letter(BasicProperties properties, string queue = "device-registered_error") =>
        DeadLetter.From(new BasicGetResult(1, false, queue, "device-registered", 0, properties, _envelope), 1, queue);
}
