using System.Net;
using System.Text;
using Npgsql;
using RabbitMQ.Client;

namespace Provisioning.Worker.IntegrationTests.Infrastructure;

/// <summary>The test infrastructure itself, against the real servers.</summary>
[Collection(ServicesCollection.Name)]
public sealed class InfrastructureSmokeTests(ServiceEndpoints endpoints)
{
    [Fact]
    public async Task A_test_database_is_fresh_usable_and_dropped_on_dispose()
    {
        // Given
        var database = await TestDatabase.CreateAsync(endpoints);
        await using (database)
        {
            // When
            await using var connection = new NpgsqlConnection(database.ConnectionString);
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand("CREATE TABLE probe (id int PRIMARY KEY); INSERT INTO probe VALUES (1), (2);", connection);
            await create.ExecuteNonQueryAsync();
            await using var query = new NpgsqlCommand("SELECT current_database(), (SELECT count(*) FROM probe)", connection);
            await using var reader = await query.ExecuteReaderAsync();
            Assert.True(await reader.ReadAsync());

            // Then
            Assert.Equal(database.Name, reader.GetString(0));
            Assert.Equal(2L, reader.GetInt64(1));
        }

        Assert.False(await DatabaseExistsAsync(database.Name));
    }

    [Fact]
    public async Task Two_test_databases_do_not_see_each_other()
    {
        // Given
        await using var first = await TestDatabase.CreateAsync(endpoints);
        await using var second = await TestDatabase.CreateAsync(endpoints);
        await using (var connection = new NpgsqlConnection(first.ConnectionString))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand("CREATE TABLE only_in_first (id int)", connection);
            await create.ExecuteNonQueryAsync();
        }

        // When
        await using var other = new NpgsqlConnection(second.ConnectionString);
        await other.OpenAsync();
        await using var query = new NpgsqlCommand("SELECT to_regclass('only_in_first') IS NULL", other);

        // Then
        Assert.NotEqual(first.Name, second.Name);
        Assert.True((bool)(await query.ExecuteScalarAsync())!);
    }

    [Fact]
    public async Task A_message_published_into_a_test_virtual_host_is_seen_through_the_management_api_and_stays_queued()
    {
        // Given
        await using var vhost = await TestVirtualHost.CreateAsync(endpoints);
        var factory = new ConnectionFactory { Uri = vhost.AmqpUri };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync(
            new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
        await channel.QueueDeclareAsync("smoke", durable: true, exclusive: false, autoDelete: false);

        // When
        var properties = new BasicProperties { ContentType = "text/plain", MessageId = "smoke-1" };
        await channel.BasicPublishAsync(string.Empty, "smoke", mandatory: true, properties, Encoding.UTF8.GetBytes("hello"));

        // Then
        await vhost.WaitForQueueDepthAsync("smoke", 1);
        var message = Assert.Single(await vhost.GetMessagesAsync("smoke", count: 10));
        Assert.Equal("hello", message.Payload);
        Assert.Equal("smoke-1", message.Properties.GetProperty("message_id").GetString());
        var stillQueued = await channel.QueueDeclarePassiveAsync("smoke");
        Assert.Equal(1u, stillQueued.MessageCount);
    }

    [Fact]
    public async Task A_test_virtual_host_is_deleted_on_dispose()
    {
        // Given
        var vhost = await TestVirtualHost.CreateAsync(endpoints);

        // When
        await vhost.DisposeAsync();

        // Then
        using var response = await endpoints.Management.GetAsync($"api/vhosts/{Uri.EscapeDataString(vhost.Name)}");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    private async Task<bool> DatabaseExistsAsync(string name)
    {
        await using var connection = new NpgsqlConnection(endpoints.PostgresConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT EXISTS (SELECT FROM pg_database WHERE datname = @name)", connection);
        command.Parameters.AddWithValue("name", name);
        return (bool)(await command.ExecuteScalarAsync())!;
    }
}
