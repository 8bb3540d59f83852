using Provisioning.Worker.Configuration;
using Provisioning.Worker.Topics;

namespace Provisioning.Worker.Projection;

/// <summary>
/// The acl_file as a projection: the operators' lines (kept byte for byte), the probe's block with this cycle's
/// topic and the <c>pattern</c> lines of the rules that have one, then one block per active device for the rules
/// that need one. Written like the passwd file (<see cref="ProjectedFile"/>); between full rebuilds only the changed
/// devices' blocks are rewritten (<see cref="DeviceLines"/>).
/// </summary>
public sealed partial class AclProjection(MosquittoOptions options, TopicRules rules, ProjectionStatus status, TimeProvider clock, ILogger logger)
    : ProjectedFile(options.AclFile, options.FileMode, "acl_file", new OperatorAclLines(options.ProbeUsername), clock)
{
    private const int FlushAt = 1 << 16;
    private readonly byte[] _patternLines = rules.PatternLines();
    private readonly bool _hasBlocks = rules.BlockRules.Any();

    protected override byte[] Header(ProbeCredential probe) => [.. probe.AclBlock(), .. _patternLines];

    protected override async Task<int> WriteAllAsync(DeviceChanges devices, Stream output, CancellationToken cancellationToken)
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

    protected override DeviceLines Changes(DeviceChanges devices)
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

        return blocks;
    }

    protected override void ReportProblems(IReadOnlyList<string> problems)
    {
        status.OperatorAclProblems(problems);
        foreach (var problem in problems)
        {
            Log.OperatorLineProblem(logger, options.AclFile, problem);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 204, Level = LogLevel.Error, Message = "acl_file {AclFile}: an operator's line would be refused by the broker: {Problem}")]
        public static partial void OperatorLineProblem(ILogger logger, string aclFile, string problem);
    }
}
