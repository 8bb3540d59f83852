using Provisioning.Contracts;

namespace Provisioning.Worker.Secrets;

/// <summary>
/// What of a <see cref="CredentialsIssued"/> is stored, and what is sent. Stored: the reply without its password, and
/// either the password sealed to the device's key inside it (sealed delivery: nothing left to decrypt, the worker
/// cannot read it either), or the password encrypted apart (<see cref="PasswordProtector"/>), put back at send.
/// </summary>
public sealed class ReplySecrets(PasswordProtector protector)
{
    /// <summary>The reply as stored, and the encrypted password to store beside it (null when sealed).</summary>
    public (CredentialsIssued Reply, byte[]? Secret) Conceal(CredentialsIssued issued, CredentialKey? credentialKey)
    {
        var password = issued.Password ?? throw new ArgumentException("The reply has no password to conceal.", nameof(issued));
        return credentialKey is null
            ? (issued with { Password = null }, protector.Protect(password))
            : (issued with { Password = null, SealedPassword = PasswordSeal.Seal(password, credentialKey) }, null);
    }

    /// <summary>The reply to send: its password decrypted when one is stored apart; as stored otherwise (sealed, or written by a version before 1.2).</summary>
    /// <exception cref="UnreadableSecretException">The password cannot be decrypted.</exception>
    public CredentialsIssued Reveal(CredentialsIssued stored, byte[]? secret) =>
        secret is null ? stored : stored with { Password = protector.Unprotect(secret) };
}
