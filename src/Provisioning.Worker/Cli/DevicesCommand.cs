using System.CommandLine;
using System.CommandLine.Help;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.EntityFrameworkCore;
using Provisioning.Contracts;
using Provisioning.Worker.Brokers;
using Provisioning.Worker.Configuration;
using Provisioning.Worker.Devices;
using Provisioning.Worker.Persistence;
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

        var session = new DeviceQueries(configuration, stdout, stderr);
        show.SetAction((result, token) => session.ShowAsync(result.GetRequiredValue(tenant), result.GetRequiredValue(device), result.GetValue(json), result.GetValue(timeout), token));
        list.SetAction((result, token) => session.ListAsync(result.GetValue(tenantFilter), result.GetValue(status), result.GetValue(limit), result.GetValue(json), result.GetValue(timeout), token));

        return await CommandRunner.InvokeAsync(root, args, Usage, stdout, stderr, ct);
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
    internal static IReadOnlyList<TopicPermission> TopicsOf(DeviceRecord device, IConfiguration configuration)
    {
        var section = configuration.GetSection(BrokerTargetOptions.SectionName);
        return TopicRules.ToldToDevices(
                section.Get<BrokerTargetOptions>() ?? new BrokerTargetOptions(),
                () => TopicRules.Parse((section.Get<DeviceCredentialOptions>() ?? new DeviceCredentialOptions()).EffectiveDeviceTopics))
            .For(device.TenantId, device.DeviceId);
    }

    internal static string Time(DateTimeOffset? time) =>
        time is { } t ? t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture) : "-";

    internal static IQueryable<DeviceRecord> Records(IQueryable<Device> devices) =>
        devices.Select(d => new DeviceRecord(d.TenantId, d.DeviceId, d.Username, d.Status, d.RegisteredAt, d.DeletedAt, d.UpdatedAt, d.ChangedXid));

    /// <summary>
    /// The checkpoint every broker of the tenant's group (every group: <paramref name="tenantId"/> empty) has reached,
    /// brokers taken out by an operator left aside: the least xmin among theirs (Brokers/BrokerCheckpoint.cs).
    /// </summary>
    internal static Task<CheckpointRecord?> CheckpointOfTenantAsync(ProvisioningDbContext db, string tenantId, CancellationToken ct) =>
        db.Database.SqlQuery<CheckpointRecord>(
            $"""
            SELECT min(pg_snapshot_xmin(b.applied_snapshot)::text::bigint) AS "AppliedXmin", min(b.active_devices) AS "ActiveDevices", min(b.applied_at) AS "AppliedAt"
            FROM brokers b
            WHERE b.applied_snapshot IS NOT NULL AND NOT b.taken_out
              AND ({tenantId} = '' OR b.group_name = coalesce((SELECT p.group_name FROM tenant_placements p WHERE p.tenant_id = {tenantId}), {BrokerGroups.Default}))
            HAVING count(*) > 0
            """)
            .SingleOrDefaultAsync(ct);

    /// <summary>The checkpoint of one broker (<c>passwd verify</c> beside it: <c>Agent:Broker</c>).</summary>
    internal static Task<CheckpointRecord?> CheckpointOfBrokerAsync(ProvisioningDbContext db, string broker, CancellationToken ct) =>
        db.Database.SqlQuery<CheckpointRecord>(
            $"""
            SELECT pg_snapshot_xmin(applied_snapshot)::text::bigint AS "AppliedXmin", active_devices AS "ActiveDevices", applied_at AS "AppliedAt"
            FROM brokers WHERE name = {broker} AND applied_snapshot IS NOT NULL
            """)
            .SingleOrDefaultAsync(ct);
}
