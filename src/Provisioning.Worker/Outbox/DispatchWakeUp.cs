using Provisioning.Worker.Shared;

namespace Provisioning.Worker.Outbox;

/// <summary>Rung when replies become deliverable (the broker applied their change).</summary>
public sealed class DispatchWakeUp(TimeProvider clock) : WakeUpSignal(clock);
