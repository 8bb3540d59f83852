using System.Security.Cryptography;
using Sodium;

namespace Provisioning.Worker.Secrets;

/// <summary>
/// A registration's <c>credentialKey</c>: the device's X25519 public key, 32 bytes in base64. Checked once, where the
/// message is read; the rules reject a registration whose key has a <see cref="Problem"/>, the batch seals to
/// <see cref="PublicKey"/> (<see cref="PasswordSeal"/>).
/// </summary>
public sealed class CredentialKey
{
    public const int Size = 32;

    private readonly byte[]? _publicKey;

    private CredentialKey(byte[]? publicKey, string? problem)
    {
        _publicKey = publicKey;
        Problem = problem;
    }

    /// <summary>Why the key is not usable, naming the field; null when it is.</summary>
    public string? Problem { get; }

    /// <summary>The 32 bytes of a usable key.</summary>
    public ReadOnlySpan<byte> PublicKey => _publicKey ?? throw new InvalidOperationException($"The credential key is not usable: {Problem}");

    /// <summary>The key as received; null when the registration carried none (the password is then encrypted for the outbox only).</summary>
    public static CredentialKey? Parse(string? text)
    {
        if (text is null)
        {
            return null;
        }

        if (text.Length == 0)
        {
            return Unusable("credentialKey is empty; omit it, or give the device's X25519 public key (32 bytes, base64)");
        }

        // A 32-byte key is 44 base64 characters; anything much longer is not one (and is not decoded).
        var buffer = new byte[Size + 3];
        if (text.Length > 64 || !Convert.TryFromBase64String(text, buffer, out var length))
        {
            return Unusable($"credentialKey ({text.Length} characters) is not base64 of 32 bytes");
        }

        if (length != Size)
        {
            return Unusable($"credentialKey decodes to {length} bytes; an X25519 public key is {Size}");
        }

        var key = buffer[..Size];
        return IsSealable(key)
            ? new CredentialKey(key, null)
            : Unusable("credentialKey is not a usable X25519 public key (a low-order point: nothing sealed to it would be secret)");
    }

    /// <summary>Without the key: it is public, but a log line has no use for it.</summary>
    public override string ToString() => Problem is null ? nameof(CredentialKey) : $"{nameof(CredentialKey)} ({Problem})";

    private static CredentialKey Unusable(string problem) => new(null, problem);

    /// <summary>libsodium refuses to seal to a low-order point (the shared secret would be known to all): ask it.</summary>
    private static bool IsSealable(byte[] key)
    {
        try
        {
            SealedPublicKeyBox.Create([0], key);
            return true;
        }
        catch (CryptographicException)
        {
            return false;
        }
    }
}
