using System.Buffers;
using System.Text;
using Provisioning.Worker.Devices;

namespace Provisioning.Worker.Mosquitto;

/// <summary>
/// The device records that changed since a projected file was last written: records to (re)write and users to drop.
/// A record is one line of the passwd file (<c>username:hash</c>) or one block of the acl_file (a <c>user</c> line and
/// the <c>topic</c> lines after it). A rewrite copies the previous file's device records in large runs, leaving out
/// the changed users, then appends the new records. Memory follows the changes, not the fleet: a million devices
/// cost nothing between rewrites. A device's record is found whichever username form it was written under
/// (<see cref="DeviceIdentity.CanonicalUsername"/>): a device that moves to the current form loses its old line.
/// </summary>
public sealed class DeviceLines(DeviceRecordFormat format = DeviceRecordFormat.PasswdLine)
{
    private const int BufferSize = 1 << 20;
    private static readonly byte[] _userKeyword = "user "u8.ToArray();
    private readonly Dictionary<string, byte[]?> _changes = new(StringComparer.Ordinal);
    private readonly char[] _username = new char[256];

    /// <summary>Whether the lines copied last belong to a changed user's record (a block continues across reads).</summary>
    private bool _skipping;

    public int Count => _changes.Count;

    /// <summary>The user's line becomes <c>username:hash</c> (passwd file).</summary>
    public void Set(string username, string hash) => _changes[DeviceIdentity.CanonicalUsername(username)] = Encoding.UTF8.GetBytes($"{username}:{hash}\n");

    /// <summary>The user's record becomes <paramref name="record"/> (whole lines, each ending with '\n').</summary>
    public void SetRecord(string username, byte[] record) => _changes[DeviceIdentity.CanonicalUsername(username)] = record;

    /// <summary>The user's line goes.</summary>
    public void Remove(string username) => _changes[DeviceIdentity.CanonicalUsername(username)] = null;

    /// <summary>
    /// Writes the device records of <paramref name="previous"/> (after its first <paramref name="skip"/> bytes, which
    /// are not device records) except the changed users', then the changed users' new records. Returns the records written.
    /// </summary>
    public async Task<int> MergeAsync(Stream previous, long skip, Stream output, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        _skipping = false;
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
                    throw new InvalidDataException($"The {FileKind} has a line longer than {BufferSize} bytes.");
                }
            }

            if (filled > 0 && skip == 0)
            {
                throw new InvalidDataException($"The {FileKind} the worker wrote does not end with a newline: it was changed underneath.");
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

    private string FileKind => format == DeviceRecordFormat.PasswdLine ? "passwd file" : "acl_file";

    /// <summary>The complete lines in buffer[start..filled): the runs to copy, where the last complete line ends, how many records are kept.</summary>
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
            var line = buffer.AsSpan(position, newline);
            var starts = IsRecordStart(line);
            if (starts)
            {
                _skipping = _changes.Count > 0 && lookup.ContainsKey(Username(line));
            }

            if (_skipping)
            {
                if (position > runStart)
                {
                    runs.Add((runStart, position - runStart));
                }

                runStart = lineEnd;
            }
            else if (starts)
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

    /// <summary>Every passwd line is a record; in the acl_file a record starts at its <c>user</c> line.</summary>
    private bool IsRecordStart(ReadOnlySpan<byte> line) => format == DeviceRecordFormat.PasswdLine || line.StartsWith(_userKeyword);

    /// <summary>
    /// A device record's username in its canonical form: ASCII by the id rules, so a byte is a char; an earlier-form
    /// <c>tenant.device</c> is read as <c>tenant/device</c> (ids hold neither '.' nor '/').
    /// </summary>
    private ReadOnlySpan<char> Username(ReadOnlySpan<byte> line)
    {
        ReadOnlySpan<byte> user;
        if (format == DeviceRecordFormat.PasswdLine)
        {
            var colon = line.IndexOf((byte)':');
            user = colon < 0 ? line : line[..colon];
        }
        else
        {
            user = line[_userKeyword.Length..].TrimEnd("\r"u8);
        }

        var length = Math.Min(user.Length, _username.Length);
        var separator = -1;
        for (var i = 0; i < length; i++)
        {
            _username[i] = (char)user[i];
            if (separator < 0 && user[i] is (byte)'/' or (byte)'.')
            {
                separator = i;
            }
        }

        if (separator > 0)
        {
            _username[separator] = '/';
        }

        return _username.AsSpan(0, length);
    }
}

/// <summary>How a projected file groups the lines of one device.</summary>
public enum DeviceRecordFormat
{
    /// <summary>One line <c>username:hash</c>.</summary>
    PasswdLine,

    /// <summary>A <c>user username</c> line and the <c>topic</c> lines that follow it.</summary>
    AclBlock,
}
