namespace Provisioning.Worker.Cli;

/// <summary>The exit codes of <c>devices</c> and <c>passwd</c> (dead-letters: DeadLetters/DeadLetterExitCodes.cs, the same numbers); docs/operator-tools.md lists them.</summary>
public static class CommandExitCodes
{
    /// <summary>Found; done; in step.</summary>
    public const int Success = 0;

    /// <summary>Not found (no such device, no device matches, no such user, wrong password) or, for <c>passwd verify</c>, drift.</summary>
    public const int NotFound = 1;

    /// <summary>Bad arguments or configuration; the message names the argument or key and the rule.</summary>
    public const int BadInput = 2;

    /// <summary>A dependency (the database) cannot be reached, refused us, or did not answer within the timeout.</summary>
    public const int Unavailable = 3;
}
