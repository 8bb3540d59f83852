using Provisioning.Worker.Devices;

namespace Provisioning.Worker.Mosquitto;

/// <summary>
/// The lines of a projected file the worker does not own, byte for byte, and the problems among them; re-read only
/// when the file is not the one the worker last wrote. What "owned" means is the same for both files (the devices'
/// users and the probe's); how a file is read is each file's own (<see cref="OperatorLines"/>,
/// <see cref="OperatorAclLines"/>).
/// </summary>
public abstract class OperatorFileLines(string probeUsername)
{
    private FileStamp? _writtenStamp;

    public byte[] Content { get; protected set; } = [];

    public IReadOnlyList<string> Problems { get; protected set; } = [];

    public bool IsManaged(string username) =>
        string.Equals(username, probeUsername, StringComparison.Ordinal) || DeviceIdentity.IsDeviceUsername(username);

    /// <summary>True when the file on disk may hold lines this instance has not seen (first run, an operator's edit, another instance).</summary>
    public bool IsStale(string path) => _writtenStamp is null || _writtenStamp != FileStamp.Of(path);

    public void Written(string path) => _writtenStamp = FileStamp.Of(path);

    public void Forget() => _writtenStamp = null;

    /// <summary>
    /// Before a write of the file at <paramref name="path"/>: re-reads the operators' lines when the file is not the one
    /// last written (then only a full read may write it: a merge assumes the file last written), hands their problems to
    /// <paramref name="reportProblems"/>, and refuses while there are any: the broker would refuse the file (a 2.1 broker
    /// exits on a bad passwd file at reload, and no broker loads an acl_file with a line it does not understand), so the
    /// replies wait instead.
    /// </summary>
    /// <exception cref="ProjectedFileChangedException">the file changed and this is not a full read.</exception>
    /// <exception cref="InvalidDataException">an operator's line would be refused by the broker.</exception>
    public async Task PrepareWriteAsync(string path, string fileName, bool fullRead, Action<IReadOnlyList<string>> reportProblems, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reportProblems);
        if (IsStale(path))
        {
            if (!fullRead)
            {
                throw new ProjectedFileChangedException(path);
            }

            await LoadAsync(path, cancellationToken);
            reportProblems(Problems);
        }

        if (Problems.Count > 0)
        {
            throw new InvalidDataException(
                $"The {fileName} {path} has lines the broker would refuse ({string.Join("; ", Problems)}); fix them, the worker retries.");
        }
    }

    /// <summary>
    /// Takes the operators' lines of the file at <paramref name="path"/> (missing: none), reading it line by line so
    /// that a file of a million devices is never held whole in memory.
    /// </summary>
    public abstract Task LoadAsync(string path, CancellationToken cancellationToken);
}
