using System.Globalization;
using Provisioning.Worker.Configuration;
using Provisioning.Worker.DeadLetters;
using Provisioning.Worker.Shared;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Provisioning.Worker.Cli;

/// <summary>The actions of <see cref="DeadLettersCommand"/>, one instance per invocation: what each verb does with the configuration and the console it was given.</summary>
internal sealed class DeadLetterActions(IConfiguration configuration, TextWriter stdout, TextWriter stderr, TimeProvider clock)
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
