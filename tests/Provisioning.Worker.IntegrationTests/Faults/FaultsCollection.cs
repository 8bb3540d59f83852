using Provisioning.Worker.IntegrationTests.Infrastructure;

namespace Provisioning.Worker.IntegrationTests.Faults;

/// <summary>
/// The fault scenarios. They run one at a time and apart from every other test (they kill processes, stop servers
/// and load the machine; timing-sensitive neighbours would suffer, and so would they).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class FaultsCollection : ICollectionFixture<ServiceEndpoints>
{
    public const string Name = "faults";
}
