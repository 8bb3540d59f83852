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

    /// <summary>
    /// The MQTT username of a device: <c>{tenantId}/{deviceId}</c>, so that Mosquitto's <c>%u</c> in one <c>pattern</c>
    /// line expands to the device's own topic levels (docs/topic-authorization.md).
    /// </summary>
    public static string Username(string tenantId, string deviceId) => $"{tenantId}/{deviceId}";

    /// <summary>
    /// The username of the earlier versions, <c>{tenantId}.{deviceId}</c>: a device keeps it until its next registration
    /// (docs/contract.md, "Usernames"). Still the worker's own, never an operator's.
    /// </summary>
    public static string LegacyUsername(string tenantId, string deviceId) => $"{tenantId}.{deviceId}";

    /// <summary>The device a username of either form names; false for any other name.</summary>
    public static bool TryParseUsername(string username, out DeviceUsername parsed)
    {
        ArgumentNullException.ThrowIfNull(username);
        parsed = default;
        var separator = username.IndexOfAny(['/', '.']);
        if (separator <= 0)
        {
            return false;
        }

        var tenantId = username[..separator];
        var deviceId = username[(separator + 1)..];
        if (!IsValid(tenantId) || !IsValid(deviceId))
        {
            return false;
        }

        parsed = new DeviceUsername(tenantId, deviceId, IsLegacy: username[separator] == '.');
        return true;
    }

    /// <summary>True for names of the forms the worker owns in the broker's files; operators' accounts must not take them.</summary>
    public static bool IsDeviceUsername(string username) => TryParseUsername(username, out _);

    /// <summary>
    /// One key for a device whichever form its username has (ids never hold '.' or '/'): a device's line of either form is
    /// replaced by its new one when the files are merged.
    /// </summary>
    public static string CanonicalUsername(string username) =>
        TryParseUsername(username, out var parsed) && parsed.IsLegacy ? Username(parsed.TenantId, parsed.DeviceId) : username;

    private static bool IsIdCharacter(char c) =>
        c is (>= 'A' and <= 'Z') or (>= 'a' and <= 'z') or (>= '0' and <= '9') or '_' or '-';
}

/// <summary>The device a username names, and whether it is of the earlier form <c>{tenantId}.{deviceId}</c>.</summary>
public readonly record struct DeviceUsername(string TenantId, string DeviceId, bool IsLegacy);
