using Provisioning.Worker.Configuration;
using Provisioning.Worker.Projection;

namespace Provisioning.Worker.Mosquitto;

/// <summary>
/// The passwd file as a projection: the operators' lines (kept byte for byte), the probe's line, then one line per
/// active device. Between full rebuilds only the changed devices' lines are rewritten (<see cref="DeviceLines"/>).
/// </summary>
public sealed partial class PasswdProjection(BrokerTargetOptions options, ProjectionStatus status, TimeProvider clock, ILogger logger)
    : ProjectedFile(options.PasswdFile, options.FileMode, "passwd file", new OperatorLines(options.ProbeUsername), clock)
{
    protected override byte[] Header(ProbeCredential probe) => probe.PasswdLine();

    protected override async Task<int> WriteAllAsync(DeviceChanges devices, Stream output, CancellationToken cancellationToken)
    {
        await devices.CopyAllLinesToAsync(output, cancellationToken);
        return devices.Count;
    }

    protected override DeviceLines Changes(DeviceChanges devices)
    {
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

        return lines;
    }

    protected override void ReportProblems(IReadOnlyList<string> problems)
    {
        status.OperatorLineProblems(problems);
        foreach (var problem in problems)
        {
            Log.OperatorLineProblem(logger, options.PasswdFile, problem);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 203, Level = LogLevel.Error, Message = "Passwd file {PasswdFile}: an operator's line would be refused by the broker: {Problem}")]
        public static partial void OperatorLineProblem(ILogger logger, string passwdFile, string problem);
    }
}
