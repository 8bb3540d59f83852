using System.CommandLine;
using System.CommandLine.Help;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.EntityFrameworkCore;
using Provisioning.Contracts;
using Provisioning.Worker.Configuration;
using Provisioning.Worker.Devices;
using Provisioning.Worker.Persistence;
using Provisioning.Worker.Projection;
using Provisioning.Worker.Topics;

namespace Provisioning.Worker.Cli;

/// <summary>
/// <c>devices show &lt;tenant&gt; &lt;device&gt;</c> and <c>devices list</c>: what the worker's database says about a
/// device — status and times, the current credential's issue time (never a hash or password), replies still waiting
/// and for what, whether the broker runs with its latest change. Read-only. Exit codes: <see cref="CommandExitCodes"/>.
/// </summary>
public static class DevicesCommand
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 100_000;

    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.Never };

    private const string Usage = "usage: devices show <tenant> <device> | list [--tenant <t>] [--status active|deleted] [--limit <n>]   [--json] [--timeout <seconds>]   (--help for more)";

    public static async Task<int> RunAsync(string[] args, IConfiguration configuration, TextReader stdin, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);

        var json = new Option<bool>("--json") { Description = "Print JSON for scripts instead of text.", Recursive = true };
        var timeout = TimeoutOption();
        var tenant = new Argument<string>("tenant") { Description = "The tenant id." };
        var device = new Argument<string>("device") { Description = "The device id." };
        var tenantFilter = new Option<string?>("--tenant") { Description = "Only this tenant's devices." };
        var status = new Option<string?>("--status") { Description = "Only active or only deleted devices." };
        status.AcceptOnlyFromAmong("active", "deleted");
        var limit = new Option<int>("--limit") { Description = $"At most this many devices (default {DefaultLimit}).", DefaultValueFactory = _ => DefaultLimit };
        limit.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() is < 1 or > MaxLimit)
            {
                result.AddError($"--limit must be between 1 and {MaxLimit}.");
            }
        });

        var show = new Command("show", "One device: status and times, username, topics, when its credential was issued, pending replies and what each waits for, whether the broker has applied its latest change.")
        {
            tenant, device,
        };
        var list = new Command("list", "Devices in tenant/device order, one line each; exit 1 when none matches.") { tenantFilter, status, limit };
        var root = new Command("devices", "What the worker's database says about devices (ConnectionStrings:Provisioning from appsettings.json beside the worker and the environment).")
        {
            show, list, new HelpOption(),
        };
        root.Options.Add(json);
        root.Options.Add(timeout);

        var session = new Session(configuration, stdout, stderr);
        show.SetAction((result, token) => session.ShowAsync(result.GetRequiredValue(tenant), result.GetRequiredValue(device), result.GetValue(json), result.GetValue(timeout), token));
        list.SetAction((result, token) => session.ListAsync(result.GetValue(tenantFilter), result.GetValue(status), result.GetValue(limit), result.GetValue(json), result.GetValue(timeout), token));

        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var error in parsed.Errors)
            {
                await stderr.WriteLineAsync($"error: {error.Message}");
            }

            await stderr.WriteLineAsync(Usage);
            return CommandExitCodes.BadInput;
        }

        return await parsed.InvokeAsync(new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false }, ct);
    }

    /// <summary><c>--timeout &lt;seconds&gt;</c>: the bound on every database read (connect included); shared with <c>passwd verify</c>.</summary>
    internal static Option<double> TimeoutOption()
    {
        var timeout = new Option<double>("--timeout")
        {
            Description = $"Give up on the database after this many seconds (default {OperatorDatabase.DefaultTimeout.TotalSeconds}); exit 3.",
            DefaultValueFactory = _ => OperatorDatabase.DefaultTimeout.TotalSeconds,
            Recursive = true,
        };
        timeout.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<double>() is not (>= 1 and <= 3600))
            {
                result.AddError("--timeout must be between 1 and 3600 seconds.");
            }
        });
        return timeout;
    }

    /// <summary>The device's topics as the worker tells them (empty when topic authorization is off), from the same configuration.</summary>
    internal static IReadOnlyList<TopicPermission> TopicsOf(DeviceRecord device, IConfiguration configuration) =>
        TopicRules.ToldToDevices(configuration.GetSection(MosquittoOptions.SectionName).Get<MosquittoOptions>() ?? new MosquittoOptions())
            .For(device.TenantId, device.DeviceId);

    internal static string Time(DateTimeOffset? time) =>
        time is { } t ? t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture) : "-";

    internal static IQueryable<DeviceRecord> Records(IQueryable<Device> devices) =>
        devices.Select(d => new DeviceRecord(d.TenantId, d.DeviceId, d.Username, d.Status, d.RegisteredAt, d.DeletedAt, d.UpdatedAt, d.ChangedXid));

    internal static Task<CheckpointRecord?> CheckpointAsync(ProvisioningDbContext db, CancellationToken ct) =>
        db.ProjectionCheckpoints
            .Where(c => c.Id == ProjectionCheckpoint.SingletonId)
            .Select(c => new CheckpointRecord(c.AppliedXmin, c.ActiveDevices, c.AppliedAt))
            .SingleOrDefaultAsync(ct);

    private sealed class Session(IConfiguration configuration, TextWriter stdout, TextWriter stderr)
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
                        var record = await Records(db.Devices.Where(d => d.TenantId == tenantId && d.DeviceId == deviceId)).SingleOrDefaultAsync(token);
                        if (record is null)
                        {
                            return null;
                        }

                        var replies = await db.Outbox
                            .Where(o => o.TenantId == tenantId && o.DeviceId == deviceId)
                            .OrderBy(o => o.Id)
                            .Select(o => new PendingReplyRecord(o.Id, o.MessageType, o.CreatedAt, o.AwaitsBroker, o.Attempts, o.NextAttemptAt, o.LastError))
                            .ToListAsync(token);
                        return DeviceReport.Of(record, await CheckpointAsync(db, token), replies, TopicsOf(record, configuration));
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

                await stdout.WriteAsync(json ? JsonSerializer.Serialize(found, Json) + "\n" : DeviceReportText.Show(found));
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
                        var checkpoint = await CheckpointAsync(db, token);
                        return (rows.Take(limit).Select(r => DeviceSummary.Of(r.Record, checkpoint, r.Pending)).ToList(), rows.Count > limit);
                    },
                    ct);

                await stdout.WriteAsync(json ? JsonSerializer.Serialize(summaries, Json) + "\n" : DeviceReportText.List(summaries));
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

        private async Task<int> WithDatabaseAsync(string applicationName, double timeoutSeconds, Func<OperatorDatabase, Task<int>> action)
        {
            try
            {
                var options = CommandOptions.Read<DatabaseOptions>(configuration);
                await using var database = OperatorDatabase.Open(options, applicationName, TimeSpan.FromSeconds(timeoutSeconds), TimeProvider.System);
                return await action(database);
            }
            catch (InvalidConfigurationException e)
            {
                await e.WriteToAsync(stderr);
                return CommandExitCodes.BadInput;
            }
            catch (DatabaseUnavailableException e)
            {
                await stderr.WriteLineAsync($"error: {e.Message}");
                return CommandExitCodes.Unavailable;
            }
        }
    }
}
