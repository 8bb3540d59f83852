using System.CommandLine;
using System.CommandLine.Help;
using System.Globalization;
using Provisioning.Worker.Configuration;
using Provisioning.Worker.DeadLetters;
using Provisioning.Worker.Shared;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

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

        var session = new Session(configuration, stdout, stderr, TimeProvider.System);
        list.SetAction((result, token) => session.RunAsync(result.GetRequiredValue(queue), "list", (reader, t) => session.ListAsync(reader, t), token));
        replay.SetAction((result, token) => session.RunAsync(
            result.GetRequiredValue(queue),
            "replay",
            (reader, t) => session.ReplayAsync(reader, result.GetValue(messageIds) ?? [], result.GetValue(limit), result.GetValue(dryRun), t),
            token));
        purge.SetAction((result, token) => session.RunAsync(result.GetRequiredValue(queue), "purge", (reader, t) => session.PurgeAsync(reader, result.GetValue(purgeIds) ?? [], t), token));

        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var error in parsed.Errors)
            {
                await stderr.WriteLineAsync($"error: {error.Message}");
            }

            await stderr.WriteLineAsync("usage: dead-letters list --queue <q> | replay --queue <q> [--message-id <id>]... [--limit <n>] [--dry-run] | purge --queue <q> --message-id <id>...   (--help for more)");
            return CommandExitCodes.BadInput;
        }

        return await parsed.InvokeAsync(new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false }, ct);
    }

    private sealed class Session(IConfiguration configuration, TextWriter stdout, TextWriter stderr, TimeProvider clock)
    {
        private static readonly TimeSpan _abortTimeout = TimeSpan.FromSeconds(2);
        private Uri? _uri;
        private IConnection? _connection;

        /// <summary>Connects, opens the queue and runs <paramref name="action"/>; turns every failure into a message and an exit code.</summary>
        public async Task<int> RunAsync(string queue, string verb, Func<DeadLetterQueueReader, CancellationToken, Task<int>> action, CancellationToken ct)
        {
            try
            {
                _uri = BrokerUri(CommandOptions.Read<RabbitMqOptions>(configuration).Uri);
                // Checked before connecting: a wrong name is the operator's to fix, whatever the broker's state.
                DeadLetterQueues.Require(queue);

                await using var connection = await BrokerConnector.ConnectAsync(_uri, $"provisioning dead-letters {verb}", ct);
                _connection = connection;
                await using var reader = await DeadLetterQueueReader.OpenAsync(connection, queue, ct);
                try
                {
                    return await action(reader, ct);
                }
                catch (DeadLetterToolException e) when (e.ExitCode is CommandExitCodes.BrokerBlocked or CommandExitCodes.Unavailable)
                {
                    // A broker that blocks or stopped answering does not answer a close either: closing the channel and
                    // the connection would wait out their timeouts (over a minute), then fail.
                    await connection.AbortAsync(_abortTimeout);
                    throw;
                }
            }
            catch (InvalidConfigurationException e)
            {
                await e.WriteToAsync(stderr);
                return CommandExitCodes.BadInput;
            }
            catch (DeadLetterToolException e)
            {
                return await FailAsync(e.ExitCode, e.Message);
            }
            catch (OperationInterruptedException e) when (BrokerConnector.IsVirtualHostRefused(e))
            {
                var refused = BrokerConnector.VirtualHostRefused(_uri!, e);
                return await FailAsync(refused.ExitCode, refused.Message);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return await FailAsync(CommandExitCodes.Interrupted, $"interrupted; every message not reported as done is still in {SafeText.Unicode(queue)}.");
            }
            catch (Exception e) when (e is OperationInterruptedException or AlreadyClosedException or IOException or System.Net.Sockets.SocketException)
            {
                return await FailAsync(
                    CommandExitCodes.Unavailable,
                    $"lost the connection to RabbitMQ ({SafeText.Unicode(e.Message, 300)}); every message not reported as done is still in {SafeText.Unicode(queue)}.");
            }
        }

        public async Task<int> ListAsync(DeadLetterQueueReader reader, CancellationToken ct)
        {
            await stdout.WriteLineAsync($"{reader.Queue} on {BrokerConnector.Describe(_uri!)}: {Count(reader.MessageCount)} (read without consuming; they stay in place)");
            var shown = 0;
            while (await reader.NextAsync(ct) is { } letter)
            {
                await stdout.WriteLineAsync();
                await stdout.WriteAsync(DeadLetterFormat.Block(letter));
                shown++;
            }

            if (shown < reader.MessageCount)
            {
                await stderr.WriteLineAsync($"note: {reader.MessageCount - shown} message(s) were taken by another consumer while listing.");
            }

            return CommandExitCodes.Success;
        }

        public async Task<int> ReplayAsync(DeadLetterQueueReader reader, IReadOnlyCollection<string> ids, int? limit, bool dryRun, CancellationToken ct)
        {
            var wanted = new HashSet<string>(ids, StringComparer.Ordinal);
            var found = new HashSet<string>(StringComparer.Ordinal);
            var replayer = new DeadLetterReplayer(_connection!, reader, RabbitMqUri.Credentials(_uri!).Username, BrokerConnector.Describe(_uri!), clock);
            var moved = 0;
            var prefix = dryRun ? "would replay" : "replayed";
            while ((limit is null || moved < limit) && await reader.NextAsync(ct) is { } letter)
            {
                // Every copy of a wanted id is handled: a message can be in the queue twice (dead-lettered again after a replay).
                if (wanted.Count > 0)
                {
                    if (Match(letter, wanted) is not { } id)
                    {
                        continue;
                    }

                    found.Add(id);
                }

                if (dryRun)
                {
                    await replayer.EnsureTargetExistsAsync(letter, ct);
                }
                else
                {
                    await replayer.ReplayAsync(letter, ct);
                }

                moved++;
                await stdout.WriteLineAsync($"{prefix} {DeadLetterFormat.Id(letter)} {DeadLetterFormat.Subject(letter)} -> {SafeText.Unicode(letter.TargetQueue)} (replay {letter.ReplayCount + 1}; fault was {SafeText.Unicode(letter.Fault.Summary, 200)})");
            }

            await stdout.WriteLineAsync(dryRun
                ? $"dry run: {Count(moved)} would be replayed from {reader.Queue}; nothing was moved."
                : $"{Count(moved)} replayed from {reader.Queue}; {Count(Math.Max(0, reader.MessageCount - moved))} left in it.");
            return await ReportMissingAsync(reader, wanted, found);
        }

        public async Task<int> PurgeAsync(DeadLetterQueueReader reader, IReadOnlyCollection<string> ids, CancellationToken ct)
        {
            var wanted = new HashSet<string>(ids, StringComparer.Ordinal);
            var found = new HashSet<string>(StringComparer.Ordinal);
            var purged = 0;
            while (await reader.NextAsync(ct) is { } letter)
            {
                if (Match(letter, wanted) is not { } id)
                {
                    continue;
                }

                // The record is written before the message is removed: if the tool dies in between, the message is still there.
                var now = clock.GetUtcNow().ToString("O", CultureInfo.InvariantCulture);
                await stdout.WriteLineAsync($"{now} purging {DeadLetterFormat.Id(letter)} from {reader.Queue}:");
                await stdout.WriteAsync(DeadLetterFormat.Block(letter));
                await stdout.WriteLineAsync($"body         {DeadLetterFormat.Body(letter)}");
                await stdout.FlushAsync(ct);
                await reader.AckAsync(letter);
                found.Add(id);
                purged++;
                await stdout.WriteLineAsync($"purged {DeadLetterFormat.Id(letter)}");
            }

            await stdout.WriteLineAsync($"{Count(purged)} purged from {reader.Queue}; {Count(Math.Max(0, reader.MessageCount - purged))} left in it.");
            return await ReportMissingAsync(reader, wanted, found);
        }

        private async Task<int> ReportMissingAsync(DeadLetterQueueReader reader, HashSet<string> wanted, HashSet<string> found)
        {
            var missing = wanted.Where(id => !found.Contains(id)).ToList();
            return missing.Count == 0
                ? CommandExitCodes.Success
                : await FailAsync(CommandExitCodes.NotFound, $"not in {reader.Queue}: {string.Join(", ", missing.Select(id => SafeText.Unicode(id, 100)))}");
        }

        /// <summary>The worker's validator also takes MassTransit's rabbitmq:// and rabbitmqs://; RabbitMQ.Client only their amqp names.</summary>
        private static Uri BrokerUri(string validated)
        {
            var uri = new Uri(validated);
            return uri.Scheme switch
            {
                "rabbitmq" => new UriBuilder(uri) { Scheme = "amqp" }.Uri,
                "rabbitmqs" => new UriBuilder(uri) { Scheme = "amqps" }.Uri,
                _ => uri,
            };
        }

        private static string? Match(DeadLetter letter, HashSet<string> wanted) => wanted.FirstOrDefault(letter.HasId);

        private static string Count(long n) => n == 1 ? "1 message" : $"{n} messages";

        private async Task<int> FailAsync(int exitCode, string message)
        {
            await stderr.WriteLineAsync($"error: {message}");
            return exitCode;
        }
    }
}
