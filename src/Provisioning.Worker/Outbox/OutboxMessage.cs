namespace Provisioning.Worker.Outbox;

/// <summary>
/// A reply waiting to be delivered. Written in the consumer's transaction; due once the brokers of its group have
/// applied the change (<see cref="ReplyRelease"/>); deleted by the dispatcher once RabbitMQ confirmed it.
/// </summary>
public sealed class OutboxMessage
{
    public long Id { get; init; }

    /// <summary>The MessageId the reply is sent with, so a redelivered reply can be recognised downstream.</summary>
    public required Guid MessageId { get; init; }

    /// <summary>Contract name, e.g. <c>CredentialsIssued</c>.</summary>
    public required string MessageType { get; init; }

    /// <summary>
    /// The contract serialised as JSON, without a plaintext password: a <c>CredentialsIssued</c> has its password in
    /// <see cref="Secret"/>, or sealed to the device's key in its <c>sealedPassword</c>. (Rows written before version 1.2
    /// of the contract hold it in clear here; they are delivered as written.)
    /// </summary>
    public required string Body { get; init; }

    /// <summary>
    /// The password of a <c>CredentialsIssued</c>, encrypted with the worker's key ring (<see cref="Secrets.PasswordProtector"/>),
    /// which the database does not hold; null for other replies and for sealed ones.
    /// </summary>
    public byte[]? Secret { get; init; }

    public required string TenantId { get; init; }

    public required string DeviceId { get; init; }

    /// <summary>The request's response address; null means publish.</summary>
    public string? DestinationAddress { get; init; }

    public Guid? RequestId { get; init; }

    public Guid? ConversationId { get; init; }

    public Guid? CorrelationId { get; init; }

    /// <summary>The id of the message this replies to.</summary>
    public Guid? InitiatorId { get; init; }

    /// <summary>
    /// True when the reply announces a change the brokers must apply first (a credential issued or revoked): it is
    /// sent only once every live broker of <see cref="BrokerGroup"/> has applied <see cref="ChangeXid"/> (<see cref="ReplyRelease"/>).
    /// </summary>
    public bool AwaitsBroker { get; set; }

    /// <summary>The broker group of the device's tenant (Brokers/TenantPlacement.cs).</summary>
    public string BrokerGroup { get; init; } = Brokers.BrokerGroups.Default;

    /// <summary>The id of the transaction that wrote the row and the device change it announces; set by the database.</summary>
    public long ChangeXid { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    public int Attempts { get; set; }

    /// <summary>When the row may be sent (again), by PostgreSQL's clock; set by the database, not by an instance.</summary>
    public DateTimeOffset NextAttemptAt { get; set; }

    /// <summary>Until when an instance holds the row, by PostgreSQL's clock.</summary>
    public DateTimeOffset? LeaseExpiresAt { get; set; }

    public string? LastError { get; set; }
}
