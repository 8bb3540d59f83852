using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Provisioning.Worker.Devices;

namespace Provisioning.Worker.Cli;

/// <summary>The actions of <see cref="DevicesCommand"/>, one instance per invocation: what each verb does with the configuration and the console it was given.</summary>
internal sealed class DeviceQueries(IConfiguration configuration, TextWriter stdout, TextWriter stderr)
{
    public async Task<int> ShowAsync(string tenantId, string deviceId, bool json, double timeoutSeconds, CancellationToken ct)
    {
        if (await CheckIdsAsync(("tenantId", tenantId), ("deviceId", deviceId)) is { } bad)
        {
            return bad;
        }

        return await WithDatabaseAsync("provisioning devices show", timeoutSeconds, async database =>
        {
            var found = await database.ReadAsync(
                async (db, token) =>
                {
                    var record = await DevicesCommand.Records(db.Devices.Where(d => d.TenantId == tenantId && d.DeviceId == deviceId)).SingleOrDefaultAsync(token);
                    if (record is null)
                    {
                        return null;
                    }

                    var replies = await db.Outbox
                        .Where(o => o.TenantId == tenantId && o.DeviceId == deviceId)
                        .OrderBy(o => o.Id)
                        .Select(o => new PendingReplyRecord(o.Id, o.MessageType, o.CreatedAt, o.AwaitsBroker, o.Attempts, o.NextAttemptAt, o.LastError))
                        .ToListAsync(token);
                    return DeviceReport.Of(record, await DevicesCommand.CheckpointOfTenantAsync(db, tenantId, token), replies, DevicesCommand.TopicsOf(record, configuration));
                },
                ct);

            if (found is null)
            {
                if (json)
                {
                    await stdout.WriteLineAsync("null");
                }

                await stderr.WriteLineAsync($"error: device {tenantId}/{deviceId} is not in {database.Server}: the worker has never seen an event for it.");
                return CommandExitCodes.NotFound;
            }

            await stdout.WriteAsync(json ? JsonSerializer.Serialize(found, DevicesCommand.Json) + "\n" : DeviceReportText.Show(found));
            return CommandExitCodes.Success;
        });
    }

    public async Task<int> ListAsync(string? tenantId, string? status, int limit, bool json, double timeoutSeconds, CancellationToken ct)
    {
        if (tenantId is not null && await CheckIdsAsync(("--tenant", tenantId)) is { } bad)
        {
            return bad;
        }

        DeviceStatus? wanted = status switch
        {
            "active" => DeviceStatus.Active,
            "deleted" => DeviceStatus.Deleted,
            _ => null,
        };

        return await WithDatabaseAsync("provisioning devices list", timeoutSeconds, async database =>
        {
            var (summaries, more) = await database.ReadAsync(
                async (db, token) =>
                {
                    var devices = db.Devices.AsQueryable();
                    if (tenantId is not null)
                    {
                        devices = devices.Where(d => d.TenantId == tenantId);
                    }

                    if (wanted is { } s)
                    {
                        devices = devices.Where(d => d.Status == s);
                    }

                    var rows = await devices
                        .OrderBy(d => d.TenantId).ThenBy(d => d.DeviceId)
                        .Take(limit + 1)
                        .Select(d => new
                        {
                            Record = new DeviceRecord(d.TenantId, d.DeviceId, d.Username, d.Status, d.RegisteredAt, d.DeletedAt, d.UpdatedAt, d.ChangedXid),
                            Pending = db.Outbox.Count(o => o.TenantId == d.TenantId && o.DeviceId == d.DeviceId),
                        })
                        .ToListAsync(token);
                    var checkpoint = await DevicesCommand.CheckpointOfTenantAsync(db, tenantId ?? string.Empty, token);
                    return (rows.Take(limit).Select(r => DeviceSummary.Of(r.Record, checkpoint, r.Pending)).ToList(), rows.Count > limit);
                },
                ct);

            await stdout.WriteAsync(json ? JsonSerializer.Serialize(summaries, DevicesCommand.Json) + "\n" : DeviceReportText.List(summaries));
            if (more)
            {
                await stderr.WriteLineAsync($"note: more devices match; only the first {limit} are shown (--limit).");
            }

            if (summaries.Count == 0)
            {
                await stderr.WriteLineAsync($"note: no device matches in {database.Server}.");
                return CommandExitCodes.NotFound;
            }

            return CommandExitCodes.Success;
        });
    }

    /// <summary>Bad ids are named with the rule they break (Devices/DeviceIdentity.cs), before any connection is made.</summary>
    private async Task<int?> CheckIdsAsync(params (string Field, string Value)[] ids)
    {
        var problems = ids.Select(id => DeviceIdentity.Problem(id.Field, id.Value)).OfType<string>().ToList();
        foreach (var problem in problems)
        {
            await stderr.WriteLineAsync($"error: {problem}.");
        }

        return problems.Count > 0 ? CommandExitCodes.BadInput : null;
    }

    private Task<int> WithDatabaseAsync(string applicationName, double timeoutSeconds, Func<OperatorDatabase, Task<int>> action) =>
        CommandRunner.WithDatabaseAsync(configuration, stderr, applicationName, timeoutSeconds, action);
}
