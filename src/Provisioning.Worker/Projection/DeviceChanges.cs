using System.Text;

namespace Provisioning.Worker.Projection;

/// <summary>
/// What one cycle read from the database for the projected files: either every active device (a full rebuild:
/// after a start, a failure or someone else's edit of a file) or the devices changed since the last cycle.
/// </summary>
public sealed class DeviceChanges
{
    private readonly MemoryStream? _allLines;
    private readonly Dictionary<string, string?> _changed = new(StringComparer.Ordinal);

    private DeviceChanges(bool full) => _allLines = full ? new MemoryStream(1 << 16) : null;

    /// <summary>True when this is every active device rather than the changes.</summary>
    public bool IsFull => _allLines is not null;

    /// <summary>Devices in a full read; changed devices otherwise.</summary>
    public int Count { get; private set; }

    /// <summary>Incremental: each changed user with its hash, or null when the user is no longer active.</summary>
    public IReadOnlyDictionary<string, string?> Changed => _changed;

    public static DeviceChanges Everything() => new(full: true);

    public static DeviceChanges Since() => new(full: false);

    public void Active(string username, string hash)
    {
        if (_allLines is { } all)
        {
            // A full read keeps the fleet as passwd lines: the most compact form, and the acl_file needs only the usernames.
            all.Write(Encoding.UTF8.GetBytes($"{username}:{hash}\n"));
            Count++;
            return;
        }

        _changed[username] = hash;
        Count = _changed.Count;
    }

    public void Inactive(string username)
    {
        if (_allLines is null)
        {
            _changed[username] = null;
            Count = _changed.Count;
        }
    }

    /// <summary>Full read: every active device's passwd line <c>username:hash\n</c>, in database order.</summary>
    public ReadOnlyMemory<byte> AllLines =>
        _allLines is { } all ? all.GetBuffer().AsMemory(0, (int)all.Length) : throw new InvalidOperationException("Not a full read.");

    /// <summary>Full read: every active device's username.</summary>
    public IEnumerable<string> AllUsernames()
    {
        var offset = 0;
        while (true)
        {
            var rest = AllLines.Span[offset..];
            if (rest.IsEmpty)
            {
                yield break;
            }

            var colon = rest.IndexOf((byte)':');
            var newline = rest.IndexOf((byte)'\n');
            yield return Encoding.ASCII.GetString(rest[..colon]);
            offset += newline + 1;
        }
    }
}
