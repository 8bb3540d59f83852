using Provisioning.Contracts;

namespace Provisioning.Worker.Devices;

/// <summary>
/// The lifecycle rules as plain functions: a device's state and an event in, the device's new state and the reply out.
/// No database, clock or hashing here: the caller loads and locks the states, makes the credentials, gives the time and
/// saves what comes out (<see cref="LifecycleTransaction"/>).
/// </summary>
/// <param name="brokerHost">What devices are told to connect to, unless their tenant's group says otherwise.</param>
public sealed class LifecycleRules(string brokerHost, int brokerPort)
{
    /// <summary>The rules for one event.</summary>
    /// <param name="device">The device's state; null for a device never seen (or when the ids are invalid).</param>
    /// <param name="credential">The credential a registration issues; made beforehand, unused when the event is rejected.</param>
    /// <param name="topics">The device's topic permissions, told to it with the credential.</param>
    /// <param name="now">When the change is made: issuedAt, revokedAt.</param>
    /// <param name="endpoint">Where the device connects: its tenant's broker group (Brokers/BrokerFleet.cs); null, the broker given to the constructor.</param>
    public LifecycleDecision Apply(Device? device, DeviceEvent e, NewCredential? credential, IReadOnlyList<TopicPermission> topics, DateTimeOffset now, Configuration.BrokerEndpoint? endpoint = null)
    {
        if (DeviceIdentity.Problem("tenantId", e.TenantId) is { } tenantProblem)
        {
            return Rejected(e, RejectionCodes.InvalidTenantId, tenantProblem);
        }

        if (DeviceIdentity.Problem("deviceId", e.DeviceId) is { } deviceProblem)
        {
            return Rejected(e, RejectionCodes.InvalidDeviceId, deviceProblem);
        }

        if (e.Kind == DeviceEventKind.Registered && e.CredentialKey?.Problem is { } keyProblem)
        {
            return Rejected(e, RejectionCodes.InvalidCredentialKey, keyProblem);
        }

        var current = device ?? Device.Unknown(e.TenantId!, e.DeviceId!);
        if (current.TenantId != e.TenantId || current.DeviceId != e.DeviceId)
        {
            throw new ArgumentException($"The state of {current} was given for an event of {e.TenantId}/{e.DeviceId}.", nameof(device));
        }

        var occurredAt = e.OccurredAt.ToUniversalTime();
        return e.Kind switch
        {
            DeviceEventKind.Registered => Register(current, e, occurredAt, credential, topics, now, endpoint),
            DeviceEventKind.Deleted => Delete(current, e, occurredAt, now),
            _ => throw new ArgumentOutOfRangeException(nameof(e), e.Kind, "Unknown event kind."),
        };
    }

    /// <summary>
    /// A batch's events in arrival order, each on the state the one before left: as if each had its own transaction, one
    /// after the other. A message seen before, by the inbox or earlier in the batch, has no effect.
    /// </summary>
    /// <param name="newToInbox">The inbox keys the inbox had not seen (<see cref="DeviceStore.AddToInboxAsync"/>).</param>
    /// <param name="locked">The states of the devices of the events that take effect, well-formed ones only.</param>
    /// <param name="credentials">The credential of each registration that takes effect, by message id.</param>
    /// <param name="endpoints">Where each tenant's devices connect; null or a tenant not in it: the broker given to the constructor.</param>
    public LifecycleBatchResult ApplyInArrivalOrder(
        IReadOnlyList<DeviceEvent> events,
        IReadOnlySet<InboxKey> newToInbox,
        IEnumerable<Device> locked,
        IReadOnlyDictionary<Guid, NewCredential> credentials,
        IDeviceTopics topics,
        DateTimeOffset now,
        IReadOnlyDictionary<string, Configuration.BrokerEndpoint>? endpoints = null)
    {
        var states = locked.ToDictionary(d => (d.TenantId, d.DeviceId));
        var changed = new List<(string, string)>();
        var takesEffect = FirstDeliveries(events, newToInbox);
        var decisions = new LifecycleDecision?[events.Count];
        for (var i = 0; i < events.Count; i++)
        {
            if (!takesEffect[i])
            {
                continue;
            }

            var e = events[i];
            if (!IsWellFormed(e))
            {
                decisions[i] = Apply(null, e, null, [], now);
                continue;
            }

            var key = (TenantId: e.TenantId!, DeviceId: e.DeviceId!);
            var device = states.TryGetValue(key, out var state)
                ? state
                : throw new ArgumentException($"The device {key.TenantId}/{key.DeviceId} was not locked.", nameof(locked));
            var decision = e.Kind == DeviceEventKind.Registered
                ? Apply(device, e, credentials[e.MessageId], topics.For(key.TenantId, key.DeviceId), now, endpoints?.GetValueOrDefault(key.TenantId))
                : Apply(device, e, null, [], now);
            if (decision.NewState is { } newState)
            {
                states[key] = newState;
                changed.Add(key);
            }

            decisions[i] = decision;
        }

        return new LifecycleBatchResult(decisions, changed.Distinct().Select(k => states[k]).ToList());
    }

    /// <summary>
    /// Which events of a batch take effect: the first with its inbox key in the batch, and only if the inbox had not seen
    /// it. The others are duplicates.
    /// </summary>
    public static bool[] FirstDeliveries(IReadOnlyList<DeviceEvent> events, IReadOnlySet<InboxKey> newToInbox)
    {
        var seen = new HashSet<InboxKey>();
        return events.Select(e => seen.Add(e.InboxKey) && newToInbox.Contains(e.InboxKey)).ToArray();
    }

    /// <summary>Valid ids, and for a registration no unusable credential key: else the event is rejected and no device row is touched.</summary>
    public static bool IsWellFormed(DeviceEvent e) =>
        DeviceIdentity.IsValid(e.TenantId) && DeviceIdentity.IsValid(e.DeviceId) && e.CredentialKey?.Problem is null;

    private LifecycleDecision Register(
        Device device, DeviceEvent e, DateTimeOffset occurredAt, NewCredential? credential, IReadOnlyList<TopicPermission> topics, DateTimeOffset now, Configuration.BrokerEndpoint? endpoint)
    {
        if (device.DeletedAt is { } deletedAt && occurredAt <= deletedAt)
        {
            return Rejected(e, RejectionCodes.Stale, $"registration occurred at {occurredAt:O}, not later than the device's deletion at {deletedAt:O}");
        }

        ArgumentNullException.ThrowIfNull(credential);
        // A registration gives the current username form; a device of an earlier version keeps its old one until then.
        var registered = device with
        {
            Username = DeviceIdentity.Username(device.TenantId, device.DeviceId),
            Status = DeviceStatus.Active,
            PasswordHash = credential.PasswordHash,
            RegisteredAt = Latest(device.RegisteredAt, occurredAt),
            UpdatedAt = now,
        };
        var reply = new CredentialsIssued
        {
            TenantId = device.TenantId,
            DeviceId = device.DeviceId,
            Username = registered.Username,
            Password = credential.Password,
            BrokerHost = endpoint?.Host ?? brokerHost,
            BrokerPort = endpoint?.Port ?? brokerPort,
            IssuedAt = now,
            Topics = topics,
        };
        return new LifecycleDecision(LifecycleOutcome.Issued, registered, reply);
    }

    private static LifecycleDecision Delete(Device device, DeviceEvent e, DateTimeOffset occurredAt, DateTimeOffset now)
    {
        if (device.Status == DeviceStatus.Active && device.RegisteredAt is { } registeredAt && occurredAt < registeredAt)
        {
            return Rejected(e, RejectionCodes.Stale, $"deletion occurred at {occurredAt:O}, earlier than the device's registration at {registeredAt:O}");
        }

        // Revoked even when the device was unknown or already deleted: the deletion time is remembered, and the reply waits
        // for the broker like any other, behind an older reply that may still be waiting on it.
        var deleted = device with
        {
            Status = DeviceStatus.Deleted,
            PasswordHash = null,
            DeletedAt = Latest(device.DeletedAt, occurredAt),
            UpdatedAt = now,
        };
        var reply = new CredentialsRevoked { TenantId = device.TenantId, DeviceId = device.DeviceId, Username = device.Username, RevokedAt = now };
        return new LifecycleDecision(LifecycleOutcome.Revoked, deleted, reply);
    }

    private static LifecycleDecision Rejected(DeviceEvent e, string code, string reason) =>
        new(LifecycleOutcome.Rejected, null, new ProvisioningRejected { TenantId = e.TenantId, DeviceId = e.DeviceId, Code = code, Reason = reason });

    /// <summary>Event times only move forward: an older event that is still applied does not move them back.</summary>
    private static DateTimeOffset Latest(DateTimeOffset? kept, DateTimeOffset occurredAt) => kept is { } k && k > occurredAt ? k : occurredAt;
}

/// <summary>What the rules decided for one event.</summary>
/// <param name="NewState">The device's state after the event; null when it changes nothing (a rejection).</param>
/// <param name="Reply">The contract message to send: <see cref="CredentialsIssued"/>, <see cref="CredentialsRevoked"/> or <see cref="ProvisioningRejected"/>.</param>
public sealed record LifecycleDecision(LifecycleOutcome Outcome, Device? NewState, object Reply)
{
    /// <summary>A change of credential is announced only once the broker has applied it; a rejection at once.</summary>
    public bool ReplyAwaitsBroker => NewState is not null;
}

/// <summary>A batch's decisions, one per event in arrival order (null for a duplicate), and the devices' final states.</summary>
public sealed record LifecycleBatchResult(IReadOnlyList<LifecycleDecision?> Decisions, IReadOnlyList<Device> ChangedDevices)
{
    public LifecycleOutcome[] Outcomes => Decisions.Select(d => d?.Outcome ?? LifecycleOutcome.Duplicate).ToArray();
}
