using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.DataProtection;

namespace Provisioning.Worker.Secrets;

/// <summary>
/// Encrypts the password of an undelivered reply for the outbox (authenticated encryption with ASP.NET Core Data
/// Protection: AES-256-CBC + HMAC-SHA256 under a key of the key ring, which lives outside PostgreSQL,
/// <see cref="KeyRing"/>). The database holds only the ciphertext.
/// </summary>
public sealed class PasswordProtector(IDataProtectionProvider provider)
{
    /// <summary>The Data Protection purpose: a payload protected for another purpose (or application) does not open here.</summary>
    public const string Purpose = "Provisioning.Worker.Outbox.Password.v1";

    private readonly IDataProtector _protector = provider.CreateProtector(Purpose);

    public byte[] Protect(string password) => _protector.Protect(Encoding.UTF8.GetBytes(password));

    /// <exception cref="UnreadableSecretException">The key is not in the key ring (lost, or another ring), or the payload was altered.</exception>
    public string Unprotect(byte[] secret)
    {
        try
        {
            return Encoding.UTF8.GetString(_protector.Unprotect(secret));
        }
        catch (CryptographicException e)
        {
            throw new UnreadableSecretException(e.Message, e);
        }
    }
}

/// <summary>A stored password that cannot be decrypted: its key is gone from the key ring, or the ciphertext was altered.</summary>
public sealed class UnreadableSecretException(string message, Exception inner) : Exception(message, inner);
