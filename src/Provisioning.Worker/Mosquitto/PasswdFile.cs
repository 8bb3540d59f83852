using System.Text;
using Provisioning.Worker.Shared;

namespace Provisioning.Worker.Mosquitto;

/// <summary>
/// A Mosquitto password file, line by line. Lines the caller does not touch render back byte for byte,
/// comments, blank and malformed lines included. The reading rules follow the 2.0 broker
/// (src/security_default.c, <c>pwfile__parse</c>): a line starting with '#' is a comment; a line without
/// ':' is skipped; the username is what comes before the first ':', the hash what comes between the first
/// and the next ':', both trimmed of blanks (spaces, tabs, '\r').
/// </summary>
public sealed class PasswdFile
{
    private readonly List<PasswdLine> _lines;

    private PasswdFile(List<PasswdLine> lines) => _lines = lines;

    public static PasswdFile Empty() => new([]);

    public IReadOnlyList<PasswdLine> Lines => _lines;

    /// <summary>The users of the file, each once, in file order.</summary>
    public IEnumerable<string> Usernames => _lines.Where(l => l.Kind == PasswdLineKind.User).Select(l => l.Username!).Distinct(StringComparer.Ordinal);

    public static PasswdFile Parse(ReadOnlySpan<byte> content)
    {
        var lines = new List<PasswdLine>();
        var number = 0;
        while (!content.IsEmpty)
        {
            var end = content.IndexOf((byte)'\n');
            var raw = end < 0 ? content : content[..end];
            content = end < 0 ? [] : content[(end + 1)..];
            number++;
            lines.Add(Classify(number, raw.ToArray()));
        }

        return new PasswdFile(lines);
    }

    public bool Contains(string username) => Find(username) >= 0;

    public string? GetHash(string username)
    {
        var index = Find(username);
        return index < 0 ? null : _lines[index].Hash;
    }

    /// <summary>
    /// Gives <paramref name="username"/> the hash: its line is replaced in place (keeping a CRLF ending if it had one),
    /// further lines of the same user are removed, or a line is appended.
    /// </summary>
    /// <exception cref="ArgumentException">the username is not usable, or the hash is not one Mosquitto 2.0 loads.</exception>
    public void Set(string username, string hash)
    {
        MosquittoUsername.Validate(username);
        if (!MosquittoPasswordHash.IsWellFormed(hash))
        {
            throw new ArgumentException($"The hash for user \"{SafeText.Ascii(username)}\" is not a well-formed Mosquitto $6$ or $7$ hash.", nameof(hash));
        }

        var index = Find(username);
        if (index < 0)
        {
            _lines.Add(UserLine(_lines.Count + 1, username, hash, crlf: false));
            return;
        }

        var crlf = _lines[index].Raw.Span is [.., (byte)'\r'];
        _lines[index] = UserLine(index + 1, username, hash, crlf);
        var removed = _lines.RemoveAll(l => l.Kind == PasswdLineKind.User && l.Number > index + 1 && string.Equals(l.Username, username, StringComparison.Ordinal));
        if (removed > 0)
        {
            Renumber();
        }
    }

    /// <summary>Removes every line of <paramref name="username"/>; false when there was none.</summary>
    public bool Remove(string username)
    {
        var removed = _lines.RemoveAll(l => l.Kind == PasswdLineKind.User && string.Equals(l.Username, username, StringComparison.Ordinal));
        if (removed > 0)
        {
            Renumber();
        }

        return removed > 0;
    }

    /// <summary>The file's bytes; every line ends with '\n'.</summary>
    public byte[] Render()
    {
        using var buffer = new MemoryStream();
        WriteTo(buffer);
        return buffer.ToArray();
    }

    public void WriteTo(Stream stream)
    {
        foreach (var line in _lines)
        {
            stream.Write(line.Raw.Span);
            stream.WriteByte((byte)'\n');
        }
    }

    /// <summary>
    /// What would make a broker refuse the file, or a user in it, at reload: malformed lines (empty or unusable
    /// usernames, missing hashes, lines without ':'), users defined twice, hashes Mosquitto 2.0 cannot load.
    /// The messages name the line and the user, never the hash.
    /// </summary>
    public IReadOnlyList<string> Check()
    {
        var problems = new List<string>();
        var firstLine = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var line in _lines)
        {
            switch (line.Kind)
            {
                case PasswdLineKind.Malformed:
                    problems.Add($"line {line.Number}: {line.Problem}");
                    break;
                case PasswdLineKind.User:
                    var shown = SafeText.Ascii(line.Username!);
                    if (firstLine.TryGetValue(line.Username!, out var first))
                    {
                        problems.Add($"line {line.Number}: user \"{shown}\" is already defined on line {first}");
                    }
                    else
                    {
                        firstLine.Add(line.Username!, line.Number);
                    }

                    if (!MosquittoPasswordHash.IsWellFormed(line.Hash))
                    {
                        problems.Add($"line {line.Number}: user \"{shown}\" has a password hash that Mosquitto 2.0 cannot load (it needs type 7 with an iteration count, or type 6, a 12-byte salt and a 64-byte key in base64)");
                    }

                    break;
            }
        }

        return problems;
    }

    private int Find(string username) =>
        _lines.FindIndex(l => l.Kind == PasswdLineKind.User && string.Equals(l.Username, username, StringComparison.Ordinal));

    private void Renumber()
    {
        for (var i = 0; i < _lines.Count; i++)
        {
            if (_lines[i].Number != i + 1)
            {
                _lines[i] = _lines[i] with { Number = i + 1 };
            }
        }
    }

    private static PasswdLine UserLine(int number, string username, string hash, bool crlf)
    {
        var raw = Encoding.UTF8.GetBytes(crlf ? $"{username}:{hash}\r" : $"{username}:{hash}");
        return new PasswdLine { Number = number, Kind = PasswdLineKind.User, Username = username, Hash = hash, Raw = raw };
    }

    private static PasswdLine Classify(int number, byte[] raw)
    {
        var span = raw.AsSpan();
        if (span is [(byte)'#', ..])
        {
            return new PasswdLine { Number = number, Kind = PasswdLineKind.Comment, Raw = raw };
        }

        if (Trim(span).IsEmpty)
        {
            return new PasswdLine { Number = number, Kind = PasswdLineKind.Blank, Raw = raw };
        }

        var colon = span.IndexOf((byte)':');
        if (colon < 0)
        {
            return Malformed(number, raw, "has no ':' between a username and a hash (the broker skips it)");
        }

        var userBytes = Trim(span[..colon]);
        if (userBytes.IsEmpty)
        {
            return Malformed(number, raw, "has an empty username");
        }

        if (!MosquittoUsername.TryDecode(userBytes, out var username, out var problem))
        {
            return Malformed(number, raw, problem);
        }

        var rest = span[(colon + 1)..];
        var nextColon = rest.IndexOf((byte)':');
        var hashBytes = Trim(nextColon < 0 ? rest : rest[..nextColon]);
        if (hashBytes.IsEmpty)
        {
            return Malformed(number, raw, $"user \"{SafeText.Ascii(username)}\" has no password hash");
        }

        return new PasswdLine
        {
            Number = number,
            Kind = PasswdLineKind.User,
            Username = username,
            Hash = Encoding.UTF8.GetString(hashBytes),
            Raw = raw,
        };
    }

    private static PasswdLine Malformed(int number, byte[] raw, string problem) =>
        new() { Number = number, Kind = PasswdLineKind.Malformed, Problem = problem, Raw = raw };

    /// <summary>Trims what C's isspace() calls blank, as misc__trimblanks does.</summary>
    private static ReadOnlySpan<byte> Trim(ReadOnlySpan<byte> span) => span.Trim(" \t\n\v\f\r"u8);
}
