namespace Provisioning.Worker.Configuration;

/// <summary>The <c>Provisioning</c> section: how long the worker remembers and how it paces its background work.</summary>
public sealed class ProvisioningOptions
{
    public const string SectionName = "Provisioning";

    /// <summary>How long a consumed message id is remembered for deduplication.</summary>
    public TimeSpan InboxRetention { get; set; } = TimeSpan.FromDays(7);

    public TimeSpan InboxCleanupInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How often the projection and dispatcher look for work nobody told them about (other instances, restarts).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Replies claimed at once by the dispatcher.</summary>
    public int OutboxBatchSize { get; set; } = 200;

    /// <summary>How long a claimed reply stays reserved for the instance that claimed it.</summary>
    public TimeSpan OutboxLease { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Upper bound of the backoff between attempts at a reply, or at a failed passwd rewrite.</summary>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a stop (SIGTERM) may take: the host's shutdown timeout. Messages being consumed get half of it to
    /// finish before they are cancelled and returned to their queue; a stop manager (systemd's TimeoutStopSec,
    /// Kubernetes' terminationGracePeriodSeconds) must allow more than this.
    /// </summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(30);
}
