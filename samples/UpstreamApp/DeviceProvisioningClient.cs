using MassTransit;
using Provisioning.Contracts;

namespace UpstreamApp;

/// <summary>
/// What an upstream app needs from the worker: register or delete a device and learn the outcome. Each call is a
/// MassTransit request: published to the message's exchange (the worker's queue is bound to it), answered on this
/// bus's own response queue and matched to its caller by request id, so concurrent calls each get their own answer.
/// </summary>
public sealed class DeviceProvisioningClient(IRequestClient<DeviceRegistered> registrations, IRequestClient<DeviceDeleted> deletions, RequestTimeout timeout)
{
    /// <param name="keyPair">The device's key pair for sealed delivery; null: the password comes in clear in the reply.</param>
    public async Task<Outcome> RegisterAsync(DeviceKey device, DeviceKeyPair? keyPair, CancellationToken cancellationToken)
    {
        var request = new DeviceRegistered
        {
            TenantId = device.TenantId,
            DeviceId = device.DeviceId,
            OccurredAt = DateTimeOffset.UtcNow,
            // Only the public half leaves the device.
            CredentialKey = keyPair?.PublicKeyBase64,
        };
        try
        {
            var response = await registrations.GetResponse<CredentialsIssued, ProvisioningRejected>(request, cancellationToken, timeout);
            if (response.Is(out Response<CredentialsIssued>? issued))
            {
                // Hand the password to the device here; never log or store it. With sealed delivery the reply has no
                // password, only sealedPassword, which the device opens with its private key (shown here in the app).
                var credentials = issued.Message;
                var password = keyPair is null ? credentials.Password : keyPair.Open(credentials.SealedPassword);
                return new Outcome(
                    OutcomeKind.Issued,
                    device,
                    $"tenantId={credentials.TenantId} deviceId={credentials.DeviceId} username={credentials.Username} broker={credentials.BrokerHost}:{credentials.BrokerPort} topics={credentials.Topics.Count} issuedAt={credentials.IssuedAt:O} password={(keyPair is null ? "clear" : "sealed")}:{password?.Length ?? 0}");
            }

            return Rejected(device, response.Is(out Response<ProvisioningRejected>? rejected) ? rejected.Message : null);
        }
        catch (RequestTimeoutException)
        {
            return TimedOut(device);
        }
        catch (RequestFaultException e)
        {
            return new Outcome(OutcomeKind.Failed, device, e.Fault?.Exceptions.FirstOrDefault()?.Message ?? e.Message);
        }
    }

    public async Task<Outcome> DeleteAsync(DeviceKey device, CancellationToken cancellationToken)
    {
        var request = new DeviceDeleted { TenantId = device.TenantId, DeviceId = device.DeviceId, OccurredAt = DateTimeOffset.UtcNow };
        try
        {
            var response = await deletions.GetResponse<CredentialsRevoked, ProvisioningRejected>(request, cancellationToken, timeout);
            if (response.Is(out Response<CredentialsRevoked>? revoked))
            {
                var message = revoked.Message;
                return new Outcome(OutcomeKind.Revoked, device, $"tenantId={message.TenantId} deviceId={message.DeviceId} username={message.Username} revokedAt={message.RevokedAt:O}");
            }

            return Rejected(device, response.Is(out Response<ProvisioningRejected>? rejected) ? rejected.Message : null);
        }
        catch (RequestTimeoutException)
        {
            return TimedOut(device);
        }
        catch (RequestFaultException e)
        {
            return new Outcome(OutcomeKind.Failed, device, e.Fault?.Exceptions.FirstOrDefault()?.Message ?? e.Message);
        }
    }

    private static Outcome Rejected(DeviceKey device, ProvisioningRejected? rejected) =>
        rejected is null
            ? new Outcome(OutcomeKind.Failed, device, "an answer of neither expected type")
            : new Outcome(OutcomeKind.Rejected, device, $"code={rejected.Code} reason={rejected.Reason}");

    // The request was published but no answer came in time: the worker may be down or busy, or may still act on it
    // (a request left unconsumed expires in its queue after the timeout; one already taken is carried out). Registering
    // again is safe: it issues a new credential and the earlier one stops working.
    private Outcome TimedOut(DeviceKey device) =>
        new(OutcomeKind.TimedOut, device, $"no answer within {timeout.Value.TotalSeconds:0.###} s");
}
