using System.Collections.Concurrent;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace Provisioning.Worker.IntegrationTests.Topics;

/// <summary>A connected MQTT 5 client that records what it receives: a device, or an operator's service.</summary>
public sealed class MqttDevice : IAsyncDisposable
{
    private readonly IMqttClient _client;

    private MqttDevice(IMqttClient client) => _client = client;

    public ConcurrentQueue<(string Topic, string Payload)> Received { get; } = new();

    /// <param name="password">A reply's password; null (a sealed reply's) fails the test.</param>
    public static async Task<MqttDevice> ConnectAsync(int port, string username, string? password)
    {
        ArgumentNullException.ThrowIfNull(password);
        var client = new MqttClientFactory().CreateMqttClient();
        var device = new MqttDevice(client);
        client.ApplicationMessageReceivedAsync += e =>
        {
            device.Received.Enqueue((e.ApplicationMessage.Topic, e.ApplicationMessage.ConvertPayloadToString()));
            return Task.CompletedTask;
        };
        var result = await client.ConnectAsync(new MqttClientOptionsBuilder()
            .WithTcpServer("127.0.0.1", port)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithCredentials(username, password)
            .WithClientId($"{username}-{Guid.NewGuid():N}")
            .WithTimeout(TimeSpan.FromSeconds(10))
            .Build());
        Assert.Equal(MqttClientConnectResultCode.Success, result.ResultCode);
        return device;
    }

    public async Task SubscribeAsync(params string[] filters)
    {
        foreach (var filter in filters)
        {
            await _client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(filter, MqttQualityOfServiceLevel.AtLeastOnce).Build());
        }
    }

    /// <summary>Publishes at QoS 1; true when the broker accepted it, false when its acl_file denied it (PUBACK 135).</summary>
    public async Task<bool> PublishAsync(string topic, string payload)
    {
        var result = await _client.PublishAsync(new MqttApplicationMessageBuilder()
            .WithTopic(topic)
            .WithPayload(payload)
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .Build());
        return result.ReasonCode switch
        {
            MqttClientPublishReasonCode.Success or MqttClientPublishReasonCode.NoMatchingSubscribers => true,
            MqttClientPublishReasonCode.NotAuthorized => false,
            var other => throw new InvalidOperationException($"unexpected PUBACK {other}"),
        };
    }

    /// <summary>Waits until a payload arrives (a marker sent after everything that must not arrive).</summary>
    public Task WaitForAsync(string payload) =>
        Eventually.TrueAsync(
            () => Received.Any(m => m.Payload == payload),
            TimeSpan.FromSeconds(10),
            $"'{payload}' never arrived",
            () => $"received: {string.Join(", ", Received)}",
            TimeSpan.FromMilliseconds(20));

    public async ValueTask DisposeAsync()
    {
        if (_client.IsConnected)
        {
            await _client.DisconnectAsync();
        }

        _client.Dispose();
    }
}
