using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Provisioning.Worker.Configuration;
using Provisioning.Worker.Devices;
using Provisioning.Worker.Mosquitto;
using Provisioning.Worker.Topics;

namespace Provisioning.Worker.Cli;

/// <summary>What <c>passwd verify --json</c> prints.</summary>
public sealed record PasswdVerifyReport(
    string File,
    bool FileExists,
    string Database,
    CheckpointRecord? Checkpoint,
    bool InStep,
    int FileDeviceLines,
    int ActiveDevices,
    int OtherIterationLines,
    int EarlierFormLines,
    IReadOnlyDictionary<string, int> Counts,
    IReadOnlyList<DriftItem> Drift,
    AclVerifyReport? AclFile);

/// <summary>
/// <c>passwd verify</c>: the device lines of the passwd file against the database (<see cref="PasswdDrift"/>), and with
/// <c>Mosquitto:AclFile</c> set the device blocks of the acl_file against the configured rules (<see cref="AclDrift"/>). Exit 0 in
/// step, 1 on drift, 2 bad configuration or an unreadable file, 3 the database unusable.
/// </summary>
internal static class PasswdVerification
{
    public static async Task<int> RunAsync(IConfiguration configuration, BrokerTargetOptions target, DeviceCredentialOptions credentials, bool json, TimeSpan timeout, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        DatabaseOptions databaseOptions;
        try
        {
            databaseOptions = CommandOptions.Read<DatabaseOptions>(configuration);
        }
        catch (InvalidConfigurationException e)
        {
            await e.WriteToAsync(stderr);
            return CommandExitCodes.BadInput;
        }

        try
        {
            await using var database = OperatorDatabase.Open(databaseOptions, "provisioning passwd verify", timeout, TimeProvider.System);

            // The checkpoint, then the file, then the rows: the file holds at least every change below that checkpoint's
            // xmin, so whatever else differs is marked unconfirmed rather than blamed on the file.
            var broker = configuration.GetSection(AgentOptions.SectionName).Get<AgentOptions>()?.Broker ?? Brokers.BrokerGroups.DefaultBroker;
            var checkpoint = await database.ReadAsync((db, token) => DevicesCommand.CheckpointOfBrokerAsync(db, broker, token), ct);
            var file = await ReadFileAsync(target.PasswdFile, ct);
            var drift = new PasswdDrift(file, checkpoint?.AppliedXmin, credentials.HashIterations);
            var acl = target.ManagesTopics
                ? new AclDrift(await ReadBytesAsync(target.AclFile, ct), TopicRules.Parse(credentials.EffectiveDeviceTopics), checkpoint?.AppliedXmin)
                : null;
            await database.ReadAsync(
                async (db, token) =>
                {
                    // Beside an agent the files hold its group's devices only (Brokers/TenantPlacements.cs): the other
                    // groups' tenants are not drift.
                    var group = configuration.GetSection(AgentOptions.SectionName).Get<AgentOptions>()?.Group ?? Brokers.BrokerGroups.Default;
                    var elsewhere = await db.Database
                        .SqlQuery<string>($"SELECT tenant_id AS \"Value\" FROM tenant_placements WHERE group_name <> {group}")
                        .ToListAsync(token);
                    var rows = db.Devices
                        .Where(d => !elsewhere.Contains(d.TenantId))
                        .Select(d => new DeviceLineSource(d.Username, d.Status == DeviceStatus.Active, d.PasswordHash, d.ChangedXid))
                        .AsAsyncEnumerable();
                    await foreach (var row in rows.WithCancellation(token))
                    {
                        drift.Add(row);
                        acl?.Add(row);
                    }

                    return drift;
                },
                ct);
            drift.Finish();
            acl?.Finish();

            var report = new PasswdVerifyReport(
                target.PasswdFile,
                file is not null,
                database.Server,
                checkpoint,
                drift.InStep && acl?.InStep != false,
                drift.FileDeviceLines,
                drift.ActiveDevices,
                drift.OtherIterationLines,
                drift.EarlierFormLines,
                drift.Counts(),
                drift.Items,
                acl?.Report(target.AclFile));
            await stdout.WriteAsync(json ? JsonSerializer.Serialize(report, DevicesCommand.Json) + "\n" : Text(report));
            return report.InStep ? CommandExitCodes.Success : CommandExitCodes.NotFound;
        }
        catch (DatabaseUnavailableException e)
        {
            await stderr.WriteLineAsync($"error: {e.Message}");
            return CommandExitCodes.Unavailable;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            await stderr.WriteLineAsync($"error: cannot read {target.PasswdFile} or the acl_file: {e.Message}");
            return CommandExitCodes.BadInput;
        }
    }

    private static async Task<PasswdFile?> ReadFileAsync(string path, CancellationToken ct) =>
        await ReadBytesAsync(path, ct) is { } bytes ? PasswdFile.Parse(bytes) : null;

    private static async Task<byte[]?> ReadBytesAsync(string path, CancellationToken ct)
    {
        // No lock needed: both files are only ever replaced by rename.
        try
        {
            return await File.ReadAllBytesAsync(path, ct);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
    }

    internal static string Text(PasswdVerifyReport report)
    {
        var text = new StringBuilder();
        var checkpoint = report.Checkpoint is { } c
            ? $"checkpoint {DevicesCommand.Time(c.AppliedAt)}, xmin {c.AppliedXmin}"
            : "no projection checkpoint: unconfirmed changes cannot be told apart";
        text.Append(CultureInfo.InvariantCulture, $"passwd verify: {report.File}{(report.FileExists ? string.Empty : " (does not exist)")} against {report.Database} ({checkpoint})\n");
        foreach (var item in report.Drift)
        {
            var flag = item.Unconfirmed && item.Kind != PasswdDrift.Unconfirmed ? " (unconfirmed: changed at or after the checkpoint)" : string.Empty;
            text.Append(CultureInfo.InvariantCulture, $"{item.Kind,-12} {item.Username ?? "-",-30} {item.Detail}{flag}\n");
        }

        var passwdInStep = report.Drift.Count == 0;
        var totals = $"{report.FileDeviceLines} device line{Plural(report.FileDeviceLines)} in the file, {report.ActiveDevices} active device{Plural(report.ActiveDevices)} in the database";
        text.Append(passwdInStep
            ? $"in step: {totals}.\n"
            : $"not in step: {string.Join(", ", report.Counts.Select(c => $"{c.Value} {c.Key}"))}; {totals}.\n");
        if (report.OtherIterationLines > 0 || report.EarlierFormLines > 0)
        {
            // Not drift: both are what the device was issued, and change at its next registration.
            text.Append(CultureInfo.InvariantCulture, $"{report.OtherIterationLines} device line{Plural(report.OtherIterationLines)} with another hash iteration count than Mosquitto:HashIterations, {report.EarlierFormLines} of the earlier username form tenant.device: each changes at the device's next registration.\n");
        }

        if (report.AclFile is not { } acl)
        {
            text.Append("acl_file: not compared (Mosquitto:AclFile is not set: topic access is not restricted).\n");
            return text.ToString();
        }

        foreach (var item in acl.Drift)
        {
            var flag = item.Unconfirmed ? " (unconfirmed: changed at or after the checkpoint)" : string.Empty;
            text.Append(CultureInfo.InvariantCulture, $"acl {item.Kind,-8} {item.Username ?? "-",-30} {item.Detail}{flag}\n");
        }

        var blocks = $"{acl.FileDeviceBlocks} device block{Plural(acl.FileDeviceBlocks)}";
        text.Append(acl.InStep
            ? $"acl_file {acl.File} in step: {blocks}.\n"
            : $"acl_file {acl.File}{(acl.FileExists ? string.Empty : " (does not exist)")} not in step: {string.Join(", ", acl.Counts.Select(c => $"{c.Value} {c.Key}"))}; {blocks}.\n");
        return text.ToString();
    }

    private static string Plural(int n) => n == 1 ? string.Empty : "s";
}
