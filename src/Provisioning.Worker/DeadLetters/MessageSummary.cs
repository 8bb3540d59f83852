using System.Text.Json;

namespace Provisioning.Worker.DeadLetters;

/// <summary>
/// What can be read from a dead-lettered body without trusting it: the MassTransit envelope's messageId and
/// messageType, and the tenantId/deviceId of the message (inside the envelope, or at the root for raw JSON).
/// A body that is not JSON (the usual reason it was dead-lettered) yields nothing.
/// </summary>
public sealed record MessageSummary(string? MessageId, string? MessageType, string? TenantId, string? DeviceId)
{
    private static readonly MessageSummary _unreadable = new(null, null, null, null);

    public static MessageSummary Read(ReadOnlyMemory<byte> body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return _unreadable;
            }

            var message = Property(root, "message") is { ValueKind: JsonValueKind.Object } inner ? inner : root;
            return new MessageSummary(
                Text(Property(root, "messageId")),
                FirstType(Property(root, "messageType")),
                Text(Property(message, "tenantId")),
                Text(Property(message, "deviceId")));
        }
        catch (JsonException)
        {
            return _unreadable;
        }
    }

    /// <summary><c>urn:message:Provisioning.Contracts:DeviceRegistered</c> is shown as <c>DeviceRegistered</c>.</summary>
    public static string ShortTypeName(string messageType)
    {
        var name = messageType.StartsWith("urn:message:", StringComparison.Ordinal) ? messageType[(messageType.LastIndexOf(':') + 1)..] : messageType;
        return name.Length > 0 ? name : messageType;
    }

    private static JsonElement? Property(JsonElement element, string name)
    {
        // MassTransit writes camelCase; accept any casing, as its deserializer does.
        foreach (var property in element.EnumerateObject())
        {
            if (string.Equals(property.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                return property.Value;
            }
        }

        return null;
    }

    private static string? Text(JsonElement? element) => element is { ValueKind: JsonValueKind.String } value ? value.GetString() : null;

    private static string? FirstType(JsonElement? element) => element switch
    {
        { ValueKind: JsonValueKind.Array } array when array.GetArrayLength() > 0 => Text(array[0]),
        { ValueKind: JsonValueKind.String } => Text(element),
        _ => null,
    };
}
