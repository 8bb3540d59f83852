using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Provisioning.Worker.Mosquitto;

/// <summary>
/// Mosquitto's password hashes, as its broker 2.0 loads them (src/security_default.c,
/// <c>unpwd__decode_passwords</c> and <c>pw__digest</c>):
/// <c>$7$&lt;iterations&gt;$&lt;base64 salt&gt;$&lt;base64 key&gt;</c> (PBKDF2-HMAC-SHA512) and the
/// older <c>$6$&lt;base64 salt&gt;$&lt;base64 hash&gt;</c> (SHA-512 of the password followed by the salt).
/// 2.0 refuses a salt that is not 12 bytes and a key that is not 64 bytes, for both types.
/// </summary>
public static class MosquittoPasswordHash
{
    public const int SaltLength = 12;
    public const int KeyLength = 64;
    public const int DefaultIterations = 101;

    private static readonly UTF8Encoding _strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>A new <c>$7$</c> hash with a fresh random salt, written as mosquitto_passwd writes it (padded standard base64).</summary>
    /// <exception cref="ArgumentOutOfRangeException">iterations is below 1.</exception>
    /// <exception cref="ArgumentException">the password is empty, contains NUL (Mosquitto would cut it there) or is not encodable as UTF-8.</exception>
    public static string Create(string password, int iterations)
    {
        ArgumentNullException.ThrowIfNull(password);
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 1);
        if (password.Length == 0)
        {
            throw new ArgumentException("The password is empty.", nameof(password));
        }

        var passwordBytes = EncodePassword(password)
            ?? throw new ArgumentException("The password contains NUL or is not valid UTF-16 text; Mosquitto could never match it.", nameof(password));
        try
        {
            var salt = RandomNumberGenerator.GetBytes(SaltLength);
            var key = Rfc2898DeriveBytes.Pbkdf2(passwordBytes, salt, iterations, HashAlgorithmName.SHA512, KeyLength);
            return string.Create(CultureInfo.InvariantCulture, $"$7${iterations}${Convert.ToBase64String(salt)}${Convert.ToBase64String(key)}");
        }
        finally
        {
            CryptographicOperations.ZeroMemory(passwordBytes);
        }
    }

    /// <summary>The PBKDF2 iteration count of a well-formed <c>$7$</c> hash; null for anything else.</summary>
    public static int? Iterations(string? encodedHash) =>
        TryDecode(encodedHash, out var decoded) && decoded.Type == 7 ? decoded.Iterations : null;

    /// <summary>True when <paramref name="password"/> matches <paramref name="encodedHash"/>; false for a wrong password and for any malformed input.</summary>
    public static bool Verify(string? password, string? encodedHash)
    {
        if (password is null || !TryDecode(encodedHash, out var decoded))
        {
            return false;
        }

        var passwordBytes = EncodePassword(password);
        if (passwordBytes is null)
        {
            return false;
        }

        try
        {
            byte[] computed;
            if (decoded.Type == 7)
            {
                computed = Rfc2898DeriveBytes.Pbkdf2(passwordBytes, decoded.Salt, decoded.Iterations, HashAlgorithmName.SHA512, KeyLength);
            }
            else
            {
                // pw__digest for pw_sha512: SHA-512 over the password first, then the salt.
                var input = new byte[passwordBytes.Length + decoded.Salt.Length];
                passwordBytes.CopyTo(input, 0);
                decoded.Salt.CopyTo(input, passwordBytes.Length);
                computed = SHA512.HashData(input);
                CryptographicOperations.ZeroMemory(input);
            }

            return CryptographicOperations.FixedTimeEquals(computed, decoded.Key);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(passwordBytes);
        }
    }

    /// <summary>
    /// True when a Mosquitto 2.0 broker would load this hash: <c>$7$</c> with iterations ≥ 1, or <c>$6$</c>;
    /// a salt of exactly 12 bytes and a key of exactly 64 bytes, both in padded standard base64.
    /// Stricter than the broker in one way: the fields must be exactly as mosquitto_passwd writes them
    /// (no empty fields, no trailing field, iterations in plain decimal), so odd lines are reported instead of guessed at.
    /// </summary>
    public static bool IsWellFormed(string? encodedHash) => TryDecode(encodedHash, out _);

    private readonly record struct Decoded(int Type, int Iterations, byte[] Salt, byte[] Key);

    private static bool TryDecode(string? encoded, out Decoded decoded)
    {
        decoded = default;
        if (encoded is null || encoded.Length > 1024)
        {
            return false;
        }

        var parts = encoded.Split('$');
        // "$7$101$salt$key" splits into "", "7", "101", "salt", "key"; "$6$salt$hash" into "", "6", "salt", "hash".
        if (parts.Length == 5 && parts[0].Length == 0 && parts[1] == "7")
        {
            if (!TryParseIterations(parts[2], out var iterations)
                || !TryDecodeBase64(parts[3], SaltLength, out var salt)
                || !TryDecodeBase64(parts[4], KeyLength, out var key))
            {
                return false;
            }

            decoded = new Decoded(7, iterations, salt, key);
            return true;
        }

        if (parts.Length == 4 && parts[0].Length == 0 && parts[1] == "6")
        {
            if (!TryDecodeBase64(parts[2], SaltLength, out var salt)
                || !TryDecodeBase64(parts[3], KeyLength, out var key))
            {
                return false;
            }

            decoded = new Decoded(6, 0, salt, key);
            return true;
        }

        return false;
    }

    private static bool TryParseIterations(string text, out int iterations)
    {
        iterations = 0;
        if (text.Length is 0 or > 10 || !text.All(char.IsAsciiDigit))
        {
            return false;
        }

        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out iterations) && iterations >= 1;
    }

    private static bool TryDecodeBase64(string text, int expectedLength, out byte[] bytes)
    {
        bytes = [];
        // Convert.TryFromBase64String skips whitespace; OpenSSL's decoder in the broker does not see a field with
        // whitespace the same way, so only the base64 alphabet is accepted here.
        if (text.Length != Base64.GetMaxEncodedToUtf8Length(expectedLength)
            || !text.All(static c => char.IsAsciiLetterOrDigit(c) || c is '+' or '/' or '='))
        {
            return false;
        }

        var buffer = new byte[expectedLength];
        if (!Convert.TryFromBase64String(text, buffer, out var written) || written != expectedLength)
        {
            return false;
        }

        bytes = buffer;
        return true;
    }

    /// <summary>The bytes Mosquitto hashes (it reads the password as a C string), or null when it could never match.</summary>
    private static byte[]? EncodePassword(string password)
    {
        if (password.Contains('\0', StringComparison.Ordinal))
        {
            return null;
        }

        try
        {
            return _strictUtf8.GetBytes(password);
        }
        catch (EncoderFallbackException)
        {
            return null;
        }
    }
}
