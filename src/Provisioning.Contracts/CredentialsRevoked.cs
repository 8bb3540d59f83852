namespace Provisioning.Contracts;

/// <summary>Sent only after the broker refuses the user.</summary>
public sealed record CredentialsRevoked
{
    public required string TenantId { get; init; }

    public required string DeviceId { get; init; }

    public required string Username { get; init; }

    public required DateTimeOffset RevokedAt { get; init; }
}
