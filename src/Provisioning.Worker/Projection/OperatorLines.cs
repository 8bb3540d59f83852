using Provisioning.Worker.Devices;
using Provisioning.Worker.Passwd;

namespace Provisioning.Worker.Projection;

/// <summary>
/// The lines of the passwd file the worker does not own (operators' accounts, comments), byte for byte, and
/// the problems among them. Re-parsed only when the file is not the one the worker last wrote.
/// </summary>
public sealed class OperatorLines(string probeUsername)
{
    private FileStamp? _writtenStamp;

    public byte[] Content { get; private set; } = [];

    public IReadOnlyList<string> Problems { get; private set; } = [];

    public bool IsManaged(string username) =>
        string.Equals(username, probeUsername, StringComparison.Ordinal) || DeviceIdentity.IsDeviceUsername(username);

    /// <summary>True when the file on disk may hold lines this instance has not seen (first run, an operator's edit, another instance).</summary>
    public bool IsStale(string path) => _writtenStamp is null || _writtenStamp != FileStamp.Of(path);

    /// <summary>Takes the non-device lines of <paramref name="file"/> (null: the file is missing).</summary>
    public void Load(byte[]? file)
    {
        if (file is null)
        {
            Content = [];
            Problems = [];
            return;
        }

        var parsed = PasswdFile.Parse(file);
        using var kept = new MemoryStream();
        foreach (var line in parsed.Lines)
        {
            if (line.Username is { } username && IsManaged(username))
            {
                continue;
            }

            kept.Write(line.Raw.Span);
            kept.WriteByte((byte)'\n');
        }

        Content = kept.ToArray();
        Problems = PasswdFile.Parse(Content).Check();
    }

    /// <summary>
    /// Takes the non-device lines of the file at <paramref name="path"/> (missing: none), reading it line by line so
    /// that a file of a million devices is never held whole in memory.
    /// </summary>
    public async Task LoadAsync(string path, CancellationToken cancellationToken)
    {
        using var kept = new MemoryStream();
        if (!await FileLines.ForEachAsync(path, line => Keep(line, kept), cancellationToken))
        {
            Load(null);
            return;
        }

        Content = kept.ToArray();
        Problems = PasswdFile.Parse(Content).Check();
    }

    public void Written(string path) => _writtenStamp = FileStamp.Of(path);

    public void Forget() => _writtenStamp = null;

    /// <summary>Appends <paramref name="line"/> unless it is a managed user's.</summary>
    private void Keep(ReadOnlySpan<byte> line, MemoryStream kept)
    {
        if (line.IsEmpty)
        {
            kept.WriteByte((byte)'\n');
            return;
        }

        foreach (var parsed in PasswdFile.Parse(line).Lines)
        {
            if (parsed.Username is { } username && IsManaged(username))
            {
                continue;
            }

            kept.Write(parsed.Raw.Span);
            kept.WriteByte((byte)'\n');
        }
    }
}
