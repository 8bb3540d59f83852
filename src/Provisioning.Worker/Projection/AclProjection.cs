using Provisioning.Worker.Configuration;
using Provisioning.Worker.Passwd;
using Provisioning.Worker.Topics;

namespace Provisioning.Worker.Projection;

/// <summary>
/// The acl_file as a projection: the operators' lines (kept byte for byte), the probe's block with this cycle's
/// topic and the <c>pattern</c> lines of the rules that have one, then one block per active device for the rules
/// that need one. Written like the passwd file (<see cref="PasswdFileStore"/>: lock, temp file, fsync, rename, mode);
/// between full rebuilds only the changed devices' blocks are rewritten (<see cref="DeviceLines"/>).
/// </summary>
public sealed partial class AclProjection(MosquittoOptions options, TopicRules rules, ProjectionStatus status, TimeProvider clock, ILogger logger) : IProjectedFile
{
    private const int FlushAt = 1 << 16;
    private readonly PasswdFileStore _store = new(options.AclFile, options.FileMode, clock);
    private readonly OperatorAclLines _operatorLines = new(options.ProbeUsername);
    private readonly byte[] _patternLines = rules.PatternLines();
    private readonly bool _hasBlocks = rules.BlockRules.Any();

    /// <summary>Bytes before the first device block in the file last written.</summary>
    private long _headerLength;

    public string Name => $"acl_file {options.AclFile}";

    public bool IsStale => _operatorLines.IsStale(options.AclFile);

    public async Task<int> WriteAsync(DeviceChanges devices, ProbeCredential probe, Func<CancellationToken, Task> confirmLeader, CancellationToken cancellationToken)
    {
        var probeBlock = probe.AclBlock();
        var written = 0;
        await using var fileLock = await _store.LockAsync(cancellationToken);
        await _operatorLines.PrepareWriteAsync(options.AclFile, "acl_file", devices.IsFull, ReportProblems, cancellationToken);
        await confirmLeader(cancellationToken);
        await fileLock.ReplaceAsync(
            async (stream, ct) =>
            {
                await stream.WriteAsync(_operatorLines.Content, ct);
                await stream.WriteAsync(probeBlock, ct);
                await stream.WriteAsync(_patternLines, ct);
                written = devices.IsFull ? await WriteAllAsync(devices, stream, ct) : await MergeAsync(devices, stream, ct);
            },
            cancellationToken);
        _operatorLines.Written(options.AclFile);
        _headerLength = _operatorLines.Content.Length + probeBlock.Length + _patternLines.Length;
        return written;
    }

    private void ReportProblems(IReadOnlyList<string> problems)
    {
        status.OperatorAclProblems(problems);
        foreach (var problem in problems)
        {
            Log.OperatorLineProblem(logger, options.AclFile, problem);
        }
    }

    public void Forget() => _operatorLines.Forget();

    private async Task<int> WriteAllAsync(DeviceChanges devices, Stream output, CancellationToken cancellationToken)
    {
        if (!_hasBlocks)
        {
            return devices.Count;
        }

        using var buffer = new MemoryStream(FlushAt * 2);
        await foreach (var username in devices.AllUsernamesAsync(cancellationToken))
        {
            buffer.Write(rules.DeviceBlock(username));
            if (buffer.Length >= FlushAt)
            {
                await output.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), cancellationToken);
                buffer.SetLength(0);
            }
        }

        await output.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), cancellationToken);
        return devices.Count;
    }

    private async Task<int> MergeAsync(DeviceChanges devices, Stream output, CancellationToken cancellationToken)
    {
        var blocks = new DeviceLines(DeviceRecordFormat.AclBlock);
        if (_hasBlocks)
        {
            foreach (var (username, hash) in devices.Changed)
            {
                if (hash is null)
                {
                    blocks.Remove(username);
                }
                else
                {
                    blocks.SetRecord(username, rules.DeviceBlock(username));
                }
            }
        }

        await using var previous = new FileStream(
            options.AclFile,
            new FileStreamOptions { Mode = FileMode.Open, Access = FileAccess.Read, Share = FileShare.ReadWrite, BufferSize = 0 });
        return await blocks.MergeAsync(previous, _headerLength, output, cancellationToken);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 204, Level = LogLevel.Error, Message = "acl_file {AclFile}: an operator's line would be refused by the broker: {Problem}")]
        public static partial void OperatorLineProblem(ILogger logger, string aclFile, string problem);
    }
}
