namespace Provisioning.Worker.Cli;

/// <summary>The exit codes of the operator commands (<c>devices</c>, <c>passwd</c>, <c>dead-letters</c>); docs/operator-tools.md lists them.</summary>
public static class CommandExitCodes
{
    /// <summary>Found; done (an empty dead-letter queue included); in step.</summary>
    public const int Success = 0;

    /// <summary>
    /// Not found (no such device, no device matches, no such user, wrong password, a <c>--message-id</c> not in the
    /// dead-letter queue: the ones found were handled) or, for <c>passwd verify</c>, drift.
    /// </summary>
    public const int NotFound = 1;

    /// <summary>
    /// Bad arguments or configuration; the message names the argument or key and the rule. For <c>dead-letters</c>
    /// also: the queue (or the queue to replay to) does not exist or is not a dead-letter queue.
    /// </summary>
    public const int BadInput = 2;

    /// <summary>
    /// A dependency (the database; RabbitMQ for <c>dead-letters</c>) cannot be reached, refused us, dropped the
    /// connection or did not answer within the timeout: nothing more was done.
    /// </summary>
    public const int Unavailable = 3;

    /// <summary>
    /// <c>dead-letters replay</c>: the broker blocks publishers (<c>connection.blocked</c>: a memory or disk alarm); the
    /// copy was not taken, the message stays in the dead-letter queue. Replay again once the alarm clears. Not 4:
    /// scripts/replay-dead-letters.sh uses 4 for "the tool could not be built".
    /// </summary>
    public const int BrokerBlocked = 5;

    /// <summary><c>dead-letters</c> interrupted (Ctrl+C): what was not yet acknowledged stays in the dead-letter queue.</summary>
    public const int Interrupted = 130;
}
