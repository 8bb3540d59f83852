using Provisioning.Contracts;

namespace Provisioning.Worker.Devices;

/// <summary>
/// The topic permissions a device is granted, told to it in <see cref="CredentialsIssued.Topics"/>. A function of the
/// ids and the configuration only, so the lifecycle rules stay plain functions.
/// </summary>
public interface IDeviceTopics
{
    IReadOnlyList<TopicPermission> For(string tenantId, string deviceId);
}

/// <summary>Topic authorization off: a device is told of no topic permission.</summary>
public sealed class NoDeviceTopics : IDeviceTopics
{
    public IReadOnlyList<TopicPermission> For(string tenantId, string deviceId) => [];
}
