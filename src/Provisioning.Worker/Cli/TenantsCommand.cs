using System.CommandLine;
using System.CommandLine.Help;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Provisioning.Worker.Brokers;
using Provisioning.Worker.Configuration;

namespace Provisioning.Worker.Cli;

/// <summary>
/// <c>tenants list</c> and <c>tenants show &lt;tenantId&gt;</c>: where each tenant lives (docs/fleet.md, "Tenant
/// placement"): its broker group, the endpoint its devices are told, its devices. Read-only.
/// </summary>
public static class TenantsCommand
{
    private const string Usage = "usage: tenants list [--limit <n>] | show <tenantId>   [--json] [--timeout <seconds>]   (--help for more)";

    public static async Task<int> RunAsync(string[] args, IConfiguration configuration, TextReader stdin, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);

        var json = new Option<bool>("--json") { Description = "Print JSON for scripts instead of text.", Recursive = true };
        var timeout = DevicesCommand.TimeoutOption();
        var tenant = new Argument<string>("tenantId") { Description = "The tenant id." };
        var limit = new Option<int>("--limit") { Description = $"At most this many tenants (default {DevicesCommand.DefaultLimit}).", DefaultValueFactory = _ => DevicesCommand.DefaultLimit };
        limit.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() is < 1 or > DevicesCommand.MaxLimit)
            {
                result.AddError($"--limit must be between 1 and {DevicesCommand.MaxLimit}.");
            }
        });
        var list = new Command("list", "Every placed tenant, by id: group, endpoint, devices; exit 1 when there is none.") { limit };
        var show = new Command("show", "One tenant: group, endpoint, devices; exit 1 when it has no placement (no device registered yet).") { tenant };
        var root = new Command("tenants", "Where tenants live in the broker fleet (ConnectionStrings:Provisioning and Brokers:Groups from appsettings.json beside the worker and the environment).")
        {
            list, show, new HelpOption(),
        };
        root.Options.Add(json);
        root.Options.Add(timeout);

        list.SetAction((result, token) => PrintAsync(configuration, stdout, stderr, string.Empty, result.GetValue(limit), result.GetValue(json), result.GetValue(timeout), token));
        show.SetAction((result, token) => PrintAsync(configuration, stdout, stderr, result.GetRequiredValue(tenant), 1, result.GetValue(json), result.GetValue(timeout), token));

        return await CommandRunner.InvokeAsync(root, args, Usage, stdout, stderr, ct);
    }

    private static Task<int> PrintAsync(IConfiguration configuration, TextWriter stdout, TextWriter stderr, string tenantId, int limit, bool json, double timeoutSeconds, CancellationToken ct) =>
        CommandRunner.WithDatabaseAsync(configuration, stderr, "provisioning tenants", timeoutSeconds, async database =>
        {
            var fleet = new BrokerFleet(
                CommandOptions.Read<BrokersOptions>(configuration),
                configuration.GetSection(DeviceCredentialOptions.SectionName).Get<DeviceCredentialOptions>() ?? new DeviceCredentialOptions());
            var tenants = await database.ReadAsync((db, token) => TenantRecords.ListAsync(db, tenantId, limit, token), ct);
            var views = tenants.Select(t => new TenantView(t.TenantId, t.Group, Endpoint(fleet, t.Group), t.ActiveDevices, t.Devices, t.PlacedAt)).ToList();
            if (json)
            {
                await stdout.WriteLineAsync(tenantId.Length > 0 && views.Count == 1 ? JsonSerializer.Serialize(views[0], DevicesCommand.Json) : JsonSerializer.Serialize(views, DevicesCommand.Json));
            }
            else
            {
                var text = new StringBuilder("TENANT                           GROUP             ENDPOINT                    ACTIVE   ROWS  PLACED\n");
                foreach (var v in views)
                {
                    text.AppendLine(CultureInfo.InvariantCulture, $"{v.TenantId,-32} {v.Group,-17} {v.Endpoint,-27} {v.ActiveDevices,6} {v.Devices,6}  {DevicesCommand.Time(v.PlacedAt)}");
                }

                await stdout.WriteAsync(text.ToString());
            }

            if (views.Count == 0 && tenantId.Length > 0)
            {
                await stderr.WriteLineAsync($"tenant '{Shared.SafeText.Ascii(tenantId)}' is not placed: no device of it has been registered");
            }

            return views.Count == 0 ? CommandExitCodes.NotFound : CommandExitCodes.Success;
        });

    /// <summary>"host:port", or a note when the group is not configured here (the placement outlived the configuration).</summary>
    private static string Endpoint(BrokerFleet fleet, string group) =>
        fleet.Groups.Contains(group) ? $"{fleet.EndpointOf(group).Host}:{fleet.EndpointOf(group).Port}" : "(group not configured)";

    private sealed record TenantView(string TenantId, string Group, string Endpoint, long ActiveDevices, long Devices, DateTimeOffset PlacedAt);
}
