using System.Text;
using Sodium;

namespace UpstreamApp;

/// <summary>
/// A device's X25519 key pair for sealed delivery (libsodium <c>crypto_box_keypair</c>). The public key goes to the
/// worker in <c>DeviceRegistered.CredentialKey</c>; the private key never leaves the device, and opens
/// <c>CredentialsIssued.SealedPassword</c> (<c>crypto_box_seal_open</c>). Any libsodium or TweetNaCl client does the same.
/// </summary>
public sealed class DeviceKeyPair
{
    private readonly KeyPair _keys;

    private DeviceKeyPair(KeyPair keys) => _keys = keys;

    /// <summary>32 bytes, base64: what the registration carries.</summary>
    public string PublicKeyBase64 => Convert.ToBase64String(_keys.PublicKey);

    public static DeviceKeyPair Generate() => new(PublicKeyBox.GenerateKeyPair());

    /// <summary>The password inside a reply's <c>sealedPassword</c>; throws if it was not sealed to this device.</summary>
    public string Open(string? sealedPassword)
    {
        ArgumentException.ThrowIfNullOrEmpty(sealedPassword);
        return Encoding.UTF8.GetString(SealedPublicKeyBox.Open(Convert.FromBase64String(sealedPassword), _keys.PrivateKey, _keys.PublicKey));
    }
}
