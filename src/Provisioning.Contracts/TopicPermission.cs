namespace Provisioning.Contracts;

/// <summary>One thing a device may do on the broker: an MQTT topic filter and the access it has to it.</summary>
public sealed record TopicPermission
{
    /// <summary>An MQTT topic filter, e.g. <c>devices/acme/sensor-1/#</c>.</summary>
    public required string Filter { get; init; }

    /// <summary>One of <see cref="TopicAccess"/>: <c>read</c>, <c>write</c> or <c>readwrite</c>.</summary>
    public required string Access { get; init; }
}

/// <summary>The values of <see cref="TopicPermission.Access"/>.</summary>
public static class TopicAccess
{
    /// <summary><c>read</c>: subscribe and receive.</summary>
    public const string Read = "read";

    /// <summary><c>write</c>: publish.</summary>
    public const string Write = "write";

    /// <summary><c>readwrite</c>: both.</summary>
    public const string ReadWrite = "readwrite";
}
