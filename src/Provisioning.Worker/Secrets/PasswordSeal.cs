using System.Text;
using Sodium;

namespace Provisioning.Worker.Secrets;

/// <summary>
/// Sealed delivery: libsodium's <c>crypto_box_seal</c> of the password's UTF-8 bytes to the device's X25519 public key
/// (an ephemeral key pair, X25519 + XSalsa20-Poly1305), base64. Any libsodium or TweetNaCl-compatible client opens it
/// with <c>crypto_box_seal_open</c> and the device's key pair; nobody else can, the worker included.
/// </summary>
public static class PasswordSeal
{
    /// <summary>What <c>crypto_box_seal</c> adds to the message: the ephemeral public key and the MAC.</summary>
    public const int Overhead = 48;

    public static string Seal(string password, CredentialKey key) =>
        Convert.ToBase64String(SealedPublicKeyBox.Create(Encoding.UTF8.GetBytes(password), key.PublicKey.ToArray()));
}
