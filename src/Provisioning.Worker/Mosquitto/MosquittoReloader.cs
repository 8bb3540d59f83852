using System.ComponentModel;
using Microsoft.Extensions.Options;
using MQTTnet;
using Provisioning.Worker.Configuration;
using Provisioning.Worker.Shared;

namespace Provisioning.Worker.Mosquitto;

/// <summary>
/// Makes Mosquitto load the projected files (SIGHUP to the pid in <c>Mosquitto:PidFile</c>; one signal reloads the
/// passwd file and the acl_file together), then proves it did: the probe user logs in with the password written in
/// that very passwd file and, when the worker manages topics, publishes to the topic that only this cycle's acl_file
/// grants it (a login proves nothing about the acl_file). The signal is asynchronous: without the proof a reply could
/// reach a device before the broker knows its credential or enforces its rules.
/// </summary>
public sealed partial class MosquittoReloader(IOptions<BrokerTargetOptions> options, TimeProvider clock, ILogger<MosquittoReloader> logger)
{
    private const int SigHup = 1;
    private static readonly MqttClientFactory _clientFactory = new();
    private static readonly Backoff _probeRetry = new(TimeSpan.FromMilliseconds(2), TimeSpan.FromMilliseconds(50));

    /// <summary>Reloads and proves; returns the broker's stall: from the signal to the proof.</summary>
    public async Task<TimeSpan> ReloadAsync(ProbeCredential probe, bool proveTopics, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(probe);
        var settings = options.Value;
        var pid = await ReadPidAsync(settings.PidFile, cancellationToken);
        if (SignalDisposition.Catches(pid, SigHup) == false)
        {
            throw new MosquittoUnavailableException(
                $"Mosquitto (pid {pid} from {settings.PidFile}) does not handle SIGHUP yet (still starting, or not Mosquitto): the signal would kill it, so it is not sent.");
        }

        if (MosquittoPidFile.Signal(pid, SigHup) is var errno and not 0)
        {
            throw new MosquittoUnavailableException(
                $"Cannot signal Mosquitto (pid {pid} from {settings.PidFile}): {new Win32Exception(errno).Message}. Is the broker running?");
        }

        var started = clock.GetTimestamp();
        var attempt = 0;
        while (true)
        {
            attempt++;
            var (refusal, notListening) = await TryProbeAsync(settings, probe, proveTopics, settings.ReloadTimeout - clock.GetElapsedTime(started), cancellationToken);
            if (refusal is null)
            {
                var stall = clock.GetElapsedTime(started);
                Log.Reloaded(logger, pid, stall.TotalMilliseconds, attempt);
                return stall;
            }

            // A reload keeps the listeners open: a refused connection means the broker is gone, not busy.
            if (notListening)
            {
                throw new MosquittoUnavailableException(
                    $"Mosquitto (pid {pid}) stopped listening at {settings.EffectiveProbeHost}:{settings.EffectiveProbePort} during the reload ({refusal}). Is the broker running?");
            }

            if (clock.GetElapsedTime(started) >= settings.ReloadTimeout)
            {
                throw new MosquittoUnavailableException(
                    $"Mosquitto (pid {pid}) did not take the new files within {settings.ReloadTimeout.TotalSeconds:0.#} s: the probe as '{settings.ProbeUsername}' at {settings.EffectiveProbeHost}:{settings.EffectiveProbePort} failed ({refusal}).");
            }

            await Task.Delay(_probeRetry.Delay(attempt), clock, cancellationToken);
        }
    }

    /// <summary>
    /// Refusal null when the login (and the publish) succeeded, else why not; NotListening when the connection itself
    /// was refused. The publish is QoS 1 over MQTT 5: Mosquitto answers a publish its acl_file denies with PUBACK
    /// reason 135 (not authorized); a SUBACK would prove nothing, since its acl_file never refuses a subscription
    /// (it filters deliveries instead: eclipse-mosquitto/mosquitto#2042).
    /// The probe ends when the reload's time is up (<paramref name="left"/>), whatever it waits for: a frozen broker
    /// (SIGSTOP) still completes TCP handshakes from its listen backlog and answers nothing, and MQTTnet applies its own
    /// timeout (WithTimeout) only when the caller's token cannot be cancelled, never to the PUBACK; the projection's
    /// token can, so the probe waited for as long as the broker stayed frozen, /health/ready saw no failure
    /// (tests/Provisioning.Worker.Tests/Mosquitto/ClockJumpReloadTests.cs, docs/fault-suite.md "Mosquitto frozen").
    /// </summary>
    private async Task<(string? Refusal, bool NotListening)> TryProbeAsync(BrokerTargetOptions settings, ProbeCredential probe, bool proveTopics, TimeSpan left, CancellationToken cancellationToken)
    {
        using var timeUp = new CancellationTokenSource(left > TimeSpan.Zero ? left : TimeSpan.Zero, clock);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeUp.Token);
        var probeToken = linked.Token;
        using var client = _clientFactory.CreateMqttClient();
        var clientOptions = new MqttClientOptionsBuilder()
            .WithTcpServer(settings.EffectiveProbeHost, settings.EffectiveProbePort)
            .WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500)
            .WithCredentials(probe.Username, probe.Password)
            .WithClientId($"provisioning-worker-probe-{Environment.ProcessId}")
            .WithCleanSession()
            .WithTimeout(TimeSpan.FromSeconds(5))
            .Build();
        try
        {
            var result = await client.ConnectAsync(clientOptions, probeToken);
            if (result.ResultCode != MqttClientConnectResultCode.Success)
            {
                return (result.ResultCode.ToString(), false);
            }

            string? denied = null;
            if (proveTopics)
            {
                var message = new MqttApplicationMessageBuilder()
                    .WithTopic(probe.Topic)
                    .WithQualityOfServiceLevel(MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce)
                    .Build();
                var published = await client.PublishAsync(message, probeToken);
                if (published.ReasonCode is not (MqttClientPublishReasonCode.Success or MqttClientPublishReasonCode.NoMatchingSubscribers))
                {
                    denied = $"the publish to this reload's topic was answered {published.ReasonCode}: the new acl_file is not in effect";
                }
            }

            await client.DisconnectAsync(cancellationToken: probeToken);
            return (denied, false);
        }
        catch (Exception) when (timeUp.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            // MQTTnet reports its cancelled CONNECT as "Connection closed": the cause is the time, say so.
            return ("no answer in time: is the broker stopped or overloaded?", false);
        }
        catch (MQTTnet.Adapter.MqttConnectingFailedException e)
        {
            return (e.Message, IsConnectionRefused(e));
        }
        catch (Exception e) when (e is MQTTnet.Exceptions.MqttCommunicationException or System.Net.Sockets.SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return (e.GetType().Name + ": " + e.Message, IsConnectionRefused(e));
        }
    }

    private static bool IsConnectionRefused(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
        {
            if (e is System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.ConnectionRefused })
            {
                return true;
            }
        }

        return false;
    }

    private static async Task<int> ReadPidAsync(string pidFile, CancellationToken cancellationToken)
    {
        var (pid, problem) = await MosquittoPidFile.ReadAsync(pidFile, cancellationToken);
        return pid ?? throw new MosquittoUnavailableException(problem!);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 300, Level = LogLevel.Debug, Message = "Mosquitto {Pid} reloaded the projected files in {ElapsedMs:0.0} ms ({Attempts} probes)")]
        public static partial void Reloaded(ILogger logger, int pid, double elapsedMs, int attempts);
    }
}

/// <summary>The broker is down or did not take the new file: a transient fault, retried; replies wait.</summary>
public sealed class MosquittoUnavailableException : Exception
{
    public MosquittoUnavailableException(string message)
        : base(message)
    {
    }

    public MosquittoUnavailableException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
