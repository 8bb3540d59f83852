namespace Provisioning.Worker.Mosquitto;

/// <summary>
/// The lines of the passwd file the worker does not own (operators' accounts, comments), byte for byte, and
/// the problems among them (<see cref="PasswdFile.Check"/>).
/// </summary>
public sealed class OperatorLines(string probeUsername) : OperatorFileLines(probeUsername)
{
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

    public override async Task LoadAsync(string path, CancellationToken cancellationToken)
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
