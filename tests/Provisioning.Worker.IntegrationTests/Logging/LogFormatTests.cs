using System.Text.Json;
using Provisioning.Contracts;
using Provisioning.Worker.IntegrationTests.Infrastructure;

namespace Provisioning.Worker.IntegrationTests.Logging;

/// <summary><c>Logging:Format</c> (docs/logging.md): text for people, compact JSON for log shippers, secrets in neither.</summary>
[Collection(ServicesCollection.Name)]
public sealed class LogFormatTests(ServiceEndpoints endpoints)
{
    private static readonly TimeSpan _replyTimeout = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData("text")]
    [InlineData("json")]
    public async Task No_password_and_no_hash_reaches_the_log_in_either_format(string format)
    {
        // Given
        await using var harness = await PipelineHarness.StartAsync(endpoints);
        await harness.StartWorkerAsync(new Dictionary<string, string?> { ["Logging__Format"] = format });

        // When
        await harness.PublishRegisteredAsync("acme", "sensor-1");
        var issued = (await harness.Replies.WaitForOneAsync(nameof(CredentialsIssued), "acme", "sensor-1", _replyTimeout, harness.Diagnostics)).Issued;
        var hash = Assert.Single(harness.DeviceLines(), l => l.Username == "acme/sensor-1").Hash;
        await Eventually.TrueAsync(() => harness.WorkerLogs.Contains("Consumed", StringComparison.Ordinal), TimeSpan.FromSeconds(10), "the worker logged no consumed message", harness.Diagnostics);
        await harness.Worker!.StopAsync();

        // Then: neither the secret nor the hash (whole, salt or derived key), as written or as JSON decodes it
        var logs = harness.WorkerLogs;
        var readable = format == "json" ? string.Join('\n', JsonLines(harness.Worker.Stdout).SelectMany(StringValues)) : logs;
        string[] secrets = [issued.Password!, hash, .. hash.Split('$', StringSplitOptions.RemoveEmptyEntries).Where(part => part.Length >= 16)];
        Assert.Equal(4, secrets.Length);
        foreach (var secret in secrets)
        {
            Assert.DoesNotContain(secret, logs, StringComparison.Ordinal);
            Assert.DoesNotContain(secret, readable, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task With_json_every_line_is_one_compact_json_event_carrying_the_message_and_device_ids()
    {
        // Given
        await using var harness = await PipelineHarness.StartAsync(endpoints);
        await harness.StartWorkerAsync(new Dictionary<string, string?> { ["Logging__Format"] = "json" });

        // When
        await harness.PublishRegisteredAsync("acme", "sensor-1", messageId: Guid.Parse("0f8fad5b-d9cb-469f-a165-70867728950e"));
        await harness.Replies.WaitForOneAsync(nameof(CredentialsIssued), "acme", "sensor-1", _replyTimeout, harness.Diagnostics);
        await Eventually.TrueAsync(() => harness.Worker!.Stdout.Contains("Consumed {MessageType}", StringComparison.Ordinal), TimeSpan.FromSeconds(10), "the worker logged no consumed message", harness.Diagnostics);
        await harness.Worker!.StopAsync();

        // Then: the whole output parses line by line, from the first start-up line to the last of the stop
        var events = JsonLines(harness.Worker.Stdout);
        Assert.True(events.Count > 5, harness.Worker.Stdout);
        Assert.All(events, e =>
        {
            Assert.True(e.TryGetProperty("@t", out _), e.ToString());
            Assert.True(e.TryGetProperty("@mt", out _), e.ToString());
        });
        var consumed = Assert.Single(events, e => e.GetProperty("@mt").GetString() == "Consumed {MessageType}: {Outcome}");
        Assert.Equal("0f8fad5b-d9cb-469f-a165-70867728950e", consumed.GetProperty("MessageId").GetString());
        Assert.Equal("acme", consumed.GetProperty("TenantId").GetString());
        Assert.Equal("sensor-1", consumed.GetProperty("DeviceId").GetString());
        Assert.Equal(nameof(DeviceRegistered), consumed.GetProperty("MessageType").GetString());
        Assert.Equal("Issued", consumed.GetProperty("Outcome").GetString());
        Assert.Equal("Provisioning.Worker.Consumers.DeviceRegisteredConsumer", consumed.GetProperty("SourceContext").GetString());
    }

    [Fact]
    public async Task An_invalid_configuration_is_reported_in_json_too_when_json_is_asked_for()
    {
        var result = await WorkerProcess.RunToExitAsync([], new Dictionary<string, string?> { ["Logging__Format"] = "json", ["RabbitMq__Uri"] = "not-a-uri" });

        Assert.True(result.ExitCode == 3, result.ToString());
        var fatal = Assert.Single(JsonLines(result.Stdout), e => e.TryGetProperty("@l", out var level) && level.GetString() == "Fatal" && e.GetProperty("Failure").GetString()!.StartsWith("RabbitMq:Uri", StringComparison.Ordinal));
        Assert.Equal("Invalid configuration: {Failure}", fatal.GetProperty("@mt").GetString());
    }

    [Fact]
    public async Task An_unknown_format_stops_the_worker_naming_the_key()
    {
        var result = await WorkerProcess.RunToExitAsync([], new Dictionary<string, string?> { ["Logging__Format"] = "xml" });

        Assert.True(result.ExitCode == 3, result.ToString());
        Assert.Contains("Logging:Format is 'xml'; it must be 'text' or 'json'.", result.Stdout, StringComparison.Ordinal);
    }

    /// <summary>Every non-empty line as a JSON object; fails the test on a line that is not one.</summary>
    private static List<JsonElement> JsonLines(string output) =>
        [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(line =>
        {
            try
            {
                using var document = JsonDocument.Parse(line);
                Assert.Equal(JsonValueKind.Object, document.RootElement.ValueKind);
                return document.RootElement.Clone();
            }
            catch (JsonException e)
            {
                throw new Xunit.Sdk.XunitException($"a log line that is not one JSON object ({e.Message}): {line}");
            }
        })];

    private static IEnumerable<string> StringValues(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => [element.GetString()!],
        JsonValueKind.Object => element.EnumerateObject().SelectMany(p => StringValues(p.Value).Prepend(p.Name)),
        JsonValueKind.Array => element.EnumerateArray().SelectMany(StringValues),
        _ => [],
    };
}
