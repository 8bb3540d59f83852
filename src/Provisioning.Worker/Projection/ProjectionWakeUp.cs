using Provisioning.Worker.Hosting;

namespace Provisioning.Worker.Projection;

/// <summary>Rung after a device change commits, so the passwd file follows without waiting for the poll.</summary>
public sealed class ProjectionWakeUp(TimeProvider clock) : WakeUpSignal(clock);
