using System.Buffers;
using System.Text;

namespace Provisioning.Worker.Projection;

/// <summary>
/// The device lines that changed since the passwd file was last written: lines to (re)write and users to drop.
/// A rewrite copies the previous file's device lines in large runs, leaving out the changed users, then appends the
/// new lines. Memory follows the changes, not the fleet: a million devices cost nothing between rewrites.
/// </summary>
public sealed class DeviceLines
{
    private const int BufferSize = 1 << 20;
    private readonly Dictionary<string, byte[]?> _changes = new(StringComparer.Ordinal);
    private readonly char[] _username = new char[256];

    public int Count => _changes.Count;

    /// <summary>The user's line becomes <c>username:hash</c>.</summary>
    public void Set(string username, string hash) => _changes[username] = Encoding.UTF8.GetBytes($"{username}:{hash}\n");

    /// <summary>The user's line goes.</summary>
    public void Remove(string username) => _changes[username] = null;

    /// <summary>
    /// Writes the device lines of <paramref name="previous"/> (after its first <paramref name="skip"/> bytes, which
    /// are not device lines) except the changed users', then the changed users' new lines. Returns the lines written.
    /// </summary>
    public async Task<int> MergeAsync(Stream previous, long skip, Stream output, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            var lines = 0;
            var filled = 0;
            int read;
            while ((read = await previous.ReadAsync(buffer.AsMemory(filled), cancellationToken)) > 0)
            {
                filled += read;
                var start = 0;
                if (skip > 0)
                {
                    start = (int)Math.Min(skip, filled);
                    skip -= start;
                }

                var (end, runs, kept) = Scan(buffer, start, filled);
                lines += kept;
                foreach (var (offset, length) in runs)
                {
                    await output.WriteAsync(buffer.AsMemory(offset, length), cancellationToken);
                }

                // Keep the unfinished last line for the next read.
                buffer.AsSpan(end, filled - end).CopyTo(buffer);
                filled -= end;
                if (filled == buffer.Length)
                {
                    throw new InvalidDataException($"The passwd file has a line longer than {BufferSize} bytes.");
                }
            }

            if (filled > 0 && skip == 0)
            {
                throw new InvalidDataException("The passwd file the worker wrote does not end with a newline: it was changed underneath.");
            }

            foreach (var line in _changes.Values)
            {
                if (line is not null)
                {
                    await output.WriteAsync(line, cancellationToken);
                    lines++;
                }
            }

            return lines;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>The complete lines in buffer[start..filled): the runs to copy, where the last complete line ends, how many lines are kept.</summary>
    private (int End, List<(int Offset, int Length)> Runs, int Kept) Scan(byte[] buffer, int start, int filled)
    {
        var runs = new List<(int, int)>();
        var lookup = _changes.GetAlternateLookup<ReadOnlySpan<char>>();
        var runStart = start;
        var position = start;
        var kept = 0;
        while (true)
        {
            var newline = buffer.AsSpan(position, filled - position).IndexOf((byte)'\n');
            if (newline < 0)
            {
                break;
            }

            var lineEnd = position + newline + 1;
            if (_changes.Count > 0 && lookup.ContainsKey(Username(buffer.AsSpan(position, newline))))
            {
                if (position > runStart)
                {
                    runs.Add((runStart, position - runStart));
                }

                runStart = lineEnd;
            }
            else
            {
                kept++;
            }

            position = lineEnd;
        }

        if (position > runStart)
        {
            runs.Add((runStart, position - runStart));
        }

        return (position, runs, kept);
    }

    /// <summary>A device line's username: ASCII by the id rules, so a byte is a char.</summary>
    private ReadOnlySpan<char> Username(ReadOnlySpan<byte> line)
    {
        var colon = line.IndexOf((byte)':');
        var user = colon < 0 ? line : line[..colon];
        var length = Math.Min(user.Length, _username.Length);
        for (var i = 0; i < length; i++)
        {
            _username[i] = (char)user[i];
        }

        return _username.AsSpan(0, length);
    }
}
