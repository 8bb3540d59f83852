using System.Text;
using Npgsql;
using Provisioning.Contracts;
using Provisioning.Worker.IntegrationTests.Infrastructure;
using Provisioning.Worker.Mosquitto;

namespace Provisioning.Worker.IntegrationTests.Faults;

/// <summary>What a scenario tells the checker beyond the messages it published.</summary>
public sealed record CheckOptions
{
    /// <summary>Messages that may end in <c>_error</c> instead of getting a reply (a poison message, say).</summary>
    public IReadOnlySet<Guid> MayBeDeadLettered { get; init; } = new HashSet<Guid>();

    /// <summary>Messages the scenario checks itself (bad input): their replies are expected, and so are their dead letters.</summary>
    public IReadOnlySet<Guid> CheckedElsewhere { get; init; } = new HashSet<Guid>();

    /// <summary>Operators' accounts, besides the harness's own, that must be in the file and connect.</summary>
    public IReadOnlyList<(string User, string Password)> OperatorAccounts { get; init; } = [];

    /// <summary>How long the pipeline may take to settle once the faults are healed.</summary>
    public TimeSpan Settle { get; init; } = TimeSpan.FromSeconds(90);
}

/// <summary>What one scenario measured; the suite prints these and the README quotes the totals.</summary>
public sealed record ScenarioFigures(
    string Scenario,
    int Messages,
    int Faults,
    int Replies,
    int DeadLettered,
    int Lost,
    int ActiveDevices,
    int DeletedDevices,
    int CredentialsChecked,
    int FileRewrites,
    double Seconds);

/// <summary>
/// The invariants of issue 6, checked once a scenario healed its faults, against the database, the passwd file, the
/// reply queue, the dead-letter queues and the real Mosquitto:
/// <list type="number">
/// <item>each registered, not deleted device has exactly one passwd line and exactly one delivered credential that
/// works — the latest one; every older one is refused;</item>
/// <item>each deleted device has no line and the broker refuses every credential it was ever given;</item>
/// <item>the operators' lines are unchanged and their accounts connect;</item>
/// <item>every confirmed message is accounted for: exactly one reply (by reply message id), or it lies in an
/// <c>_error</c> queue (only where the scenario allows it); nothing is left in the input queues or the outbox.</item>
/// <item>with the acl_file on: each active device's current credential can use its own topics and no other
/// device's or tenant's; the acl_file holds the default rule's pattern line and no device block; the operator's block is kept.</item>
/// </list>
/// And the security checks: no issued password in any log or anywhere in the database, the passwd file never looser
/// than 0640 after a rewrite, no delivered reply left in the outbox.
/// </summary>
public static class InvariantChecker
{
    public static readonly string[] InputQueues = ["device-registered", "device-deleted"];
    public static readonly string[] ErrorQueues = ["device-registered_error", "device-deleted_error"];

    public static async Task<ScenarioFigures> CheckAsync(IInvariantWorld world, string scenario, int faults, IReadOnlyCollection<PublishedMessage> published, TimeSpan elapsed, CheckOptions? options = null)
    {
        options ??= new CheckOptions();
        var problems = new List<string>();
        var messages = published.GroupBy(m => m.Id).Select(g => g.First()).ToDictionary(m => m.Id);

        var deadLettered = await SettleAsync(world, messages.Keys, options.Settle);

        // 4. accounting
        var arrivals = world.Replies.All;
        var replies = arrivals
            .Where(r => r.MessageId is not null)
            .GroupBy(r => r.MessageId!.Value)
            .Select(g => g.First())
            .ToList();
        var repliesByInitiator = replies.Where(r => r.InitiatorId is not null).ToLookup(r => r.InitiatorId!.Value);
        var lost = 0;
        foreach (var message in messages.Values)
        {
            var answers = repliesByInitiator[message.Id].ToList();
            if (answers.Count == 0)
            {
                if (deadLettered.Contains(message.Id))
                {
                    if (!options.MayBeDeadLettered.Contains(message.Id))
                    {
                        problems.Add($"message {message.Id} ({Describe(message)}) was dead-lettered, which this scenario does not allow");
                    }
                }
                else
                {
                    lost++;
                    problems.Add($"message {message.Id} ({Describe(message)}) is lost: no reply and not in an _error queue");
                }

                continue;
            }

            if (answers.Count > 1)
            {
                problems.Add($"message {message.Id} ({Describe(message)}) got {answers.Count} different replies: {string.Join(", ", answers.Select(a => a.Type))}");
            }

            var expected = message.IsRegistration ? nameof(CredentialsIssued) : nameof(CredentialsRevoked);
            foreach (var answer in answers.Where(a => a.Type != expected && !(a.Type == nameof(ProvisioningRejected) && a.Rejected.Code == RejectionCodes.Stale)))
            {
                problems.Add($"message {message.Id} ({Describe(message)}) got {answer.Type} {(answer.Type == nameof(ProvisioningRejected) ? answer.Rejected.Code : string.Empty)}");
            }
        }

        foreach (var stray in replies.Where(r => r.InitiatorId is not { } id || (!messages.ContainsKey(id) && !options.CheckedElsewhere.Contains(id))))
        {
            problems.Add($"a {stray.Type} reply for {stray.TenantId}/{stray.DeviceId} answers no published message (initiator {stray.InitiatorId})");
        }

        foreach (var queue in InputQueues)
        {
            if (await world.Queues.CountAsync(queue) is > 0 and var left)
            {
                problems.Add($"{left} messages left unconsumed in {queue}");
            }
        }

        // 1., 2., 3. and 5., on every broker that must hold the devices (each replica of a fleet)
        var active = 0;
        var deleted = 0;
        var connects = 0;
        foreach (var (broker, modeWatcher) in world.Brokers)
        {
            var allProblems = problems;
            problems = [];
            var (activeHere, deletedHere, connectsHere) = (0, 0, 0);
            // 1. and 2. per device, against the file, the hashes and the real broker
            var lines = ReadLines(broker.PasswdFile);
            var processed = messages.Values.Where(m => repliesByInitiator[m.Id].Any()).ToList();
            foreach (var device in processed.GroupBy(m => m.Username))
            {
                var final = device.MaxBy(m => m.OccurredAt)!;
                // In arrival order, duplicates (a reply sent again after a crash) included: the device acts on the last one it got.
                var received = arrivals
                    .Where(r => r.Type == nameof(CredentialsIssued) && r.TenantId == final.TenantId && r.DeviceId == final.DeviceId)
                    .ToList();
                var issued = received.DistinctBy(r => r.MessageId).Select(r => r.Issued).ToList();
                var deviceLines = lines.Where(l => l.Username == device.Key).ToList();
                if (final.IsRegistration)
                {
                    activeHere++;
                    if (deviceLines.Count != 1)
                    {
                        problems.Add($"{device.Key} is registered but has {deviceLines.Count} passwd lines");
                        continue;
                    }

                    var working = issued.Where(i => MosquittoPasswordHash.Verify(i.Password, deviceLines[0].Hash)).ToList();
                    if (working.Count != 1)
                    {
                        problems.Add($"{device.Key} is registered; {working.Count} of its {issued.Count} delivered credentials match its line (exactly one must)");
                        continue;
                    }

                    if (received[^1].Issued.Password != working[0].Password)
                    {
                        problems.Add($"{device.Key}: the credential that works (issued {working[0].IssuedAt:O}) is not the last one the device received (issued {received[^1].Issued.IssuedAt:O})");
                    }

                    if (issued.Any(i => i.IssuedAt > working[0].IssuedAt))
                    {
                        problems.Add($"{device.Key}: a rotated-out credential carries a later issuedAt than the one that works");
                    }

                    connectsHere++;
                    if (!await broker.CanConnectAsync(working[0].Username, working[0].Password))
                    {
                        problems.Add($"{device.Key}: the broker refuses the device's current credential");
                    }
                    else if (broker.HasAclFile)
                    {
                        connectsHere++;
                        problems.AddRange(await CheckTopicsAsync(broker, working[0]));
                    }

                    foreach (var old in issued.Where(i => i.Password != working[0].Password))
                    {
                        connectsHere++;
                        if (await broker.CanConnectAsync(old.Username, old.Password))
                        {
                            problems.Add($"{device.Key}: the broker still accepts a rotated-out credential issued at {old.IssuedAt:O}");
                        }
                    }
                }
                else
                {
                    deletedHere++;
                    if (deviceLines.Count != 0)
                    {
                        problems.Add($"{device.Key} is deleted but still has {deviceLines.Count} passwd lines");
                    }

                    foreach (var credential in issued)
                    {
                        connectsHere++;
                        if (await broker.CanConnectAsync(credential.Username, credential.Password))
                        {
                            problems.Add($"{device.Key} is deleted but the broker accepts a credential issued at {credential.IssuedAt:O}");
                        }
                    }
                }
            }

            foreach (var stray in lines.Where(l => Devices.DeviceIdentity.IsDeviceUsername(l.Username) && !processed.Any(m => m.Username == l.Username)))
            {
                problems.Add($"the passwd file has a line for {stray.Username}, which no processed message concerns");
            }

            // 5. topic authorization: with the default rule the acl_file is the pattern line (every device has the form
            // tenant/device, so no device needs a block of its own) and the operator's block, kept
            if (broker.HasAclFile)
            {
                var acl = await File.ReadAllTextAsync(broker.AclFile);
                var blocks = acl.Split('\n').Where(l => l.StartsWith("user ", StringComparison.Ordinal)).Select(l => l[5..]).Where(Devices.DeviceIdentity.IsDeviceUsername).ToList();
                foreach (var user in blocks.Distinct(StringComparer.Ordinal))
                {
                    problems.Add($"the acl_file has a block for the device {user}, which the pattern line already serves");
                }

                if (!acl.Contains("\npattern readwrite devices/%u/#\n", StringComparison.Ordinal))
                {
                    problems.Add("the acl_file lacks the default rule's pattern line");
                }

                if (!acl.Contains(PipelineHarness.OperatorAclBlock, StringComparison.Ordinal))
                {
                    problems.Add("the operator's acl_file block changed or disappeared");
                }
            }

            // 3. operators
            var file = await File.ReadAllTextAsync(broker.PasswdFile);
            if (!file.Contains(PipelineHarness.OperatorLine + "\n", StringComparison.Ordinal))
            {
                problems.Add("the operator's line changed or disappeared");
            }

            foreach (var (user, password) in options.OperatorAccounts.Prepend((PipelineHarness.OperatorUser, PipelineHarness.OperatorPassword)))
            {
                connectsHere++;
                if (!await broker.CanConnectAsync(user, password))
                {
                    problems.Add($"the operator's account {user} no longer connects");
                }
            }

            modeWatcher.CheckNow();
            problems.AddRange(modeWatcher.Violations);
            var mode = OperatingSystem.IsWindows() ? default : File.GetUnixFileMode(broker.PasswdFile);
            if (!Configuration.BrokerTargetOptions.IsStrictEnough(mode))
            {
                problems.Add($"the passwd file's mode is {Convert.ToString((int)mode, 8)}");
            }

            allProblems.AddRange(world.Brokers.Count > 1 ? problems.Select(p => $"broker :{broker.Port}: {p}") : problems);
            problems = allProblems;
            (active, deleted) = (activeHere, deletedHere);
            connects += connectsHere;
        }

        // security
        var passwords = replies.Where(r => r.Type == nameof(CredentialsIssued)).Select(r => r.Issued.Password!).Distinct().ToList();
        var logs = world.AllLogs();
        var database = await DumpDatabaseAsync(world.ConnectionString);
        foreach (var password in passwords)
        {
            if (logs.Contains(password, StringComparison.Ordinal))
            {
                problems.Add("an issued password appears in a log");
                break;
            }
        }

        foreach (var password in passwords)
        {
            if (database.Contains(password, StringComparison.Ordinal))
            {
                problems.Add("an issued password is still stored in the database");
                break;
            }
        }

        var delivered = replies.Select(r => r.MessageId!.Value).ToArray();
        var deliveredInOutbox = await ScalarAsync<long>(world.ConnectionString, "SELECT count(*) FROM outbox WHERE message_id = ANY(@ids)", ("ids", delivered));
        if (deliveredInOutbox > 0)
        {
            problems.Add($"{deliveredInOutbox} delivered replies are still in the outbox");
        }

        var figures = new ScenarioFigures(
            scenario,
            messages.Count + options.CheckedElsewhere.Count,
            faults,
            replies.Count,
            deadLettered.Count(messages.ContainsKey),
            lost,
            active,
            deleted,
            connects,
            world.Brokers.Sum(b => b.ModeWatcher.Replacements),
            Math.Round(elapsed.TotalSeconds, 1));
        world.Output.WriteLine($"{figures}");
        Assert.True(problems.Count == 0, $"{scenario}: {problems.Count} invariant violations:\n{string.Join("\n", problems.Take(40))}\n{figures}\n{world.Diagnostics()}");
        FaultFigures.Record(figures);
        return figures;
    }

    /// <summary>
    /// Waits until every message has a reply or lies in an <c>_error</c> queue, the input queues are empty and the
    /// outbox has delivered everything; the ids found in the <c>_error</c> queues.
    /// </summary>
    /// <summary>The device's current credential may publish to its own topics (default rule) and not to another device's nor another tenant's.</summary>
    private static async Task<IReadOnlyList<string>> CheckTopicsAsync(MosquittoBroker broker, CredentialsIssued credential)
    {
        var problems = new List<string>();
        await using var device = await Topics.MqttDevice.ConnectAsync(broker.Port, credential.Username, credential.Password);
        if (!await device.PublishAsync($"devices/{credential.TenantId}/{credential.DeviceId}/invariant", "own"))
        {
            problems.Add($"{credential.Username}: the broker denies the device its own topic");
        }

        if (await device.PublishAsync($"devices/{credential.TenantId}/{credential.DeviceId}-other/invariant", "neighbour"))
        {
            problems.Add($"{credential.Username}: the broker lets the device publish into another device's topic");
        }

        if (await device.PublishAsync($"devices/{credential.TenantId}-other/{credential.DeviceId}/invariant", "tenant"))
        {
            problems.Add($"{credential.Username}: the broker lets the device publish into another tenant's topic");
        }

        return problems;
    }

    private static async Task<HashSet<Guid>> SettleAsync(IInvariantWorld world, ICollection<Guid> ids, TimeSpan timeout)
    {
        var deadLettered = new HashSet<Guid>();
        var nextPeek = DateTime.MinValue;
        var missing = new List<Guid>();
        var state = "not looked yet";
        await Eventually.TrueAsync(
            async () =>
            {
                var replied = world.Replies.All.Where(r => r.InitiatorId is not null).Select(r => r.InitiatorId!.Value).ToHashSet();
                missing = ids.Where(id => !replied.Contains(id) && !deadLettered.Contains(id)).ToList();
                if (missing.Count > 0 && DateTime.UtcNow >= nextPeek)
                {
                    nextPeek = DateTime.UtcNow + TimeSpan.FromSeconds(1);
                    foreach (var queue in ErrorQueues)
                    {
                        foreach (var message in await world.Queues.PeekAllAsync(queue))
                        {
                            if (message.MessageId is { } id)
                            {
                                deadLettered.Add(id);
                            }
                        }
                    }

                    missing = missing.Where(id => !deadLettered.Contains(id)).ToList();
                }

                long input = 0;
                foreach (var queue in InputQueues)
                {
                    input += await world.Queues.CountAsync(queue) ?? 0;
                }

                var outbox = await ScalarAsync<long>(world.ConnectionString, "SELECT count(*) FROM outbox");
                state = $"{missing.Count} messages without a reply (e.g. {string.Join(", ", missing.Take(5))}), {input} in the input queues, {outbox} replies in the outbox";
                return missing.Count == 0 && input == 0 && outbox == 0;
            },
            timeout,
            "the pipeline did not settle",
            // The short state is repeated last: a CI log keeps the end of a long message.
            async () => $"{state}\n{world.Diagnostics()}\n--- where the pipeline stands ---\n{await DescribeStuckAsync(world, missing)}\n{state}",
            TimeSpan.FromMilliseconds(250));
        return deadLettered;
    }

    /// <summary>For a settle timeout: where the first missing messages are, the queues' depths, the outbox's rows.</summary>
    private static async Task<string> DescribeStuckAsync(IInvariantWorld world, IReadOnlyList<Guid> missing)
    {
        var report = new StringBuilder();
        foreach (var queue in InputQueues.Concat(ErrorQueues).Append("upstream-replies"))
        {
            report.Append(queue).Append(": ").Append(await world.Queues.CountAsync(queue)).Append(" ready; ");
        }

        report.AppendLine();
        await using var connection = new NpgsqlConnection(world.ConnectionString);
        await connection.OpenAsync();
        foreach (var id in missing.Take(5))
        {
            await using var command = new NpgsqlCommand(
                "SELECT (SELECT string_agg(consumer, ',') FROM inbox WHERE message_id = @id), (SELECT max(attempts) FROM delivery_attempts WHERE message_id = @id), (SELECT count(*) FROM outbox WHERE initiator_id = @id)",
                connection);
            command.Parameters.AddWithValue("id", id);
            await using var reader = await command.ExecuteReaderAsync();
            await reader.ReadAsync();
            report.AppendLine($"{id}: inbox {(reader.IsDBNull(0) ? "-" : reader.GetString(0))}, redeliveries {(reader.IsDBNull(1) ? "-" : reader.GetValue(1))}, outbox rows {reader.GetInt64(2)}");
        }

        await using (var rows = new NpgsqlCommand($"SELECT id, initiator_id, {Provisioning.Worker.Outbox.ReplyRelease.HeldByBrokers}, attempts, next_attempt_at, lease_expires_at, last_error FROM outbox ORDER BY id LIMIT 5", connection))
        await using (var reader = await rows.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                report.AppendLine($"outbox {reader.GetValue(0)}: initiator {reader.GetValue(1)}, awaits broker {reader.GetValue(2)}, attempts {reader.GetValue(3)}, next {reader.GetValue(4)}, lease {reader.GetValue(5)}, error {reader.GetValue(6)}");
            }
        }

        return report.ToString();
    }

    private static string Describe(PublishedMessage m) => $"{(m.IsRegistration ? "register" : "delete")} {m.Username} at {m.OccurredAt:HH:mm:ss.fffffff}";

    private static List<(string Username, string Hash)> ReadLines(string path) =>
        File.ReadAllLines(path)
            .Select(line => line.Split(':', 2))
            .Where(parts => parts.Length == 2)
            .Select(parts => (parts[0], parts[1]))
            .ToList();

    /// <summary>Every row of every table of the worker's schema, as text: what the password grep reads.</summary>
    private static async Task<string> DumpDatabaseAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        var tables = new List<string>();
        await using (var list = new NpgsqlCommand("SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_type = 'BASE TABLE'", connection))
        await using (var reader = await list.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                tables.Add(reader.GetString(0));
            }
        }

        var dump = new StringBuilder();
        foreach (var table in tables)
        {
            await using var rows = new NpgsqlCommand($"SELECT t::text FROM {table} t", connection);
            await using var reader = await rows.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                dump.AppendLine(reader.GetString(0));
            }
        }

        return dump.ToString();
    }

    private static async Task<T> ScalarAsync<T>(string connectionString, string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        return (T)(await command.ExecuteScalarAsync())!;
    }
}
