namespace Provisioning.Worker.Configuration;

/// <summary>The <c>RabbitMq</c> configuration section.</summary>
public sealed class RabbitMqOptions
{
    public const string SectionName = "RabbitMq";

    /// <summary><c>amqp://user:pass@host:5672/vhost</c>.</summary>
    public string Uri { get; set; } = string.Empty;

    /// <summary>Messages fetched ahead per queue: enough to keep <see cref="ConcurrentMessageLimit"/> consumers busy.</summary>
    public int PrefetchCount { get; set; } = 512;

    /// <summary>
    /// Messages consumed at once per queue; messages of the same device are serialised by a row lock. Those consumed
    /// together share a database transaction (group commit), so this bounds the batch size: measured with scripts/bench.sh.
    /// </summary>
    public int ConcurrentMessageLimit { get; set; } = 256;

    /// <summary>Immediate retries of a transient fault before the message is dead-lettered to <c>_error</c>.</summary>
    public int RetryLimit { get; set; } = 5;

    public TimeSpan RetryMinInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan RetryMaxInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The AMQP heartbeat the worker asks for (the broker's, 60 s by default, applies if lower). The client gives a
    /// connection up after two missed beats: how long a silent path to RabbitMQ (packets dropped, no RST or FIN) goes
    /// unnoticed, with the bus reported healthy and the consumers' messages held (found by the black-hole fault
    /// scenario, tests/…/Faults/RabbitMqHangFaultTests.cs). Zero turns heartbeats off.
    /// </summary>
    public TimeSpan Heartbeat { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How many times a redelivered message (one that was in flight when a worker stopped or died) may be started again
    /// without completing before it is dead-lettered to <c>_error</c> unprocessed: the bound on a crash loop.
    /// </summary>
    public int RedeliveryLimit { get; set; } = 5;
}
