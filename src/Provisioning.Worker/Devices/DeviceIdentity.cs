using System.Diagnostics.CodeAnalysis;
using Provisioning.Worker.Shared;

namespace Provisioning.Worker.Devices;

/// <summary>Tenant and device ids (1-64 characters of [A-Za-z0-9_-]), and the MQTT username built from them.</summary>
public static class DeviceIdentity
{
    public const int MaxIdLength = 64;

    /// <summary>Why <paramref name="id"/> is not a valid id, or null when it is.</summary>
    public static string? Problem(string field, string? id)
    {
        if (id is null)
        {
            return $"{field} is missing";
        }

        if (id.Length == 0)
        {
            return $"{field} is empty";
        }

        if (id.Length > MaxIdLength)
        {
            return $"{field} is {id.Length} characters long; at most {MaxIdLength} are allowed";
        }

        foreach (var c in id)
        {
            if (!IsIdCharacter(c))
            {
                return $"{field} \"{SafeText.Ascii(id)}\" contains '{SafeText.Ascii(c.ToString())}'; only A-Z, a-z, 0-9, '_' and '-' are allowed";
            }
        }

        return null;
    }

    public static bool IsValid([NotNullWhen(true)] string? id) => Problem("id", id) is null;

    /// <summary>The MQTT username of a device: <c>{tenantId}.{deviceId}</c>.</summary>
    public static string Username(string tenantId, string deviceId) => $"{tenantId}.{deviceId}";

    /// <summary>True for names of the form the worker owns in the passwd file; operators' accounts must not take it.</summary>
    public static bool IsDeviceUsername(string username)
    {
        var dot = username.IndexOf('.', StringComparison.Ordinal);
        return dot > 0
            && IsValid(username[..dot])
            && IsValid(username[(dot + 1)..]);
    }

    private static bool IsIdCharacter(char c) =>
        c is (>= 'A' and <= 'Z') or (>= 'a' and <= 'z') or (>= '0' and <= '9') or '_' or '-';
}
