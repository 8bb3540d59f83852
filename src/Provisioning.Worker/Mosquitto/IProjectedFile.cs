using Provisioning.Worker.Projection;

namespace Provisioning.Worker.Mosquitto;

/// <summary>
/// A file Mosquitto reads that the projection renders from the database: the passwd file, the acl_file. A cycle
/// writes every projected file, then reloads the broker once and proves that all of them are in effect.
/// </summary>
public interface IProjectedFile
{
    /// <summary>What the file is, for messages.</summary>
    string Name { get; }

    /// <summary>True when the file on disk may hold lines this instance has not seen (first run, an operator's edit, another instance).</summary>
    bool IsStale { get; }

    /// <summary>
    /// Under the file's lock: writes the file from <paramref name="devices"/> (every active device, or the changes
    /// merged into the previous file) with the cycle's <paramref name="probe"/>, after <paramref name="confirmLeader"/>.
    /// Throws <see cref="ProjectedFileChangedException"/> when an incremental write finds the file changed underneath.
    /// Returns whether the file was written (a file whose records did not change may be left alone) and the devices it holds.
    /// </summary>
    Task<FileWrite> WriteAsync(DeviceChanges devices, ProbeCredential probe, Func<CancellationToken, Task> confirmLeader, CancellationToken cancellationToken);

    /// <summary>After a failure: the file can no longer be trusted to be what this instance last wrote.</summary>
    void Forget();
}

/// <summary>Someone else wrote a projected file between the cycle's read and its write: the cycle starts again with a full read.</summary>
public sealed class ProjectedFileChangedException(string path)
    : Exception($"{path} changed since the projection read the database; it is rebuilt from a full read.");

/// <summary>What a cycle did to one file: Written false when it left the file as it was; Devices, the records written.</summary>
public readonly record struct FileWrite(bool Written, int Devices)
{
    public static readonly FileWrite Unchanged = new(false, 0);
}
