using Provisioning.Worker.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace Provisioning.Worker.IntegrationTests.Faults;

/// <summary>
/// What <see cref="InvariantChecker"/> reads of a world: the replies, the queues, the database, and every broker whose
/// files and login it checks — one in <see cref="FaultWorld"/>, each replica in <see cref="Fleet.FleetWorld"/>.
/// </summary>
public interface IInvariantWorld
{
    ITestOutputHelper Output { get; }

    string ConnectionString { get; }

    ReplyCollector Replies { get; }

    QueueInspector Queues { get; }

    /// <summary>Every broker that must hold the devices, each with the watcher of its passwd file's mode.</summary>
    IReadOnlyList<(MosquittoBroker Broker, PasswdModeWatcher ModeWatcher)> Brokers { get; }

    /// <summary>Everything the processes printed: what the password grep reads.</summary>
    string AllLogs();

    string Diagnostics();
}
