using Provisioning.Worker.Configuration;
using Provisioning.Worker.Devices;
using Provisioning.Worker.Projection;
using Provisioning.Worker.Topics;

namespace Provisioning.Worker.Mosquitto;

/// <summary>
/// The acl_file as a projection: the operators' lines (kept byte for byte), the probe's block with this cycle's
/// topic and the <c>pattern</c> lines of the rules that have one, then a block for each active device that needs one
/// (<see cref="TopicRules.NeedsBlock"/>: rules that are no pattern, or a username of the earlier form). With only
/// pattern rules the file changes only when the rules, the operators' lines or an earlier-form device change: a cycle
/// whose changed devices have no block here leaves it alone, and the reload then proves only the passwd file.
/// Written like the passwd file (<see cref="ProjectedFile"/>); between full rebuilds only the changed devices' blocks
/// are rewritten (<see cref="DeviceLines"/>).
/// </summary>
public sealed partial class AclProjection(BrokerTargetOptions options, TopicRules rules, ProjectionStatus status, TimeProvider clock, ILogger logger)
    : ProjectedFile(options.AclFile, options.FileMode, "acl_file", new OperatorAclLines(options.ProbeUsername), clock)
{
    private const int FlushAt = 1 << 16;
    private readonly byte[] _patternLines = rules.PatternLines();
    private readonly bool _everyDeviceHasABlock = rules.BlockRules.Count > 0;

    /// <summary>
    /// The devices (canonical usernames) with a block in the file although every rule is a pattern: those of the earlier
    /// username form. It only shrinks as they register again, and is rebuilt at every full write.
    /// </summary>
    private readonly HashSet<string> _earlierFormBlocks = new(StringComparer.Ordinal);

    protected override bool RewrittenEveryCycle => false;

    protected override byte[] Header(ProbeCredential probe) => [.. probe.AclBlock(), .. _patternLines];

    protected override async Task<int> WriteAllAsync(DeviceChanges devices, Stream output, CancellationToken cancellationToken)
    {
        _earlierFormBlocks.Clear();
        using var buffer = new MemoryStream(FlushAt * 2);
        await foreach (var username in devices.AllUsernamesAsync(cancellationToken))
        {
            if (!rules.NeedsBlock(username))
            {
                continue;
            }

            Track(DeviceIdentity.CanonicalUsername(username), hasBlock: true);
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
        foreach (var (username, hash) in devices.Changed)
        {
            var canonical = DeviceIdentity.CanonicalUsername(username);
            if (!rules.NeedsBlock(username) && !_earlierFormBlocks.Contains(canonical))
            {
                continue; // neither had a block here nor gets one: nothing of this file changes
            }

            var needsBlock = hash is not null && rules.NeedsBlock(username);
            if (needsBlock)
            {
                blocks.SetRecord(username, rules.DeviceBlock(username));
            }
            else
            {
                blocks.Remove(username);
            }

            Track(canonical, needsBlock);
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

    private void Track(string canonical, bool hasBlock)
    {
        if (_everyDeviceHasABlock)
        {
            return;
        }

        if (hasBlock)
        {
            _earlierFormBlocks.Add(canonical);
        }
        else
        {
            _earlierFormBlocks.Remove(canonical);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 204, Level = LogLevel.Error, Message = "acl_file {AclFile}: an operator's line would be refused by the broker: {Problem}")]
        public static partial void OperatorLineProblem(ILogger logger, string aclFile, string problem);
    }
}
