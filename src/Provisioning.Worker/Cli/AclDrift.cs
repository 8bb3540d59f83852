using System.Text;
using Provisioning.Worker.Devices;
using Provisioning.Worker.Topics;

namespace Provisioning.Worker.Cli;

/// <summary>What <c>passwd verify</c> found in the acl_file; null in the report when topic authorization is off.</summary>
public sealed record AclVerifyReport(string File, bool FileExists, bool InStep, int FileDeviceBlocks, IReadOnlyDictionary<string, int> Counts, IReadOnlyList<DriftItem> Drift);

/// <summary>
/// The acl_file half of <c>passwd verify</c>, over plain values: each device-form <c>user</c> block of the file against
/// the block the configured rules give an active device (<see cref="TopicRules.DeviceBlock"/>), and the rules'
/// <c>pattern</c> lines. Fed one row at a time like <see cref="PasswdDrift"/>, with the same kinds and the same
/// "unconfirmed" reading of the checkpoint.
/// </summary>
public sealed class AclDrift
{
    private readonly TopicRules _rules;
    private readonly long? _appliedXmin;
    private readonly Dictionary<string, string> _blocks = new(StringComparer.Ordinal);
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
    private readonly List<DriftItem> _items = [];

    /// <param name="content">The file's bytes; null when it does not exist.</param>
    public AclDrift(byte[]? content, TopicRules rules, long? appliedXmin)
    {
        ArgumentNullException.ThrowIfNull(rules);
        _rules = rules;
        _appliedXmin = appliedXmin;
        var patterns = new HashSet<string>(StringComparer.Ordinal);
        string? user = null;
        foreach (var line in Encoding.UTF8.GetString(content ?? []).Split('\n'))
        {
            if (line.StartsWith("user ", StringComparison.Ordinal))
            {
                user = line["user ".Length..].Trim();
                if (!DeviceIdentity.IsDeviceUsername(user))
                {
                    user = null;
                }
                else if (!_blocks.TryAdd(user, line + "\n"))
                {
                    _items.Add(new DriftItem(PasswdDrift.Problem, user, "a second user block for the same device", Unconfirmed: false));
                    user = null;
                }
            }
            else if (line.StartsWith("pattern ", StringComparison.Ordinal))
            {
                patterns.Add(line);
                user = null;
            }
            else if (user is not null && line.StartsWith("topic ", StringComparison.Ordinal))
            {
                _blocks[user] += line + "\n";
            }
        }

        FileExists = content is not null;
        FileDeviceBlocks = _blocks.Count;
        foreach (var expected in Encoding.UTF8.GetString(rules.PatternLines()).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!patterns.Contains(expected))
            {
                _items.Add(new DriftItem(PasswdDrift.Missing, null, $"the rules' line \"{expected}\" is not in the file", Unconfirmed: false));
            }
        }
    }

    public bool FileExists { get; }

    public int FileDeviceBlocks { get; }

    public IReadOnlyList<DriftItem> Items => _items;

    public bool InStep => _items.Count == 0;

    public void Add(DeviceLineSource device)
    {
        ArgumentNullException.ThrowIfNull(device);
        var unconfirmed = _appliedXmin is { } xmin && device.ChangedXid >= xmin;
        _seen.Add(device.Username);
        var inFile = _blocks.TryGetValue(device.Username, out var actual);
        var expected = device.Active ? Encoding.UTF8.GetString(_rules.DeviceBlock(device.Username)) : string.Empty;
        var drift = (device.Active, inFile) switch
        {
            (true, false) when expected.Length > 0 => new DriftItem(PasswdDrift.Missing, device.Username, "active in the database, no block in the acl_file", unconfirmed),
            (true, true) when !string.Equals(actual, expected, StringComparison.Ordinal) =>
                new DriftItem(PasswdDrift.Stale, device.Username, "the block's topics are not what the configured rules give", unconfirmed),
            (false, true) => new DriftItem(PasswdDrift.Deleted, device.Username, "a block for a device that is deleted in the database", unconfirmed),
            _ => null,
        };
        if (drift is not null)
        {
            _items.Add(drift);
        }
    }

    /// <summary>After the last row: the device-form blocks no row accounts for.</summary>
    public void Finish()
    {
        foreach (var username in _blocks.Keys.Where(u => !_seen.Contains(u)).Order(StringComparer.Ordinal))
        {
            _items.Add(new DriftItem(PasswdDrift.Unknown, username, "a device-form block the database does not know", Unconfirmed: false));
        }
    }

    public AclVerifyReport Report(string file) => new(
        file,
        FileExists,
        InStep,
        FileDeviceBlocks,
        _items.GroupBy(i => i.Kind).OrderBy(g => g.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal),
        _items);
}
