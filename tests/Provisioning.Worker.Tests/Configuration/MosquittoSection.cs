using Provisioning.Worker.Configuration;
using Provisioning.Worker.Hosting;

namespace Provisioning.Worker.Tests.Configuration;

/// <summary>
/// The <c>Mosquitto</c> section as the worker checks it: its two classes (<see cref="BrokerTargetOptions"/>,
/// <see cref="DeviceCredentialOptions"/>), each by its own validator, the failures of both together.
/// </summary>
internal sealed class MosquittoSection
{
    public BrokerTargetOptions Target { get; init; } = new();

    public DeviceCredentialOptions Credentials { get; init; } = new();

    /// <summary>Sets a key on the class that holds it.</summary>
    public void Set(string property, object? value)
    {
        if (typeof(BrokerTargetOptions).GetProperty(property) is { } target)
        {
            target.SetValue(Target, value);
        }
        else
        {
            typeof(DeviceCredentialOptions).GetProperty(property)!.SetValue(Credentials, value);
        }
    }

    public (bool Succeeded, string FailureMessage) Validate(WorkerRole role)
    {
        var target = new BrokerTargetOptionsValidator(role).Validate(null, Target);
        var credentials = new DeviceCredentialOptionsValidator(role).Validate(null, Credentials);
        var failures = new[] { target, credentials }.Where(r => r.Failed).Select(r => r.FailureMessage).ToList();
        return (failures.Count == 0, string.Join("; ", failures));
    }
}
