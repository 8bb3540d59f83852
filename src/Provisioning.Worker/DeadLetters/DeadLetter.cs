using RabbitMQ.Client;

namespace Provisioning.Worker.DeadLetters;

/// <summary>One message read from a dead-letter queue and not yet settled: the broker holds it for this channel.</summary>
public sealed class DeadLetter
{
    /// <summary>Counts how often a message was replayed; incremented on each replay, never read by the worker.</summary>
    public const string ReplayCountHeader = "Provisioning-Replay-Count";

    private DeadLetter(ulong deliveryTag, int position, IReadOnlyBasicProperties properties, ReadOnlyMemory<byte> body, MessageSummary summary, FaultInfo fault, string targetQueue)
    {
        DeliveryTag = deliveryTag;
        Position = position;
        Properties = properties;
        Body = body;
        Summary = summary;
        Fault = fault;
        TargetQueue = targetQueue;
    }

    public ulong DeliveryTag { get; }

    /// <summary>1 for the head of the queue.</summary>
    public int Position { get; }

    public IReadOnlyBasicProperties Properties { get; }

    public ReadOnlyMemory<byte> Body { get; }

    public MessageSummary Summary { get; }

    public FaultInfo Fault { get; }

    /// <summary>Where a replay sends it: the queue in the fault's input address, else the dead-letter queue's name without its suffix.</summary>
    public string TargetQueue { get; }

    /// <summary>The AMQP message id (MassTransit sets it to the envelope's), else the envelope's.</summary>
    public string? MessageId => string.IsNullOrEmpty(Properties.MessageId) ? Summary.MessageId : Properties.MessageId;

    /// <summary>The short message type: from the envelope, else the AMQP type, else the fault headers.</summary>
    public string? MessageType => (Summary.MessageType ?? NullIfEmpty(Properties.Type) ?? Fault.MessageType) is { } type ? MessageSummary.ShortTypeName(type) : null;

    public int ReplayCount => HeaderValues.GetInt(Properties.Headers, ReplayCountHeader) ?? 0;

    public static DeadLetter From(BasicGetResult result, int position, string deadLetterQueue)
    {
        ArgumentNullException.ThrowIfNull(result);
        var fault = FaultInfo.From(result.BasicProperties.Headers);
        // The body is copied: the client may reuse the buffer it was read into.
        var body = result.Body.ToArray();
        return new DeadLetter(result.DeliveryTag, position, result.BasicProperties, body, MessageSummary.Read(body), fault, fault.InputQueue ?? DeadLetterQueues.SourceOf(deadLetterQueue));
    }

    /// <summary>True when <paramref name="id"/> names this message (GUIDs compare by value, whatever their format).</summary>
    public bool HasId(string id)
    {
        foreach (var candidate in (ReadOnlySpan<string?>)[Properties.MessageId, Summary.MessageId])
        {
            if (string.IsNullOrEmpty(candidate))
            {
                continue;
            }

            if (string.Equals(candidate, id, StringComparison.Ordinal)
                || (Guid.TryParse(candidate, out var a) && Guid.TryParse(id, out var b) && a == b))
            {
                return true;
            }
        }

        return false;
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
