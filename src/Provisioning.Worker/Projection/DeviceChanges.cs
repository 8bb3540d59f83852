using System.Runtime.CompilerServices;
using System.Text;

namespace Provisioning.Worker.Projection;

/// <summary>
/// What one cycle read from the database for the projected files: either every active device (a full rebuild:
/// after a start, a failure or someone else's edit of a file) or the devices changed since the last cycle.
/// </summary>
/// <remarks>
/// A full read is the whole fleet (126 MiB of passwd lines at 1,000,000 devices). It is read in one short snapshot
/// and written after the transaction ends, so it is kept somewhere meanwhile: in a file of its own beside the passwd
/// file (mode 0600, unlinked as soon as it is open), not in memory, so the worker's memory does not grow with the fleet.
/// </remarks>
public sealed class DeviceChanges : IAsyncDisposable
{
    private const int BufferSize = 1 << 16;

    private readonly FileStream? _allLines;
    private readonly Dictionary<string, string?> _changed = new(StringComparer.Ordinal);

    private DeviceChanges(FileStream? allLines) => _allLines = allLines;

    /// <summary>True when this is every active device rather than the changes.</summary>
    public bool IsFull => _allLines is not null;

    /// <summary>Devices in a full read; changed devices otherwise.</summary>
    public int Count { get; private set; }

    /// <summary>Incremental: each changed user with its hash, or null when the user is no longer active.</summary>
    public IReadOnlyDictionary<string, string?> Changed => _changed;

    /// <summary>A full read, spooled to a file in <paramref name="directory"/> (the passwd file's) that has no name once open.</summary>
    public static DeviceChanges Everything(string directory)
    {
        var path = Path.Combine(directory, $".provisioning-full-read-{Guid.NewGuid():N}");
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.ReadWrite,
            Share = FileShare.None,
            Options = FileOptions.Asynchronous | FileOptions.DeleteOnClose,
            BufferSize = BufferSize,
        };
        if (!OperatingSystem.IsWindows())
        {
            options.Options = FileOptions.Asynchronous;
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        var spool = new FileStream(path, options);
        if (!OperatingSystem.IsWindows())
        {
            // Unlinked at once: the open stream still reads and writes it, and a killed worker leaves nothing behind.
            File.Delete(path);
        }

        return new DeviceChanges(spool);
    }

    public static DeviceChanges Since() => new(allLines: null);

    public async ValueTask ActiveAsync(string username, string hash, CancellationToken cancellationToken)
    {
        if (_allLines is { } all)
        {
            // A full read keeps the fleet as passwd lines: the most compact form, and the acl_file needs only the usernames.
            await all.WriteAsync(Encoding.UTF8.GetBytes($"{username}:{hash}\n"), cancellationToken);
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

    /// <summary>Full read: copies every active device's passwd line <c>username:hash\n</c>, in database order.</summary>
    public async Task CopyAllLinesToAsync(Stream destination, CancellationToken cancellationToken)
    {
        var all = FullRead();
        await all.FlushAsync(cancellationToken);
        all.Position = 0;
        await all.CopyToAsync(destination, BufferSize, cancellationToken);
    }

    /// <summary>Full read: every active device's username, in database order.</summary>
    public async IAsyncEnumerable<string> AllUsernamesAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var all = FullRead();
        await all.FlushAsync(cancellationToken);
        all.Position = 0;
        using var reader = new StreamReader(all, Encoding.ASCII, detectEncodingFromByteOrderMarks: false, BufferSize, leaveOpen: true);
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            yield return line[..line.IndexOf(':', StringComparison.Ordinal)];
        }
    }

    public ValueTask DisposeAsync() => _allLines?.DisposeAsync() ?? ValueTask.CompletedTask;

    private FileStream FullRead() => _allLines ?? throw new InvalidOperationException("Not a full read.");
}
