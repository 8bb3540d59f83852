using System.Diagnostics.CodeAnalysis;
using System.Text;
using Provisioning.Worker.Shared;

namespace Provisioning.Worker.Mosquitto;

/// <summary>
/// What a username must be to live in a Mosquitto passwd file and to be matched by the broker:
/// valid UTF-8 as MQTT requires (Mosquitto's <c>mosquitto_validate_utf8</c>: no U+0000, no control
/// characters U+0001–U+001F and U+007F–U+009F, no surrogates, no non-characters), at most 65535 bytes,
/// not empty, no ':' (the field separator). Two more rules come from the file format: the broker trims
/// blanks around the name and skips lines starting with '#', so a name with a leading or trailing space
/// or a leading '#' could be written but never matched.
/// </summary>
public static class MosquittoUsername
{
    public const int MaxBytes = 65535;

    private static readonly UTF8Encoding _strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static bool TryValidate([NotNullWhen(true)] string? username, [NotNullWhen(false)] out string? problem)
    {
        problem = Problem(username);
        return problem is null;
    }

    /// <exception cref="ArgumentException">the username is not usable; the message names it, escaped.</exception>
    public static void Validate(string? username)
    {
        if (Problem(username) is { } problem)
        {
            throw new ArgumentException(problem, nameof(username));
        }
    }

    /// <summary>Validates a username read from a file as raw bytes (invalid UTF-8 is a problem, not a replacement character).</summary>
    public static bool TryValidate(ReadOnlySpan<byte> username, [NotNullWhen(false)] out string? problem) =>
        TryDecode(username, out _, out problem);

    /// <summary>Decodes and validates a username read from a file.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> utf8, [NotNullWhen(true)] out string? username, [NotNullWhen(false)] out string? problem)
    {
        username = null;
        try
        {
            var decoded = _strictUtf8.GetString(utf8);
            problem = Problem(decoded);
            if (problem is null)
            {
                username = decoded;
                return true;
            }

            return false;
        }
        catch (DecoderFallbackException)
        {
            problem = $"username \"{SafeText.Ascii(Encoding.UTF8.GetString(utf8))}\" is not valid UTF-8";
            return false;
        }
    }

    private static string? Problem(string? username)
    {
        if (username is null)
        {
            return "username is missing";
        }

        if (username.Length == 0)
        {
            return "username is empty";
        }

        var shown = SafeText.Ascii(username);
        for (var i = 0; i < username.Length; i++)
        {
            var c = username[i];
            if (char.IsHighSurrogate(c) && i + 1 < username.Length && char.IsLowSurrogate(username[i + 1]))
            {
                var codepoint = char.ConvertToUtf32(c, username[i + 1]);
                if ((codepoint & 0xFFFE) == 0xFFFE)
                {
                    return $"username \"{shown}\" contains the non-character U+{codepoint:X}";
                }

                i++;
                continue;
            }

            if (char.IsSurrogate(c))
            {
                return $"username \"{shown}\" contains a lone surrogate (\\u{(int)c:X4}); it is not valid UTF-8";
            }

            if (c is <= '\u001F' or (>= '\u007F' and <= '\u009F'))
            {
                return $"username \"{shown}\" contains the control character \\u{(int)c:X4}";
            }

            if (c is (>= '\uFDD0' and <= '\uFDEF') or '\uFFFE' or '\uFFFF')
            {
                return $"username \"{shown}\" contains the non-character \\u{(int)c:X4}";
            }

            if (c == ':')
            {
                return $"username \"{shown}\" contains ':', the separator of the password file";
            }
        }

        if (username[0] == ' ' || username[^1] == ' ')
        {
            return $"username \"{shown}\" starts or ends with a space; Mosquitto trims it when it reads the password file";
        }

        if (username[0] == '#')
        {
            return $"username \"{shown}\" starts with '#'; Mosquitto reads such a line as a comment";
        }

        if (Encoding.UTF8.GetByteCount(username) > MaxBytes)
        {
            return $"username \"{shown}\" is longer than {MaxBytes} bytes in UTF-8";
        }

        return null;
    }
}
