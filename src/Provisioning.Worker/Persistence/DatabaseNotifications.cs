using Npgsql;
using Provisioning.Worker.Devices;
using Provisioning.Worker.Outbox;
using Provisioning.Worker.Shared;

namespace Provisioning.Worker.Persistence;

/// <summary>
/// Brings other processes' commits to this one's doorbells: triggers of the BrokerFleet migration NOTIFY
/// <see cref="DeviceChangesChannel"/> when devices change (an agent's projection follows at once) and
/// <see cref="BrokerAppliedChannel"/> when a broker's checkpoint moves or an operator takes one out or in (the
/// dispatcher sends what became due). One listening connection; without it everyone still polls at
/// <c>Provisioning:PollInterval</c>, so a lost connection costs latency only, and is reopened with backoff.
/// </summary>
public sealed partial class DatabaseNotifications(
    NpgsqlDataSource database,
    DeviceChangeSignal deviceChanges,
    DispatchWakeUp dispatch,
    TimeProvider clock,
    ILogger<DatabaseNotifications> logger) : BackgroundService
{
    public const string DeviceChangesChannel = "provisioning_device_changes";
    public const string BrokerAppliedChannel = "provisioning_broker_applied";

    private static readonly TimeSpan _keepAlive = TimeSpan.FromSeconds(15);

    private readonly Backoff _reconnect = new(TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(30));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await database.OpenConnectionAsync(stoppingToken);
                connection.Notification += (_, e) =>
                {
                    if (e.Channel == DeviceChangesChannel)
                    {
                        deviceChanges.Notify();
                    }
                    else
                    {
                        dispatch.Notify();
                    }
                };
                await using (var listen = new NpgsqlCommand($"LISTEN {DeviceChangesChannel}; LISTEN {BrokerAppliedChannel}", connection))
                {
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                }

                // Whatever committed while nobody listened: wake both once.
                deviceChanges.Notify();
                dispatch.Notify();
                failures = 0;
                while (!stoppingToken.IsCancellationRequested)
                {
                    if (!await connection.WaitAsync(_keepAlive, stoppingToken))
                    {
                        // A connection the network dropped without a word would wait for ever: a round trip finds out.
                        await using var ping = new NpgsqlCommand("SELECT 1", connection);
                        await ping.ExecuteNonQueryAsync(stoppingToken);
                    }
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                failures++;
                Log.ListenFailed(logger, _reconnect.Delay(failures).TotalSeconds, e.Message);
                await _reconnect.WaitAsync(failures, clock, stoppingToken);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 700, Level = LogLevel.Warning, Message = "Listening for other processes' commits failed ({Error}); polling meanwhile, listening again in {DelaySeconds:0.0} s")]
        public static partial void ListenFailed(ILogger logger, double delaySeconds, string error);
    }
}
