namespace Provisioning.Worker.DeadLetters;

/// <summary>
/// What MassTransit wrote on a message when it dead-lettered it (transport headers <c>MT-Reason</c>, <c>MT-Fault-*</c>,
/// <c>MT-Host-*</c>). Any of them may be missing: a skipped message carries only the reason.
/// </summary>
public sealed record FaultInfo(
    string? Reason,
    string? ExceptionType,
    string? Message,
    string? Timestamp,
    string? InputAddress,
    string? ConsumerType,
    string? MessageType,
    int? RetryCount)
{
    public const string ReasonHeader = "MT-Reason";
    public const string ExceptionTypeHeader = "MT-Fault-ExceptionType";
    public const string MessageHeader = "MT-Fault-Message";
    public const string TimestampHeader = "MT-Fault-Timestamp";
    public const string InputAddressHeader = "MT-Fault-InputAddress";
    public const string ConsumerTypeHeader = "MT-Fault-ConsumerType";
    public const string MessageTypeHeader = "MT-Fault-MessageType";
    public const string RetryCountHeader = "MT-Fault-RetryCount";

    private const string FaultPrefix = "MT-Fault-";
    private const string HostPrefix = "MT-Host-";

    /// <summary>An envelope header a sender sets (where faults should go), not one of the dead-lettering's: kept on replay.</summary>
    private const string FaultAddressHeader = "MT-Fault-Address";

    public static FaultInfo From(IDictionary<string, object?>? headers) => new(
        HeaderValues.GetString(headers, ReasonHeader),
        HeaderValues.GetString(headers, ExceptionTypeHeader),
        HeaderValues.GetString(headers, MessageHeader),
        HeaderValues.GetString(headers, TimestampHeader),
        HeaderValues.GetString(headers, InputAddressHeader),
        HeaderValues.GetString(headers, ConsumerTypeHeader),
        HeaderValues.GetString(headers, MessageTypeHeader),
        HeaderValues.GetInt(headers, RetryCountHeader));

    /// <summary>
    /// The headers MassTransit adds when it moves a message to <c>_error</c>/<c>_skipped</c>: the reason, the fault
    /// details and the host that dead-lettered it. A replayed message must not carry them (a later fault writes its own).
    /// </summary>
    public static bool IsDeadLetteringHeader(string key) =>
        key == ReasonHeader
        || key.StartsWith(HostPrefix, StringComparison.Ordinal)
        || (key.StartsWith(FaultPrefix, StringComparison.Ordinal) && key != FaultAddressHeader);

    /// <summary>The queue named by the input address (<c>rabbitmq://host/vhost/queue</c>: its last path segment), if any.</summary>
    public string? InputQueue
    {
        get
        {
            if (!Uri.TryCreate(InputAddress, UriKind.Absolute, out var uri))
            {
                return null;
            }

            var path = uri.AbsolutePath.TrimEnd('/');
            var name = Uri.UnescapeDataString(path[(path.LastIndexOf('/') + 1)..]);
            return name.Length > 0 ? name : null;
        }
    }

    /// <summary>"ExceptionType: message", or what there is of it.</summary>
    public string Summary => (ExceptionType, Message) switch
    {
        (null, null) => Reason is null ? "no fault recorded" : $"no fault details (reason: {Reason})",
        (null, { } message) => message,
        ({ } type, null) => type,
        ({ } type, { } message) => $"{type}: {message}",
    };
}
