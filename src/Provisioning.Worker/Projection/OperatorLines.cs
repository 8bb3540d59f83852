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
        try
        {
            await using var file = new FileStream(path, new FileStreamOptions { Mode = FileMode.Open, Access = FileAccess.Read, Share = FileShare.ReadWrite, BufferSize = 0 });
            using var kept = new MemoryStream();
            var buffer = new byte[1 << 20];
            var filled = 0;
            int read;
            while ((read = await file.ReadAsync(buffer.AsMemory(filled), cancellationToken)) > 0)
            {
                filled += read;
                var consumed = Keep(buffer.AsSpan(0, filled), kept, final: false);
                buffer.AsSpan(consumed, filled - consumed).CopyTo(buffer);
                filled -= consumed;
                if (filled == buffer.Length)
                {
                    Array.Resize(ref buffer, buffer.Length * 2); // a pathological line; the broker would refuse it, Check reports it
                }
            }

            Keep(buffer.AsSpan(0, filled), kept, final: true);
            Content = kept.ToArray();
            Problems = PasswdFile.Parse(Content).Check();
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            Load(null);
        }
    }

    public void Written(string path) => _writtenStamp = FileStamp.Of(path);

    public void Forget() => _writtenStamp = null;

    /// <summary>Appends the lines of <paramref name="data"/> that are not managed; returns the bytes consumed (whole lines, or all when final).</summary>
    private int Keep(ReadOnlySpan<byte> data, MemoryStream kept, bool final)
    {
        var position = 0;
        while (position < data.Length)
        {
            var newline = data[position..].IndexOf((byte)'\n');
            if (newline < 0 && !final)
            {
                break;
            }

            var line = newline < 0 ? data[position..] : data.Slice(position, newline);
            position += newline < 0 ? line.Length : newline + 1;
            if (line.IsEmpty)
            {
                kept.WriteByte((byte)'\n');
                continue;
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

        return position;
    }

    private sealed record FileStamp(DateTime LastWriteUtc, long Length)
    {
        public static FileStamp? Of(string path)
        {
            var info = new FileInfo(path);
            return info.Exists ? new FileStamp(info.LastWriteTimeUtc, info.Length) : null;
        }
    }
}
