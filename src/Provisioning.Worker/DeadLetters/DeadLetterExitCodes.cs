namespace Provisioning.Worker.DeadLetters;

/// <summary>The exit codes of <c>dead-letters</c>, for scripts; README.md "Dead letters" lists them too.</summary>
public static class DeadLetterExitCodes
{
    /// <summary>Done (an empty queue included).</summary>
    public const int Success = 0;

    /// <summary>A <c>--message-id</c> given is not in the queue; the ones found were handled.</summary>
    public const int NothingMatched = 1;

    /// <summary>Bad arguments or configuration; the queue (or the queue to replay to) does not exist or is not a dead-letter queue.</summary>
    public const int BadInput = 2;

    /// <summary>The broker cannot be reached, refuses the connection, or dropped it: nothing more was moved.</summary>
    public const int BrokerUnavailable = 3;

    /// <summary>
    /// The broker blocks publishers (<c>connection.blocked</c>: a memory or disk alarm): the copy was not taken, the message
    /// stays in the dead-letter queue. Replay again once the alarm clears. Not 4: scripts/replay-dead-letters.sh uses 4
    /// for "the tool could not be built".
    /// </summary>
    public const int BrokerBlocked = 5;

    /// <summary>Interrupted (Ctrl+C): what was not yet acknowledged stays in the dead-letter queue.</summary>
    public const int Interrupted = 130;
}

/// <summary>A failure the operator can act on: the message says what and the exit code says which kind.</summary>
public sealed class DeadLetterToolException(int exitCode, string message, Exception? inner = null) : Exception(message, inner)
{
    public int ExitCode { get; } = exitCode;
}
