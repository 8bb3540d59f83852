using Provisioning.Worker.Projection;

namespace Provisioning.Worker.Mosquitto;

/// <summary>
/// How every projected file is written: under its lock, the operators' lines checked (and read again after someone
/// else wrote the file), leadership confirmed, then replaced whole (<see cref="PasswdFileStore"/>: temp file, fsync,
/// rename, mode) with the operators' lines, this file's header and its device records — all of them after a full
/// read, or the previous file's records with the changes merged in. A subclass says what its header and records are.
/// </summary>
public abstract class ProjectedFile(string path, UnixFileMode fileMode, string fileName, OperatorFileLines operatorLines, TimeProvider clock) : IProjectedFile
{
    private readonly PasswdFileStore _store = new(path, fileMode, clock);

    /// <summary>Bytes before the first device record in the file last written (operators' lines and header).</summary>
    private long _headerLength;

    public string Name => $"{fileName} {path}";

    public bool IsStale => operatorLines.IsStale(path);

    public async Task<FileWrite> WriteAsync(DeviceChanges devices, ProbeCredential probe, Func<CancellationToken, Task> confirmLeader, CancellationToken cancellationToken)
    {
        var changes = devices.IsFull ? null : Changes(devices);
        if (changes is { Count: 0 } && !RewrittenEveryCycle)
        {
            return FileWrite.Unchanged;
        }

        var header = Header(probe);
        var written = 0;
        await using var fileLock = await _store.LockAsync(cancellationToken);
        await operatorLines.PrepareWriteAsync(path, fileName, devices.IsFull, ReportProblems, cancellationToken);
        await confirmLeader(cancellationToken);
        await fileLock.ReplaceAsync(
            async (stream, ct) =>
            {
                await stream.WriteAsync(operatorLines.Content, ct);
                await stream.WriteAsync(header, ct);
                if (changes is null)
                {
                    written = await WriteAllAsync(devices, stream, ct);
                    return;
                }

                await using var previous = new FileStream(
                    path,
                    new FileStreamOptions { Mode = FileMode.Open, Access = FileAccess.Read, Share = FileShare.ReadWrite, BufferSize = 0 });
                written = await changes.MergeAsync(previous, _headerLength, stream, ct);
            },
            cancellationToken);
        operatorLines.Written(path);
        _headerLength = operatorLines.Content.Length + header.Length;
        return new FileWrite(true, written);
    }

    public void Forget() => operatorLines.Forget();

    /// <summary>
    /// True when the file is written at every cycle that changes devices, even when none of its own records changed: the
    /// passwd file carries the probe's new password, which proves the reload. The acl_file is left alone then.
    /// </summary>
    protected virtual bool RewrittenEveryCycle => true;

    /// <summary>What follows the operators' lines and precedes the device records: the probe's entry, fixed lines.</summary>
    protected abstract byte[] Header(ProbeCredential probe);

    /// <summary>Every active device's record, after a full read; the number of devices the file now holds.</summary>
    protected abstract Task<int> WriteAllAsync(DeviceChanges devices, Stream output, CancellationToken cancellationToken);

    /// <summary>The changed devices' records (set or removed) that concern this file, to merge into the previous file's.</summary>
    protected abstract DeviceLines Changes(DeviceChanges devices);

    /// <summary>Operators' lines the broker would refuse: recorded for health, logged.</summary>
    protected abstract void ReportProblems(IReadOnlyList<string> problems);
}
