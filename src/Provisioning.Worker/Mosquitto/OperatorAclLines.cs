using System.Text;
using Provisioning.Worker.Topics;

namespace Provisioning.Worker.Mosquitto;

/// <summary>
/// The lines of the acl_file the worker does not own, byte for byte, and the problems among them. A block is a
/// <c>user</c> line and every line after it up to the next <c>user</c> line; the blocks of the users the worker
/// manages (devices, the probe) are the worker's, and so are the lines in them (its <c>pattern</c> lines live in the
/// probe's block). Everything else is the operators': their blocks, the lines before the first <c>user</c> line,
/// comments. The reading rules follow the 2.0 broker (src/security_default.c, <c>aclfile__parse</c>), which refuses
/// to load a file with a line it does not understand.
/// </summary>
public sealed class OperatorAclLines(string probeUsername) : OperatorFileLines(probeUsername)
{
    public override async Task LoadAsync(string path, CancellationToken cancellationToken)
    {
        var state = new Reading(IsManaged);
        await FileLines.ForEachAsync(path, state.Take, cancellationToken);
        Content = state.Kept.ToArray();
        Problems = state.Problems;
    }

    /// <summary>Takes the operators' lines of <paramref name="file"/>.</summary>
    public void Load(ReadOnlySpan<byte> file)
    {
        var state = new Reading(IsManaged);
        FileLines.ForEach(file, state.Take);
        Content = state.Kept.ToArray();
        Problems = state.Problems;
    }

    /// <summary>Why Mosquitto 2.0 would refuse the line, or null. <paramref name="user"/> is the user a <c>user</c> line names.</summary>
    public static string? Check(ReadOnlySpan<byte> raw, out string? user)
    {
        user = null;
        var line = Encoding.UTF8.GetString(raw).TrimEnd(" \t\n\v\f\r".ToCharArray());
        if (line.Length == 0 || line[0] == '#')
        {
            return null;
        }

        var tokens = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (tokens.Length == 0)
        {
            return null;
        }

        switch (tokens[0])
        {
            case "user":
                var name = line[(line.IndexOf("user", StringComparison.Ordinal) + 4)..].Trim(" \t\n\v\f\r".ToCharArray());
                if (name.Length == 0)
                {
                    return "a 'user' line without a username";
                }

                user = name;
                return null;
            case "topic" or "pattern":
                if (tokens.Length == 1)
                {
                    return $"a '{tokens[0]}' line without a topic";
                }

                var topic = tokens.Length == 2 ? tokens[1] : string.Join(' ', tokens[2..]);
                if (tokens.Length > 2 && tokens[1] is not ("read" or "write" or "readwrite" or "deny"))
                {
                    return $"the access '{tokens[1]}' is not one of read, write, readwrite, deny";
                }

                return TopicFilter.Problem(topic) is { } problem ? $"the topic '{topic}' is not a valid filter: {problem}" : null;
            default:
                return $"'{tokens[0]}' is not one of user, topic, pattern (nor a comment)";
        }
    }

    private sealed class Reading(Func<string, bool> isManaged)
    {
        private int _number;
        private bool _inManagedBlock;

        public MemoryStream Kept { get; } = new();

        public List<string> Problems { get; } = [];

        public void Take(ReadOnlySpan<byte> line)
        {
            _number++;
            var problem = Check(line, out var user);
            if (user is not null)
            {
                _inManagedBlock = isManaged(user);
            }

            if (_inManagedBlock)
            {
                return;
            }

            if (problem is not null)
            {
                Problems.Add($"line {_number}: {problem}");
            }

            Kept.Write(line);
            Kept.WriteByte((byte)'\n');
        }
    }
}
