using Provisioning.Worker.Cli;
using Provisioning.Worker.Shared;

namespace Provisioning.Worker.DeadLetters;

/// <summary>MassTransit's dead-letter queue names: <c>{queue}_error</c> for faults, <c>{queue}_skipped</c> for messages nobody consumes.</summary>
public static class DeadLetterQueues
{
    public const string ErrorSuffix = "_error";
    public const string SkippedSuffix = "_skipped";

    public static bool IsDeadLetterQueue(string name) => SuffixOf(name) is not null;

    /// <exception cref="DeadLetterToolException">The name is not a dead-letter queue's (exit code <see cref="CommandExitCodes.BadInput"/>).</exception>
    public static void Require(string name)
    {
        if (!IsDeadLetterQueue(name))
        {
            throw new DeadLetterToolException(
                CommandExitCodes.BadInput,
                $"'{SafeText.Unicode(name)}' is not a dead-letter queue: its name must end in {ErrorSuffix} or {SkippedSuffix} (e.g. device-registered{ErrorSuffix}).");
        }
    }

    /// <summary>The queue the message failed on, by name alone: the fallback when the fault headers do not say.</summary>
    public static string SourceOf(string deadLetterQueue) =>
        SuffixOf(deadLetterQueue) is { } suffix
            ? deadLetterQueue[..^suffix.Length]
            : throw new ArgumentException($"'{deadLetterQueue}' does not end in {ErrorSuffix} or {SkippedSuffix}.", nameof(deadLetterQueue));

    private static string? SuffixOf(string name)
    {
        foreach (var suffix in (ReadOnlySpan<string>)[ErrorSuffix, SkippedSuffix])
        {
            if (name.Length > suffix.Length && name.EndsWith(suffix, StringComparison.Ordinal))
            {
                return suffix;
            }
        }

        return null;
    }
}
