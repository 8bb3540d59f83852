using System.Collections.Concurrent;
using System.Diagnostics;
using MQTTnet;

namespace Provisioning.Worker.Benchmarks;

/// <summary>
/// A fleet of connected, idle devices (MQTTnet clients logged in as seeded devices). Mosquitto re-authenticates
/// every one of them at each reload, which is what the broker-side run measures.
/// </summary>
public sealed class IdleClients : IAsyncDisposable
{
    private static readonly MqttClientFactory _factory = new();
    private readonly ConcurrentBag<IMqttClient> _clients = [];

    public int Connected => _clients.Count(c => c.IsConnected);

    public async Task ConnectAsync(int port, int count, Func<int, (string User, string Password)> credentials, CancellationToken cancellationToken)
    {
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = cancellationToken }, async (i, ct) =>
        {
            var (user, password) = credentials(i);
            var client = _factory.CreateMqttClient();
            _clients.Add(client);
            var options = new MqttClientOptionsBuilder()
                .WithTcpServer("127.0.0.1", port)
                .WithCredentials(user, password)
                .WithClientId($"bench-idle-{i}")
                .WithCleanSession()
                .WithKeepAlivePeriod(TimeSpan.FromMinutes(10))
                .WithTimeout(TimeSpan.FromSeconds(30))
                .Build();
            await client.ConnectAsync(options, ct);
        });
    }

    public async ValueTask DisposeAsync()
    {
        await Parallel.ForEachAsync(_clients, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (client, _) =>
        {
            try
            {
                if (client.IsConnected)
                {
                    await client.DisconnectAsync(new MqttClientDisconnectOptions(), CancellationToken.None);
                }
            }
            catch (Exception e) when (e is MQTTnet.Exceptions.MqttCommunicationException or OperationCanceledException)
            {
                // The broker may already have dropped it.
            }

            client.Dispose();
        });
    }
}

/// <summary>A device connecting over and over while the worker runs: how long a CONNECT waits for its CONNACK.</summary>
public sealed class ConnectProber(int port, string user, string password, TimeSpan interval)
{
    private static readonly MqttClientFactory _factory = new();
    private readonly List<double> _waitsMs = [];

    public Stats Waits
    {
        get
        {
            lock (_waitsMs)
            {
                return new Stats(_waitsMs);
            }
        }
    }

    public int Failures { get; private set; }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var options = new MqttClientOptionsBuilder()
            .WithTcpServer("127.0.0.1", port)
            .WithCredentials(user, password)
            .WithClientId("bench-connect-prober")
            .WithCleanSession()
            .WithTimeout(TimeSpan.FromSeconds(30))
            .Build();
        while (!cancellationToken.IsCancellationRequested)
        {
            using var client = _factory.CreateMqttClient();
            var started = Stopwatch.GetTimestamp();
            try
            {
                await client.ConnectAsync(options, cancellationToken);
                var waited = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                lock (_waitsMs)
                {
                    _waitsMs.Add(waited);
                }

                await client.DisconnectAsync(new MqttClientDisconnectOptions(), cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is MQTTnet.Adapter.MqttConnectingFailedException or MQTTnet.Exceptions.MqttCommunicationException)
            {
                Failures++;
            }

            try
            {
                await Task.Delay(interval, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
