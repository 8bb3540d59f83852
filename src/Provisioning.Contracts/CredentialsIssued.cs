namespace Provisioning.Contracts;

/// <summary>Sent only after the broker accepts the credential.</summary>
public sealed record CredentialsIssued
{
    public required string TenantId { get; init; }

    public required string DeviceId { get; init; }

    public required string Username { get; init; }

    public required string Password { get; init; }

    public required string BrokerHost { get; init; }

    public required int BrokerPort { get; init; }

    public required DateTimeOffset IssuedAt { get; init; }

    /// <summary>What the device may do on the broker, in configuration order; empty when topic authorization is off.</summary>
    public IReadOnlyList<TopicPermission> Topics { get; init; } = [];
}
