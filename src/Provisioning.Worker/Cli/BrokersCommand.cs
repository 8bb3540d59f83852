using System.CommandLine;
using System.CommandLine.Help;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Provisioning.Worker.Brokers;
using Provisioning.Worker.Configuration;

namespace Provisioning.Worker.Cli;

/// <summary>
/// <c>brokers list</c>, <c>brokers out &lt;name&gt;</c>, <c>brokers in &lt;name&gt;</c>: the fleet as the database says
/// (docs/fleet.md). Out: replies stop waiting for that broker at once (maintenance, a broker known lost); in: they
/// wait for it again. Exit codes: <see cref="CommandExitCodes"/>.
/// </summary>
public static class BrokersCommand
{
    private const string Usage = "usage: brokers list | out <name> | in <name> | forget <name>   [--json] [--timeout <seconds>]   (--help for more)";

    public static async Task<int> RunAsync(string[] args, IConfiguration configuration, TextReader stdin, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);

        var json = new Option<bool>("--json") { Description = "Print JSON for scripts instead of text.", Recursive = true };
        var timeout = DevicesCommand.TimeoutOption();
        var name = new Argument<string>("name") { Description = "The broker's name (Agent:Broker of its agent)." };
        var list = new Command("list", "Every broker that has reported: group, live, heartbeat age, last applied, devices, replies waiting for it.");
        var takeOut = new Command("out", "Replies stop waiting for this broker (maintenance, or a broker known lost); its agent keeps running.") { name };
        var putIn = new Command("in", "Replies wait for this broker again.") { name };
        var forget = new Command("forget", "Removes a broker that left the fleet for good (its silent alert ends); an agent still running under that name comes back at its next heartbeat.") { name };
        var root = new Command("brokers", "The broker fleet (ConnectionStrings:Provisioning, Brokers:SilenceTimeout from appsettings.json beside the worker and the environment).")
        {
            list, takeOut, putIn, forget, new HelpOption(),
        };
        root.Options.Add(json);
        root.Options.Add(timeout);

        list.SetAction((result, token) => WithDatabaseAsync(configuration, stderr, "provisioning brokers list", result.GetValue(timeout), async (database, silence) =>
        {
            var brokers = await database.ReadAsync((db, t) => BrokerRecords.ListAsync(db, silence, t), token);
            await stdout.WriteAsync(result.GetValue(json) ? JsonSerializer.Serialize(brokers.Select(View), DevicesCommand.Json) + "\n" : Table(brokers));
            return brokers.Count == 0 ? CommandExitCodes.NotFound : CommandExitCodes.Success;
        }));
        takeOut.SetAction((result, token) => SetAsync(configuration, stdout, stderr, result.GetRequiredValue(name), takenOut: true, result.GetValue(json), result.GetValue(timeout), token));
        putIn.SetAction((result, token) => SetAsync(configuration, stdout, stderr, result.GetRequiredValue(name), takenOut: false, result.GetValue(json), result.GetValue(timeout), token));
        forget.SetAction((result, token) => WithDatabaseAsync(configuration, stderr, "provisioning brokers forget", result.GetValue(timeout), async (database, _) =>
        {
            var broker = result.GetRequiredValue(name);
            if (!await database.WriteAsync((db, t) => BrokerRecords.ForgetAsync(db, broker, t), token))
            {
                await stderr.WriteLineAsync($"error: no broker named '{Shared.SafeText.Ascii(broker)}' has reported (see 'brokers list')");
                return CommandExitCodes.NotFound;
            }

            await stdout.WriteLineAsync(result.GetValue(json) ? JsonSerializer.Serialize(new { broker, forgotten = true }, DevicesCommand.Json) : $"broker {broker} forgotten");
            return CommandExitCodes.Success;
        }));

        return await CommandRunner.InvokeAsync(root, args, Usage, stdout, stderr, ct);
    }

    private static Task<int> SetAsync(IConfiguration configuration, TextWriter stdout, TextWriter stderr, string name, bool takenOut, bool json, double timeout, CancellationToken ct) =>
        WithDatabaseAsync(configuration, stderr, $"provisioning brokers {(takenOut ? "out" : "in")}", timeout, async (database, _) =>
        {
            var found = await database.WriteAsync((db, t) => BrokerRecords.SetTakenOutAsync(db, name, takenOut, t), ct);
            if (!found)
            {
                await stderr.WriteLineAsync($"error: no broker named '{Shared.SafeText.Ascii(name)}' has reported (see 'brokers list')");
                return CommandExitCodes.NotFound;
            }

            var done = takenOut ? "taken out: replies no longer wait for it" : "put back in: replies wait for it again";
            await stdout.WriteLineAsync(json ? JsonSerializer.Serialize(new { broker = name, takenOut }, DevicesCommand.Json) : $"broker {name} {done}");
            return CommandExitCodes.Success;
        });

    private static Task<int> WithDatabaseAsync(IConfiguration configuration, TextWriter stderr, string applicationName, double timeoutSeconds, Func<OperatorDatabase, TimeSpan, Task<int>> action) =>
        CommandRunner.WithDatabaseAsync(configuration, stderr, applicationName, timeoutSeconds, database =>
            action(database, CommandOptions.Read<BrokersOptions>(configuration).SilenceTimeout));

    private static object View(BrokerRecord b) => new
    {
        name = b.Name,
        group = b.Group,
        live = b.Live,
        takenOut = b.TakenOut,
        heartbeatAgeSeconds = b.HeartbeatAge is { } age ? Math.Max(0, Math.Round(age.TotalSeconds, 1)) : (double?)null,
        lastAppliedAt = b.AppliedAt,
        devices = b.Devices,
        repliesWaitingForIt = b.Behind,
    };

    private static string Table(IReadOnlyList<BrokerRecord> brokers)
    {
        var text = new StringBuilder();
        text.AppendLine("BROKER                GROUP             STATE       HEARTBEAT  LAST APPLIED              DEVICES  WAITING");
        foreach (var b in brokers)
        {
            var state = b.TakenOut ? "out" : b.Live ? "live" : "silent";
            // The database's clock against itself, but a heartbeat may commit a moment after the read began.
            var heartbeat = b.HeartbeatAge is { } age ? $"{Math.Max(0, age.TotalSeconds).ToString("0.0", CultureInfo.InvariantCulture)} s ago" : "never";
            text.AppendLine(CultureInfo.InvariantCulture, $"{b.Name,-21} {b.Group,-17} {state,-11} {heartbeat,-10} {DevicesCommand.Time(b.AppliedAt),-25} {b.Devices,7}  {b.Behind,7}");
        }

        return text.ToString();
    }
}
