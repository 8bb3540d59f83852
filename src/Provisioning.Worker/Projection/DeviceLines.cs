using System.Text;

namespace Provisioning.Worker.Projection;

/// <summary>
/// The device lines of the passwd file, kept in memory between rewrites as ready-to-write UTF-8 so a rewrite
/// is one sequential copy, and a change is applied without re-reading the database or the file.
/// </summary>
public sealed class DeviceLines
{
    private readonly Dictionary<string, byte[]> _lines = new(StringComparer.Ordinal);

    public int Count => _lines.Count;

    /// <summary>Adds or replaces a user's line; false when it was already exactly that.</summary>
    public bool Set(string username, string hash)
    {
        var line = Encoding.UTF8.GetBytes($"{username}:{hash}\n");
        if (_lines.TryGetValue(username, out var existing) && existing.AsSpan().SequenceEqual(line))
        {
            return false;
        }

        _lines[username] = line;
        return true;
    }

    public bool Remove(string username) => _lines.Remove(username);

    public bool Contains(string username) => _lines.ContainsKey(username);

    public async ValueTask WriteToAsync(Stream stream, CancellationToken cancellationToken)
    {
        foreach (var line in _lines.Values)
        {
            await stream.WriteAsync(line, cancellationToken);
        }
    }
}
