namespace Provisioning.Worker.Devices;

/// <summary>
/// The lifecycle rules (<see cref="LifecycleRules"/>) for one event. Each event's effect is one atomic change: inbox row
/// (dedupe), device change under a row lock (so two events for one device never race), and the reply in the outbox.
/// Events arriving together share a transaction (<see cref="LifecycleBatcher"/>); the outcome is this event's own.
/// </summary>
public sealed class DeviceLifecycleService(LifecycleBatcher batcher)
{
    /// <summary>The queue of <see cref="DeviceEventKind.Registered"/>, and its name in the inbox.</summary>
    public const string RegisteredConsumer = "device-registered";

    /// <summary>The queue of <see cref="DeviceEventKind.Deleted"/>, and its name in the inbox.</summary>
    public const string DeletedConsumer = "device-deleted";

    public Task<LifecycleOutcome> ApplyAsync(DeviceEvent e, CancellationToken cancellationToken) =>
        batcher.SubmitAsync(e, cancellationToken);
}
