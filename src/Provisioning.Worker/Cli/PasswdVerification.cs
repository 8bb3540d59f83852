using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Provisioning.Worker.Configuration;
using Provisioning.Worker.Devices;
using Provisioning.Worker.Passwd;

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
    IReadOnlyDictionary<string, int> Counts,
    IReadOnlyList<DriftItem> Drift,
    string? AclFile);

/// <summary>
/// <c>passwd verify</c>: the device lines of the passwd file against the database (<see cref="PasswdDrift"/>). Exit 0 in
/// step, 1 on drift, 2 bad configuration or an unreadable file, 3 the database unusable.
/// </summary>
internal static class PasswdVerification
{
    public static async Task<int> RunAsync(IConfiguration configuration, MosquittoOptions mosquitto, bool json, TimeSpan timeout, TextWriter stdout, TextWriter stderr, CancellationToken ct)
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
            var checkpoint = await database.ReadAsync(DevicesCommand.CheckpointAsync, ct);
            var file = await ReadFileAsync(mosquitto.PasswdFile, ct);
            var drift = new PasswdDrift(file, checkpoint?.AppliedXmin);
            await database.ReadAsync(
                async (db, token) =>
                {
                    var rows = db.Devices
                        .Select(d => new DeviceLineSource(d.Username, d.Status == DeviceStatus.Active, d.PasswordHash, d.ChangedXid))
                        .AsAsyncEnumerable();
                    await foreach (var row in rows.WithCancellation(token))
                    {
                        drift.Add(row);
                    }

                    return drift;
                },
                ct);
            drift.Finish();

            // SEAM (topic authorization): with Mosquitto:AclFile set, the acl_file is compared here too (each active
            // device's rules, nothing for others); until then the report says it was not compared.
            var report = new PasswdVerifyReport(
                mosquitto.PasswdFile, file is not null, database.Server, checkpoint, drift.InStep, drift.FileDeviceLines, drift.ActiveDevices, drift.Counts(), drift.Items, AclFile: null);
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
            await stderr.WriteLineAsync($"error: cannot read {mosquitto.PasswdFile}: {e.Message}");
            return CommandExitCodes.BadInput;
        }
    }

    private static async Task<PasswdFile?> ReadFileAsync(string path, CancellationToken ct)
    {
        // No lock needed: the file is only ever replaced by rename.
        try
        {
            return PasswdFile.Parse(await File.ReadAllBytesAsync(path, ct));
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

        var totals = $"{report.FileDeviceLines} device line{Plural(report.FileDeviceLines)} in the file, {report.ActiveDevices} active device{Plural(report.ActiveDevices)} in the database";
        text.Append(report.InStep
            ? $"in step: {totals}.\n"
            : $"not in step: {string.Join(", ", report.Counts.Select(c => $"{c.Value} {c.Key}"))}; {totals}.\n");
        text.Append("acl_file: not compared (topic authorization is not part of this build).\n");
        return text.ToString();
    }

    private static string Plural(int n) => n == 1 ? string.Empty : "s";
}
