namespace Provisioning.Worker.Devices;

/// <summary>The input queues of the contract (docs/contract.md), which also name their consumers in the inbox.</summary>
public static class DeviceQueues
{
    /// <summary>The queue of <see cref="DeviceEventKind.Registered"/>, and its name in the inbox.</summary>
    public const string Registered = "device-registered";

    /// <summary>The queue of <see cref="DeviceEventKind.Deleted"/>, and its name in the inbox.</summary>
    public const string Deleted = "device-deleted";
}
