using Provisioning.Worker.Devices;
using Provisioning.Worker.Mosquitto;

namespace Provisioning.Worker.Cli;

/// <summary>One difference between the passwd file and the database; never carries a hash.</summary>
public sealed record DriftItem(string Kind, string? Username, string Detail, bool Unconfirmed);

/// <summary>A device row as <c>passwd verify</c> compares it; the hash is compared, never shown.</summary>
public sealed record DeviceLineSource(string Username, bool Active, string? PasswordHash, long ChangedXid);

/// <summary>
/// The comparison of <c>passwd verify</c>, over plain values: the device-form lines of the file against the device rows,
/// fed one row at a time (a million rows need not be held). A difference whose device changed at or after the
/// checkpoint's xmin is marked unconfirmed: the projection may simply not have run yet.
/// </summary>
public sealed class PasswdDrift
{
    public const string Missing = "missing";
    public const string Stale = "stale";
    public const string Deleted = "deleted";
    public const string Unknown = "unknown";
    public const string Unconfirmed = "unconfirmed";
    public const string Problem = "problem";

    private readonly Dictionary<string, string> _lines = new(StringComparer.Ordinal);
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
    private readonly List<DriftItem> _items = [];
    private readonly long? _appliedXmin;

    /// <param name="file">The file as read; null when it does not exist.</param>
    /// <param name="appliedXmin">The checkpoint's xmin read before the file; null when there is no checkpoint.</param>
    /// <param name="deviceIterations">The configured iterations of device hashes (<c>Mosquitto:HashIterations</c>).</param>
    public PasswdDrift(PasswdFile? file, long? appliedXmin, int deviceIterations = 1)
    {
        _appliedXmin = appliedXmin;
        foreach (var line in file?.Lines ?? [])
        {
            if (line is { Kind: PasswdLineKind.User, Username: { } username } && DeviceIdentity.IsDeviceUsername(username))
            {
                // A second line of the same user is reported by Check(); the broker's choice between them is not ours to guess.
                if (_lines.TryAdd(username, line.Hash!) && MosquittoPasswordHash.Iterations(line.Hash) is { } iterations && iterations != deviceIterations)
                {
                    OtherIterationLines++;
                }

                if (DeviceIdentity.TryParseUsername(username, out var parsed) && parsed.IsLegacy)
                {
                    EarlierFormLines++;
                }
            }
        }

        FileDeviceLines = _lines.Count;
        foreach (var problem in file?.Check() ?? [])
        {
            _items.Add(new DriftItem(Problem, null, problem, Unconfirmed: false));
        }
    }

    public int FileDeviceLines { get; }

    /// <summary>Device lines whose hash has another iteration count than configured: they change at the device's next registration.</summary>
    public int OtherIterationLines { get; }

    /// <summary>Device lines of the earlier username form <c>tenant.device</c>: they change at the device's next registration.</summary>
    public int EarlierFormLines { get; }

    public int ActiveDevices { get; private set; }

    public IReadOnlyList<DriftItem> Items => _items;

    public bool InStep => _items.Count == 0;

    public void Add(DeviceLineSource device)
    {
        ArgumentNullException.ThrowIfNull(device);
        var unconfirmed = _appliedXmin is { } xmin && device.ChangedXid >= xmin;
        var inFile = _lines.TryGetValue(device.Username, out var hash);
        _seen.Add(device.Username);
        if (device.Active)
        {
            ActiveDevices++;
        }

        var drift = (device.Active, inFile) switch
        {
            (true, false) => new DriftItem(Missing, device.Username, "active in the database, no line in the file", unconfirmed),
            (true, true) when !string.Equals(hash, device.PasswordHash, StringComparison.Ordinal) =>
                new DriftItem(Stale, device.Username, "the line's hash is not the database's", unconfirmed),
            (false, true) => new DriftItem(Deleted, device.Username, "a line for a device that is deleted in the database", unconfirmed),
            _ when unconfirmed => new DriftItem(Unconfirmed, device.Username, "changed at or after the checkpoint: the broker has not confirmed it yet", Unconfirmed: true),
            _ => null,
        };
        if (drift is not null)
        {
            _items.Add(drift);
        }
    }

    /// <summary>After the last row: the device-form lines no row accounts for.</summary>
    public void Finish()
    {
        foreach (var username in _lines.Keys.Where(u => !_seen.Contains(u)).Order(StringComparer.Ordinal))
        {
            _items.Add(new DriftItem(Unknown, username, "a device-form line the database does not know", Unconfirmed: false));
        }
    }

    public IReadOnlyDictionary<string, int> Counts() =>
        _items.GroupBy(i => i.Kind).OrderBy(g => g.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
}
