using Npgsql;
using Provisioning.Contracts;
using Provisioning.Worker.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace Provisioning.Worker.IntegrationTests.Fleet;

/// <summary>
/// Tenants placed on broker groups (docs/fleet.md, "Tenant placement"): two groups, a replica and its agent each,
/// a HAProxy each. Each group's files hold its tenants' devices only, and a change reloads only its group.
/// </summary>
[Collection(ServicesCollection.Name)]
public sealed class TenantShardTests(ServiceEndpoints endpoints, ITestOutputHelper output)
{
    private static readonly TimeSpan _replyTimeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Tenants_land_as_pinned_or_on_the_least_loaded_group_and_each_group_holds_and_reloads_for_its_own_only()
    {
        // Given: 'pinned' is pinned to south
        await using var world = await FleetWorld.StartAsync(endpoints, output, ("mqtt-north", "north"), ("mqtt-south", "south"));
        world.CentralSettings["Brokers__Tenants__pinned"] = "south";
        await world.StartCentralAsync();

        // When: tenants arrive one after the other, so each placement sees the devices before it
        //   pinned ×3 → south (3) | alpha ×2 → north (0 < 3) | beta ×2 → north (2 < 3) | gamma ×1 → south (3 < 4) | delta ×1 → north (4 = 4, by name)
        var credentials = new Dictionary<string, CredentialsIssued>(StringComparer.Ordinal);
        foreach (var (tenant, devices) in new[] { ("pinned", 3), ("alpha", 2), ("beta", 2), ("gamma", 1), ("delta", 1) })
        {
            for (var i = 0; i < devices; i++)
            {
                credentials[$"{tenant}/d{i}"] = await RegisterAsync(world, tenant, $"d{i}");
            }
        }

        // Then
        var expected = new Dictionary<string, string> { ["pinned"] = "south", ["alpha"] = "north", ["beta"] = "north", ["gamma"] = "south", ["delta"] = "north" };
        Assert.Equal(expected.OrderBy(e => e.Key), (await PlacementsAsync(world)).OrderBy(e => e.Key));
        foreach (var replica in world.Replicas)
        {
            var mine = credentials.Keys.Where(k => expected[k.Split('/')[0]] == replica.Group).Order(StringComparer.Ordinal);
            Assert.Equal(mine, DeviceUsernames(replica));
        }

        foreach (var (username, credential) in credentials)
        {
            var home = world.Replicas.Single(r => r.Group == expected[credential.TenantId]);
            var other = world.Replicas.Single(r => r != home);
            Assert.Equal(world.Frontends[home.Group].Port, credential.BrokerPort);
            Assert.True(await CanConnectAsync(world.Frontends[home.Group].Port, credential), $"{username} is refused at its group's endpoint\n{world.Diagnostics()}");
            Assert.False(await CanConnectAsync(other.Broker.Port, credential), $"{username} gets into the other group's broker");
        }

        // and 'passwd verify' beside each agent finds its files in step with its group's devices
        foreach (var replica in world.Replicas)
        {
            var verify = await WorkerProcess.RunToExitAsync(["passwd", "verify"], new Dictionary<string, string?>
            {
                ["ConnectionStrings__Provisioning"] = world.Database.ConnectionString,
                ["Agent__Broker"] = replica.Name,
                ["Agent__Group"] = replica.Group,
                ["Mosquitto__PasswdFile"] = replica.Broker.PasswdFile,
                ["Mosquitto__AclFile"] = replica.Broker.AclFile,
                ["Mosquitto__PidFile"] = replica.Broker.PidFile,
                ["Mosquitto__ProbeHost"] = "127.0.0.1",
            });
            Assert.True(verify.ExitCode == 0, $"passwd verify beside {replica.Name}: exit {verify.ExitCode}\n{verify.Stdout}\n{verify.Stderr}");
        }

        // When: a north device is deleted
        var southReloads = world["mqtt-south"].Broker.LoggedReloads;
        var northReloads = world["mqtt-north"].Broker.LoggedReloads;
        await world.PublishDeletedAsync("alpha", "d0");
        await world.Replies.WaitForOneAsync(nameof(CredentialsRevoked), "alpha", "d0", _replyTimeout, world.Diagnostics);
        await Task.Delay(TimeSpan.FromSeconds(2)); // a few of the south agent's idle cycles

        // Then: only north reloaded
        Assert.True(world["mqtt-north"].Broker.LoggedReloads > northReloads, "north did not reload for its own device's deletion");
        Assert.Equal(southReloads, world["mqtt-south"].Broker.LoggedReloads);
        Assert.DoesNotContain("alpha/d0", DeviceUsernames(world["mqtt-north"]));

        // and operators see the placements
        var show = await world.RunCommandAsync("tenants", "show", "gamma", "--json");
        Assert.True(show.ExitCode == 0, show.Stderr);
        Assert.Contains("\"group\": \"south\"", show.Stdout, StringComparison.Ordinal);
        Assert.Equal(1, (await world.RunCommandAsync("tenants", "show", "nobody")).ExitCode);
    }

    [Fact]
    public async Task Two_central_instances_place_a_burst_of_new_tenants_consistently_and_a_restart_of_everything_changes_nothing()
    {
        // Given: two central workers consuming the same queues
        await using var world = await FleetWorld.StartAsync(endpoints, output, ("mqtt-north", "north"), ("mqtt-south", "south"));
        await world.StartCentralAsync();
        await world.StartCentralAsync();

        // When: 12 new tenants, 3 devices each, all at once
        var tenants = Enumerable.Range(0, 12).Select(i => $"burst-{i:00}").ToList();
        await Task.WhenAll(tenants.SelectMany(t => Enumerable.Range(0, 3).Select(d => world.PublishRegisteredAsync(t, $"d{d}"))));
        await world.Replies.WaitForAsync(r => r.Count(x => x.Type == nameof(CredentialsIssued)) == 36, _replyTimeout, world.Diagnostics);

        // Then: one group per tenant, every device of it told that group's endpoint and held by that group's broker only
        var placements = await PlacementsAsync(world);
        Assert.Equal(tenants, placements.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(2, placements.Values.Distinct().Count());
        foreach (var reply in world.Replies.All.Where(r => r.Type == nameof(CredentialsIssued)))
        {
            Assert.Equal(world.Frontends[placements[reply.TenantId!]].Port, reply.Issued.BrokerPort);
        }

        var files = world.Replicas.ToDictionary(r => r.Name, DeviceUsernames);
        foreach (var replica in world.Replicas)
        {
            var mine = tenants.Where(t => placements[t] == replica.Group).SelectMany(t => Enumerable.Range(0, 3).Select(d => $"{t}/d{d}")).Order(StringComparer.Ordinal);
            Assert.Equal(mine, files[replica.Name]);
        }

        // When: every process restarts
        foreach (var central in world.Centrals)
        {
            Assert.Equal(0, await central.StopAsync());
        }

        world.Centrals.Clear();
        foreach (var replica in world.Replicas)
        {
            await replica.Agent!.StopAsync();
            await replica.Broker.StopAsync();
            await replica.Broker.StartAgainAsync();
            await world.StartAgentAsync(replica);
        }

        await world.StartCentralAsync();
        await world.StartCentralAsync();
        await world.PublishRegisteredAsync(tenants[0], "after-restart");
        await world.Replies.WaitForOneAsync(nameof(CredentialsIssued), tenants[0], "after-restart", _replyTimeout, world.Diagnostics);

        // Then: placements unchanged, files unchanged but for the one new device
        Assert.Equal(placements.OrderBy(p => p.Key), (await PlacementsAsync(world)).OrderBy(p => p.Key));
        foreach (var replica in world.Replicas)
        {
            var expected = files[replica.Name].Concat(replica.Group == placements[tenants[0]] ? [$"{tenants[0]}/after-restart"] : []).Order(StringComparer.Ordinal);
            Assert.Equal(expected, DeviceUsernames(replica));
        }
    }

    private static async Task<CredentialsIssued> RegisterAsync(FleetWorld world, string tenant, string device)
    {
        await world.PublishRegisteredAsync(tenant, device);
        return (await world.Replies.WaitForOneAsync(nameof(CredentialsIssued), tenant, device, _replyTimeout, world.Diagnostics)).Issued;
    }

    private static async Task<Dictionary<string, string>> PlacementsAsync(FleetWorld world)
    {
        await using var connection = new NpgsqlConnection(world.Database.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT tenant_id, group_name FROM tenant_placements", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var placements = new Dictionary<string, string>(StringComparer.Ordinal);
        while (await reader.ReadAsync())
        {
            placements.Add(reader.GetString(0), reader.GetString(1));
        }

        return placements;
    }

    /// <summary>The device usernames in a replica's passwd file, sorted.</summary>
    private static List<string> DeviceUsernames(FleetWorld.Replica replica) =>
        File.ReadAllLines(replica.Broker.PasswdFile)
            .Select(line => line.Split(':', 2)[0])
            .Where(Devices.DeviceIdentity.IsDeviceUsername)
            .Order(StringComparer.Ordinal)
            .ToList();

    private static Task<bool> CanConnectAsync(int port, CredentialsIssued credential) =>
        MosquittoBroker.CanConnectAsync("127.0.0.1", port, credential.Username!, credential.Password!, () => string.Empty);
}
