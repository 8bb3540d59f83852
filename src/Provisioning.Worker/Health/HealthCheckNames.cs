namespace Provisioning.Worker.Health;

/// <summary>The names <c>/health/ready</c> reports; operators' alerts and the runbook refer to them.</summary>
public static class HealthCheckNames
{
    /// <summary>Tag of every check <c>/health/ready</c> runs (MassTransit tags its bus check so too).</summary>
    public const string ReadyTag = "ready";

    public const string RabbitMq = "rabbitmq";
    public const string PostgreSql = "postgresql";
    public const string PasswdFile = "passwd-file";
    public const string MosquittoReload = "mosquitto-reload";
    public const string Outbox = "outbox";
    public const string BrokerGroups = "broker-groups";
    public const string BrokerLag = "broker-lag";
}
