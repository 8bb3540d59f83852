using Provisioning.Worker.Shared;

namespace Provisioning.Worker.Mosquitto;

public enum PasswdLineKind
{
    /// <summary>A <c>username:hash</c> entry (the hash may still be one the broker refuses: see <see cref="PasswdFile.Check"/>).</summary>
    User,

    /// <summary>A line starting with '#', which the broker skips.</summary>
    Comment,

    /// <summary>An empty or whitespace-only line, which the broker skips.</summary>
    Blank,

    /// <summary>A line that is no usable entry; kept byte for byte and reported.</summary>
    Malformed,
}

/// <summary>One line of a passwd file with its raw bytes (without the terminating '\n', with a '\r' if it had one).</summary>
public sealed record PasswdLine
{
    /// <summary>1-based position in the file.</summary>
    public required int Number { get; init; }

    public required PasswdLineKind Kind { get; init; }

    /// <summary>The user of a <see cref="PasswdLineKind.User"/> line, trimmed as the broker trims it.</summary>
    public string? Username { get; init; }

    /// <summary>The hash field of a <see cref="PasswdLineKind.User"/> line, trimmed as the broker trims it.</summary>
    public string? Hash { get; init; }

    /// <summary>Why a <see cref="PasswdLineKind.Malformed"/> line is malformed; never contains hash text.</summary>
    public string? Problem { get; init; }

    public required ReadOnlyMemory<byte> Raw { get; init; }

    /// <summary>Never prints the hash.</summary>
    public override string ToString() => $"line {Number}: {Kind}{(Username is null ? string.Empty : $" \"{SafeText.Ascii(Username)}\"")}";
}
