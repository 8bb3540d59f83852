using System.Diagnostics;
using System.Text;
using System.Text.Json;
using MassTransit;
using Provisioning.Contracts;
using Provisioning.Worker.IntegrationTests.Infrastructure;
using RabbitMQ.Client;
using Xunit.Abstractions;

namespace Provisioning.Worker.IntegrationTests.Faults;

/// <summary>
/// Bad input, each kind with its expected answer written down (docs/contract.md "What happens to bad input": what cannot be parsed goes to
/// <c>_error</c>/<c>_skipped</c>; what parses but is invalid gets <c>ProvisioningRejected</c>; nothing is written).
/// They arrive amid a steady stream of good messages, which must flow on unharmed (the invariants are checked on them).
/// </summary>
[Collection(FaultsCollection.Name)]
public sealed class BadInputTests(ServiceEndpoints endpoints, ITestOutputHelper output)
{
    private const string Registered = "device-registered";
    private const string Deleted = "device-deleted";
    private const string Envelope = "application/vnd.masstransit+json";
    private const int TenMegabytes = 10 * 1024 * 1024;

    /// <summary>The answer a bad message must get.</summary>
    public sealed record Expected(string Kind, string Detail)
    {
        public static Expected Rejected(string code) => new("rejected", code);

        public static Expected Issued() => new("issued", string.Empty);

        public static Expected InQueue(string queue) => new("queue", queue);

        public override string ToString() => Kind == "issued" ? "CredentialsIssued" : Kind == "rejected" ? $"ProvisioningRejected {Detail}" : $"moved to {Detail}";
    }

    /// <summary>One bad message: where it is put, its body for a given message id, its content type.</summary>
    public sealed record Case(string Name, string Queue, Func<Guid, byte[]> Body, string? ContentType, Expected Expected, bool MessageIdProperty = true, string? Type = null);

    /// <summary>The table: every malformed envelope kind, hostile ids, huge bodies.</summary>
    public static IReadOnlyList<Case> Cases { get; } =
    [
        // envelopes that cannot be read
        new("not JSON", Registered, _ => Utf8("{ this is not json"), Envelope, Expected.InQueue("device-registered_error")),
        new("empty body", Registered, _ => [], Envelope, Expected.InQueue("device-registered_error")),
        new("JSON null", Registered, _ => Utf8("null"), Envelope, Expected.InQueue("device-registered_error")),
        new("10 MB of garbage", Registered, _ => Enumerable.Repeat((byte)'x', TenMegabytes).ToArray(), Envelope, Expected.InQueue("device-registered_error")),
        // MassTransit reads a body whose content type is missing or unknown with its default (envelope) deserializer:
        // a well-formed envelope is accepted whatever the label says
        new("wrong content type (text/plain) on a valid envelope", Registered, id => EnvelopeOf(id, nameof(DeviceRegistered), new { tenantId = "odd", deviceId = "ctype" }), "text/plain", Expected.Issued()),
        new("no content type on a valid envelope", Registered, id => EnvelopeOf(id, nameof(DeviceRegistered), new { tenantId = "odd", deviceId = "noctype" }), null, Expected.Issued()),
        new("wrong content type (text/plain) on garbage", Registered, _ => Utf8("<xml/>"), "text/plain", Expected.InQueue("device-registered_error")),
        new("unknown message type", Registered, id => EnvelopeOf(id, "Someone.Else:Thing", new { tenantId = "bad", deviceId = "other" }, "urn:message:Someone.Else:Thing"), Envelope, Expected.InQueue("device-registered_skipped")),
        new("no messageId anywhere", Registered, _ => Utf8("""{"messageType":["urn:message:Provisioning.Contracts:DeviceRegistered"],"message":{"tenantId":"bad","deviceId":"noid"}}"""), Envelope, Expected.InQueue("device-registered_error"), MessageIdProperty: false),

        // parseable, wrong types: the body does not bind to the contract
        new("tenantId is a number", Registered, id => EnvelopeOf(id, nameof(DeviceRegistered), new { tenantId = 123, deviceId = "num" }), Envelope, Expected.InQueue("device-registered_error")),
        new("deviceId is an object", Deleted, id => EnvelopeOf(id, nameof(DeviceDeleted), new { tenantId = "bad", deviceId = new { a = 1 } }), Envelope, Expected.InQueue("device-deleted_error")),
        new("occurredAt is not a date", Registered, id => EnvelopeOf(id, nameof(DeviceRegistered), new { tenantId = "bad", deviceId = "when", occurredAt = "yesterday" }), Envelope, Expected.InQueue("device-registered_error")),

        // parseable, invalid: rejected with a stable code, nothing written
        new("message without fields", Registered, id => EnvelopeOf(id, nameof(DeviceRegistered), new { }), Envelope, Expected.Rejected(RejectionCodes.InvalidTenantId)),
        new("deviceId missing", Deleted, id => EnvelopeOf(id, nameof(DeviceDeleted), new { tenantId = "bad" }), Envelope, Expected.Rejected(RejectionCodes.InvalidDeviceId)),
        new("tenantId null", Registered, id => EnvelopeOf(id, nameof(DeviceRegistered), new { tenantId = (string?)null, deviceId = "null" }), Envelope, Expected.Rejected(RejectionCodes.InvalidTenantId)),
        new("NUL in deviceId", Registered, id => EnvelopeOf(id, nameof(DeviceRegistered), new { tenantId = "bad", deviceId = "dev\u0000ice" }), Envelope, Expected.Rejected(RejectionCodes.InvalidDeviceId)),
        new("newline in deviceId (log forging)", Registered, id => EnvelopeOf(id, nameof(DeviceRegistered), new { tenantId = "bad", deviceId = "dev\n[12:00:00 INF] forged" }), Envelope, Expected.Rejected(RejectionCodes.InvalidDeviceId)),
        new("ANSI escape in tenantId", Deleted, id => EnvelopeOf(id, nameof(DeviceDeleted), new { tenantId = "\u001b[31mred", deviceId = "esc" }), Envelope, Expected.Rejected(RejectionCodes.InvalidTenantId)),
        new("':' in tenantId", Registered, id => EnvelopeOf(id, nameof(DeviceRegistered), new { tenantId = "bad:tenant", deviceId = "colon" }), Envelope, Expected.Rejected(RejectionCodes.InvalidTenantId)),
        new("'/' in deviceId", Registered, id => EnvelopeOf(id, nameof(DeviceRegistered), new { tenantId = "bad", deviceId = "a/b" }), Envelope, Expected.Rejected(RejectionCodes.InvalidDeviceId)),
        new("'.' in deviceId (would shift the username split)", Registered, id => EnvelopeOf(id, nameof(DeviceRegistered), new { tenantId = "bad", deviceId = "a.b" }), Envelope, Expected.Rejected(RejectionCodes.InvalidDeviceId)),
        new("Cyrillic look-alike in deviceId", Registered, id => EnvelopeOf(id, nameof(DeviceRegistered), new { tenantId = "bad", deviceId = "dev\u0456ce" }), Envelope, Expected.Rejected(RejectionCodes.InvalidDeviceId)),
        new("fullwidth letters in tenantId", Registered, id => EnvelopeOf(id, nameof(DeviceRegistered), new { tenantId = "\uFF41\uFF43\uFF4D\uFF45", deviceId = "wide" }), Envelope, Expected.Rejected(RejectionCodes.InvalidTenantId)),
        new("zero-width space in deviceId", Deleted, id => EnvelopeOf(id, nameof(DeviceDeleted), new { tenantId = "bad", deviceId = "dev\u200bice" }), Envelope, Expected.Rejected(RejectionCodes.InvalidDeviceId)),
        new("65-character deviceId", Registered, id => EnvelopeOf(id, nameof(DeviceRegistered), new { tenantId = "bad", deviceId = new string('d', 65) }), Envelope, Expected.Rejected(RejectionCodes.InvalidDeviceId)),
        new("10 MB tenantId", Registered, id => EnvelopeOf(id, nameof(DeviceRegistered), new { tenantId = new string('t', TenMegabytes), deviceId = "huge" }), Envelope, Expected.Rejected(RejectionCodes.InvalidTenantId)),

        // valid, odd: accepted
        new("10 MB of unknown fields beside valid ones", Registered, id => EnvelopeOf(id, nameof(DeviceRegistered), new { tenantId = "odd", deviceId = "padded", padding = new string('p', TenMegabytes) }), Envelope, Expected.Issued()),
        new("fields in PascalCase", Registered, id => EnvelopeOf(id, nameof(DeviceRegistered), new { TenantId = "odd", DeviceId = "pascal" }), Envelope, Expected.Issued()),
    ];

    [Fact]
    public async Task Every_kind_of_bad_input_gets_its_written_down_answer_and_the_stream_of_good_messages_flows_on()
    {
        // Given
        var clock = Stopwatch.StartNew();
        await using var world = await FaultWorld.StartAsync(endpoints, output);
        await world.StartWorkerAsync();
        await using var load = new LoadGenerator(world.Bus, "good", devices: 40, TimeSpan.FromMilliseconds(20), seed: 8001).Start();
        await load.WaitForPublishedAsync(20);

        // When: every bad message, then a flood of one message id
        var sent = new List<(Case Case, Guid Id)>();
        foreach (var badCase in Cases)
        {
            var id = NewId.NextGuid();
            await SendAsync(world.AmqpUri, badCase, id);
            sent.Add((badCase, id));
        }

        const int Flood = 300;
        var flooded = NewId.NextGuid();
        var floodBody = EnvelopeOf(flooded, nameof(DeviceRegistered), new { tenantId = "flood", deviceId = "same", occurredAt = DateTimeOffset.UtcNow });
        var floodCase = new Case("the same message 300 times", Registered, _ => floodBody, Envelope, Expected.Issued());
        await SendManyAsync(world.AmqpUri, floodCase, flooded, Flood);

        await load.WaitForPublishedAsync(load.Published.Count + 60);
        await load.StopAsync();

        // Then: each answer as written down
        var answered = await WaitForAnswersAsync(world, [.. sent, (floodCase, flooded)]);
        var table = new StringBuilder();
        var wrong = new List<string>();
        foreach (var (badCase, id) in sent.Append((floodCase, flooded)))
        {
            var got = answered[id];
            table.AppendLine($"| {badCase.Name} | {badCase.Expected} | {got} |");
            if (got != badCase.Expected.ToString())
            {
                wrong.Add($"{badCase.Name}: expected {badCase.Expected}, got {got}");
            }
        }

        output.WriteLine(table.ToString());
        Assert.True(wrong.Count == 0, string.Join("\n", wrong) + "\n" + world.Diagnostics());

        // the flood: one reply, one line
        Assert.Single(world.Replies.All, r => r.InitiatorId == flooded);
        Assert.Single(File.ReadAllLines(world.Broker.PasswdFile), l => l.StartsWith("flood/same:", StringComparison.Ordinal));

        // rejections name the field and show hostile characters escaped, and never echo a huge id back in the reason
        var reasons = world.Replies.All.Where(r => r.Type == nameof(ProvisioningRejected)).Select(r => r.Rejected.Reason).ToList();
        Assert.All(reasons, reason => Assert.True(reason.Length < 300, $"a reason of {reason.Length} characters"));
        Assert.All(reasons, reason => Assert.DoesNotContain('\n', reason));
        Assert.All(reasons, reason => Assert.DoesNotContain('\u001b', reason));

        // nothing bad reached the file; the good stream and the accepted odd ones meet every invariant
        var accepted = sent.Where(s => s.Case.Expected.Kind == "issued").Select(s => s.Id).Append(flooded).ToHashSet();
        var expected = load.Published.ToList();
        expected.Add(new PublishedMessage(flooded, true, "flood", "same", DateTimeOffset.UtcNow));
        foreach (var (badCase, id) in sent.Where(s => accepted.Contains(s.Id)))
        {
            var issued = world.Replies.All.Single(r => r.InitiatorId == id).Issued;
            expected.Add(new PublishedMessage(id, true, issued.TenantId, issued.DeviceId, issued.IssuedAt));
        }

        var badIds = sent.Where(s => !accepted.Contains(s.Id)).Select(s => s.Id).ToHashSet();
        await InvariantChecker.CheckAsync(
            world,
            "bad input amid a stream of good messages",
            sent.Count + 1,
            expected,
            clock.Elapsed,
            new CheckOptions { CheckedElsewhere = badIds });
    }

    /// <summary>Waits until each message has its answer: a reply, or a place in an _error/_skipped queue.</summary>
    private static async Task<Dictionary<Guid, string>> WaitForAnswersAsync(FaultWorld world, IReadOnlyList<(Case Case, Guid Id)> sent)
    {
        string[] queues = ["device-registered_error", "device-registered_skipped", "device-deleted_error", "device-deleted_skipped"];
        var answers = new Dictionary<Guid, string>();
        await Eventually.TrueAsync(
            async () =>
            {
                answers = await AnswersAsync(world, sent, queues);
                return sent.All(s => answers.ContainsKey(s.Id));
            },
            TimeSpan.FromSeconds(90),
            "not every message was answered",
            () => $"no answer for: {string.Join(", ", sent.Where(s => !answers.ContainsKey(s.Id)).Select(m => m.Case.Name))}\n{world.Diagnostics()}",
            TimeSpan.FromMilliseconds(500));
        return answers;
    }

    private static async Task<Dictionary<Guid, string>> AnswersAsync(FaultWorld world, IReadOnlyList<(Case Case, Guid Id)> sent, string[] queues)
    {
        var answers = new Dictionary<Guid, string>();
        foreach (var reply in world.Replies.All.Where(r => r.InitiatorId is not null))
        {
            answers.TryAdd(reply.InitiatorId!.Value, reply.Type == nameof(ProvisioningRejected) ? $"ProvisioningRejected {reply.Rejected.Code}" : reply.Type);
        }

        foreach (var queue in queues)
        {
            foreach (var message in await world.Queues.PeekAllAsync(queue))
            {
                if (message.MessageId is { } id)
                {
                    answers.TryAdd(id, $"moved to {queue}");
                }
                else
                {
                    // a message without any id can only be told apart by its body
                    var match = sent.FirstOrDefault(s => !s.Case.MessageIdProperty && s.Case.Body(s.Id).AsSpan().SequenceEqual(message.Body));
                    if (match.Case is not null)
                    {
                        answers.TryAdd(match.Id, $"moved to {queue}");
                    }
                }
            }
        }

        return answers;
    }

    private static async Task SendAsync(Uri amqpUri, Case badCase, Guid id) => await SendManyAsync(amqpUri, badCase, id, 1);

    /// <summary>Straight onto the queue through the default exchange, with publisher confirms, as a misbehaving app could.</summary>
    private static async Task SendManyAsync(Uri amqpUri, Case badCase, Guid id, int times)
    {
        var factory = new ConnectionFactory { Uri = amqpUri };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
        var body = badCase.Body(id);
        var properties = new BasicProperties { Persistent = true, ContentType = badCase.ContentType, Type = badCase.Type };
        if (badCase.MessageIdProperty)
        {
            properties.MessageId = id.ToString();
        }

        for (var i = 0; i < times; i++)
        {
            await channel.BasicPublishAsync(string.Empty, badCase.Queue, mandatory: true, properties, body);
        }
    }

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    /// <summary>A MassTransit JSON envelope around <paramref name="message"/>.</summary>
    private static byte[] EnvelopeOf(Guid id, string contract, object message, string? messageType = null) =>
        JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object?>
        {
            ["messageId"] = id.ToString(),
            ["messageType"] = new[] { messageType ?? $"urn:message:Provisioning.Contracts:{contract}" },
            ["sentTime"] = DateTimeOffset.UtcNow,
            ["message"] = message,
        });
}
