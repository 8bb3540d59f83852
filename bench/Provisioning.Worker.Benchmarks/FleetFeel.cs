using System.Buffers.Binary;
using System.Diagnostics;
using MQTTnet;
using MQTTnet.Protocol;

namespace Provisioning.Worker.Benchmarks;

/// <summary>
/// What the running fleet feels of provisioning (docs/benchmarks.md, "What the fleet feels"): sessions the broker
/// holds for devices that are away, and devices that are connected and time their own telemetry round trip through
/// the broker. At every reload Mosquitto re-verifies every session it holds and serves nothing meanwhile.
/// </summary>
public static class PersistentSessions
{
    private static readonly MqttClientFactory _factory = new();

    /// <summary>
    /// Leaves <paramref name="count"/> persistent sessions on the broker: each device connects with clean-session off and
    /// disconnects, as a device that wants its queued messages does. Returns how many were created. Unlike
    /// <see cref="IdleClients"/>, no connection stays open: tens of thousands of sessions need no file descriptors.
    /// </summary>
    public static async Task<int> CreateAsync(int port, int count, Func<int, (string User, string Password)> credentials, CancellationToken cancellationToken)
    {
        var created = 0;
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = cancellationToken }, async (i, ct) =>
        {
            var (user, password) = credentials(i);
            using var client = _factory.CreateMqttClient();
            var options = new MqttClientOptionsBuilder()
                .WithTcpServer("127.0.0.1", port)
                .WithCredentials(user, password)
                .WithClientId($"bench-session-{i}")
                .WithCleanSession(false)
                .WithTimeout(TimeSpan.FromSeconds(30))
                .Build();
            await client.ConnectAsync(options, ct);
            await client.DisconnectAsync(new MqttClientDisconnectOptions(), ct);
            Interlocked.Increment(ref created);
        });
        return created;
    }
}

/// <summary>
/// Connected devices that publish to their own telemetry topic every <c>interval</c> and receive it back through
/// their subscription: the round trip is what a device of the fleet waits for the broker.
/// </summary>
public sealed class TelemetryProbes : IAsyncDisposable
{
    private static readonly MqttClientFactory _factory = new();
    private readonly List<IMqttClient> _clients = [];
    private readonly List<string> _topics = [];
    private readonly List<double> _roundTripsMs = [];
    private volatile bool _recording;

    /// <summary>Connects each device (clean session) and subscribes it to its own telemetry topic.</summary>
    public static async Task<TelemetryProbes> ConnectAsync(int port, IReadOnlyList<(string User, string Password, string Topic)> devices, CancellationToken cancellationToken)
    {
        var probes = new TelemetryProbes();
        foreach (var (user, password, topic) in devices)
        {
            var client = _factory.CreateMqttClient();
            probes._clients.Add(client);
            probes._topics.Add(topic);
            client.ApplicationMessageReceivedAsync += e =>
            {
                if (probes._recording && e.ApplicationMessage.Payload.Length >= sizeof(long))
                {
                    Span<byte> sent = stackalloc byte[sizeof(long)];
                    System.Buffers.BuffersExtensions.CopyTo(e.ApplicationMessage.Payload.Slice(0, sizeof(long)), sent);
                    var elapsed = Stopwatch.GetElapsedTime(BinaryPrimitives.ReadInt64LittleEndian(sent)).TotalMilliseconds;
                    lock (probes._roundTripsMs)
                    {
                        probes._roundTripsMs.Add(elapsed);
                    }
                }

                return Task.CompletedTask;
            };
            var result = await client.ConnectAsync(
                new MqttClientOptionsBuilder()
                    .WithTcpServer("127.0.0.1", port)
                    .WithCredentials(user, password)
                    .WithClientId($"bench-telemetry-{probes._clients.Count}")
                    .WithCleanSession()
                    .WithKeepAlivePeriod(TimeSpan.FromMinutes(10))
                    .WithTimeout(TimeSpan.FromSeconds(60))
                    .Build(),
                cancellationToken);
            if (result.ResultCode != MqttClientConnectResultCode.Success)
            {
                throw new InvalidOperationException($"telemetry device {user} was refused: {result.ResultCode}");
            }

            await client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(topic, MqttQualityOfServiceLevel.AtMostOnce).Build(), cancellationToken);
        }

        return probes;
    }

    /// <summary>Every device publishes every <paramref name="interval"/> until <paramref name="duration"/> has passed; returns the round trips of that window.</summary>
    public async Task<TelemetryWindow> MeasureAsync(TimeSpan duration, TimeSpan interval, CancellationToken cancellationToken)
    {
        lock (_roundTripsMs)
        {
            _roundTripsMs.Clear();
        }

        _recording = true;
        var sent = 0;
        var started = Stopwatch.GetTimestamp();
        using var timer = new PeriodicTimer(interval);
        while (Stopwatch.GetElapsedTime(started) < duration && await timer.WaitForNextTickAsync(cancellationToken))
        {
            for (var i = 0; i < _clients.Count; i++)
            {
                var payload = new byte[sizeof(long)];
                BinaryPrimitives.WriteInt64LittleEndian(payload, Stopwatch.GetTimestamp());
                // QoS 0 and not awaited beyond the socket write: a stalled broker delays the echo, not the sender's clock.
                await _clients[i].PublishAsync(new MqttApplicationMessageBuilder().WithTopic(_topics[i]).WithPayload(payload).Build(), cancellationToken);
                sent++;
            }
        }

        // The last messages may still be inside a stalled broker: wait for them as long as any window's worst case.
        var drainUntil = Stopwatch.GetTimestamp() + Stopwatch.Frequency * 15;
        while (Received() < sent && Stopwatch.GetTimestamp() < drainUntil)
        {
            await Task.Delay(50, cancellationToken);
        }

        _recording = false;
        lock (_roundTripsMs)
        {
            return new TelemetryWindow(new Stats(_roundTripsMs), sent, sent - _roundTripsMs.Count, Stopwatch.GetElapsedTime(started));
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients)
        {
            try
            {
                await client.DisconnectAsync(new MqttClientDisconnectOptions(), CancellationToken.None);
            }
            catch (Exception e) when (e is MQTTnet.Exceptions.MqttCommunicationException or OperationCanceledException)
            {
                // The broker may already have dropped it.
            }

            client.Dispose();
        }
    }

    private int Received()
    {
        lock (_roundTripsMs)
        {
            return _roundTripsMs.Count;
        }
    }
}

/// <summary>One window of telemetry: the round trips, how many were sent and never came back, how long it lasted.</summary>
public sealed record TelemetryWindow(Stats RoundTrips, int Sent, int Lost, TimeSpan Elapsed)
{
    public string Summary() =>
        $"p50 {RoundTrips.Percentile(50):0.0} / p99 {RoundTrips.Percentile(99):0.0} / max {RoundTrips.Max:0.0} ms ({RoundTrips.Count:N0} round trips, {Lost} lost)";
}
