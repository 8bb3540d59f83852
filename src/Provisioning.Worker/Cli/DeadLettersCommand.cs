using System.CommandLine;
using System.CommandLine.Help;

namespace Provisioning.Worker.Cli;

/// <summary>
/// <c>dead-letters list|replay|purge --queue &lt;q&gt;</c>: the operator's view of MassTransit's <c>_error</c> and
/// <c>_skipped</c> queues, on the broker the worker uses (<c>RabbitMq:Uri</c>). Exit codes: see
/// <see cref="CommandExitCodes"/>. Reports go to stdout, errors to stderr.
/// </summary>
public static class DeadLettersCommand
{
    public static async Task<int> RunAsync(string[] args, IConfiguration configuration, TextReader stdin, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);

        var queue = new Option<string>("--queue")
        {
            Description = "The dead-letter queue: a name ending in _error or _skipped, e.g. device-registered_error.",
            Required = true,
            Recursive = true,
        };
        var messageIds = new Option<string[]>("--message-id") { Description = "Only this message (repeat for several)." };
        var purgeIds = new Option<string[]>("--message-id") { Description = "The message to remove (repeat for several).", Required = true };
        var limit = new Option<int?>("--limit") { Description = "Replay at most this many messages, from the head of the queue." };
        limit.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int?>() is < 1)
            {
                result.AddError("--limit must be at least 1.");
            }
        });
        var dryRun = new Option<bool>("--dry-run") { Description = "Show what would be replayed; move nothing." };

        var list = new Command("list", "Show the messages in the queue (id, type, device, the fault and when it happened) without consuming any.");
        var replay = new Command("replay", "Move messages back to the queue they failed on, keeping their id and body; each is removed from the dead-letter queue only once the broker confirmed the copy.")
        {
            messageIds, limit, dryRun,
        };
        var purge = new Command("purge", "Remove the named messages for good; each is printed in full first.") { purgeIds };
        // Named after the operator's word, not the executable's: the usage line then reads "dead-letters list ...".
        var root = new Command("dead-letters", "Inspect, replay or purge the worker's dead-lettered messages (RabbitMq:Uri from appsettings.json beside the worker and the environment).")
        {
            list, replay, purge, new HelpOption(),
        };
        root.Options.Add(queue);

        var session = new DeadLetterActions(configuration, stdout, stderr, TimeProvider.System);
        list.SetAction((result, token) => session.RunAsync(result.GetRequiredValue(queue), "list", (reader, t) => session.ListAsync(reader, t), token));
        replay.SetAction((result, token) => session.RunAsync(
            result.GetRequiredValue(queue),
            "replay",
            (reader, t) => session.ReplayAsync(reader, result.GetValue(messageIds) ?? [], result.GetValue(limit), result.GetValue(dryRun), t),
            token));
        purge.SetAction((result, token) => session.RunAsync(result.GetRequiredValue(queue), "purge", (reader, t) => session.PurgeAsync(reader, result.GetValue(purgeIds) ?? [], t), token));

        return await CommandRunner.InvokeAsync(root, args, "usage: dead-letters list --queue <q> | replay --queue <q> [--message-id <id>]... [--limit <n>] [--dry-run] | purge --queue <q> --message-id <id>...   (--help for more)", stdout, stderr, ct);
    }
}
