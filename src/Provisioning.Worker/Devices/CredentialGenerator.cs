using System.Buffers.Text;
using System.Security.Cryptography;

namespace Provisioning.Worker.Devices;

/// <summary>Device passwords: 32 CSPRNG bytes, base64url without padding (43 characters).</summary>
public static class CredentialGenerator
{
    public const int PasswordBytes = 32;

    public static string NewPassword() => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(PasswordBytes));
}
