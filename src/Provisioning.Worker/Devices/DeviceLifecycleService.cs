namespace Provisioning.Worker.Devices;

/// <summary>
/// The rules of DESIGN.md §2 for one event. Each event's effect is one atomic change: inbox row (dedupe), device change
/// under a row lock (so two events for one device never race), and the reply in the outbox. Events arriving together
/// share a transaction (<see cref="LifecycleBatcher"/>); the outcome is this event's own.
/// </summary>
public sealed class DeviceLifecycleService(LifecycleBatcher batcher)
{
    public const string RegisteredConsumer = "device-registered";
    public const string DeletedConsumer = "device-deleted";

    public Task<LifecycleOutcome> RegisterAsync(DeviceEvent e, CancellationToken cancellationToken) =>
        batcher.SubmitAsync(RegisteredConsumer, e, cancellationToken);

    public Task<LifecycleOutcome> DeleteAsync(DeviceEvent e, CancellationToken cancellationToken) =>
        batcher.SubmitAsync(DeletedConsumer, e, cancellationToken);
}
