namespace Provisioning.Worker.DeadLetters;

/// <summary>A failure the operator can act on: the message says what and the exit code says which kind.</summary>
public sealed class DeadLetterToolException(int exitCode, string message, Exception? inner = null) : Exception(message, inner)
{
    public int ExitCode { get; } = exitCode;
}
