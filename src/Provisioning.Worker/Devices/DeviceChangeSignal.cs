using Provisioning.Worker.Shared;

namespace Provisioning.Worker.Devices;

/// <summary>
/// Rung after device changes commit. The projection (Projection/ProjectionRunner) waits on it, so the broker's files
/// follow at once instead of at the next poll; the signal lives here so that Devices need not know who listens.
/// </summary>
public sealed class DeviceChangeSignal(TimeProvider clock) : WakeUpSignal(clock);
