using Provisioning.Worker.Configuration;
using Provisioning.Worker.Passwd;

namespace Provisioning.Worker.Projection;

/// <summary>
/// The passwd file as a projection: the operators' lines (kept byte for byte), the probe's line, then one line per
/// active device. Between full rebuilds only the changed devices' lines are rewritten (<see cref="DeviceLines"/>).
/// </summary>
public sealed partial class PasswdProjection(MosquittoOptions options, ProjectionStatus status, TimeProvider clock, ILogger logger) : IProjectedFile
{
    private readonly PasswdFileStore _store = new(options.PasswdFile, options.FileMode, clock);
    private readonly OperatorLines _operatorLines = new(options.ProbeUsername);

    /// <summary>Bytes before the first device line in the file last written (operator lines, probe line).</summary>
    private long _headerLength;

    public string Name => $"passwd file {options.PasswdFile}";

    public bool IsStale => _operatorLines.IsStale(options.PasswdFile);

    public async Task<int> WriteAsync(DeviceChanges devices, ProbeCredential probe, Func<CancellationToken, Task> confirmLeader, CancellationToken cancellationToken)
    {
        var probeLine = probe.PasswdLine();
        var written = 0;
        await using var fileLock = await _store.LockAsync(cancellationToken);
        await _operatorLines.PrepareWriteAsync(options.PasswdFile, "passwd file", devices.IsFull, ReportProblems, cancellationToken);
        await confirmLeader(cancellationToken);
        await fileLock.ReplaceAsync(
            async (stream, ct) =>
            {
                await stream.WriteAsync(_operatorLines.Content, ct);
                await stream.WriteAsync(probeLine, ct);
                if (devices.IsFull)
                {
                    await devices.CopyAllLinesToAsync(stream, ct);
                    written = devices.Count;
                    return;
                }

                var lines = new DeviceLines();
                foreach (var (username, hash) in devices.Changed)
                {
                    if (hash is null)
                    {
                        lines.Remove(username);
                    }
                    else
                    {
                        lines.Set(username, hash);
                    }
                }

                await using var previous = new FileStream(
                    options.PasswdFile,
                    new FileStreamOptions { Mode = FileMode.Open, Access = FileAccess.Read, Share = FileShare.ReadWrite, BufferSize = 0 });
                written = await lines.MergeAsync(previous, _headerLength, stream, ct);
            },
            cancellationToken);
        _operatorLines.Written(options.PasswdFile);
        _headerLength = _operatorLines.Content.Length + probeLine.Length;
        return written;
    }

    private void ReportProblems(IReadOnlyList<string> problems)
    {
        status.OperatorLineProblems(problems);
        foreach (var problem in problems)
        {
            Log.OperatorLineProblem(logger, options.PasswdFile, problem);
        }
    }

    public void Forget() => _operatorLines.Forget();

    private static partial class Log
    {
        [LoggerMessage(EventId = 203, Level = LogLevel.Error, Message = "Passwd file {PasswdFile}: an operator's line would be refused by the broker: {Problem}")]
        public static partial void OperatorLineProblem(ILogger logger, string passwdFile, string problem);
    }
}
