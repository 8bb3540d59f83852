using Npgsql;
using Provisioning.Worker.Persistence;

namespace Provisioning.Worker.Tests.Persistence;

public sealed class WorkerConnectionStringTests
{
    [Fact]
    public void Turns_jit_off_and_keeps_the_rest()
    {
        var result = new NpgsqlConnectionStringBuilder(WorkerConnectionString.For("Host=db;Database=provisioning;Username=worker;Password=secret"));

        Assert.Equal("-c jit=off", result.Options);
        Assert.Equal("db", result.Host);
        Assert.Equal("provisioning", result.Database);
        Assert.Equal("worker", result.Username);
        Assert.Equal("secret", result.Password);
    }

    [Fact]
    public void Adds_to_the_options_already_there()
    {
        var result = new NpgsqlConnectionStringBuilder(WorkerConnectionString.For("Host=db;Options=-c statement_timeout=5000"));

        Assert.Equal("-c statement_timeout=5000 -c jit=off", result.Options);
    }

    [Fact]
    public void Leaves_a_jit_setting_of_the_operator_alone()
    {
        var result = new NpgsqlConnectionStringBuilder(WorkerConnectionString.For("Host=db;Options=-c jit=on"));

        Assert.Equal("-c jit=on", result.Options);
    }

    [Fact]
    public void Bounds_the_connect_and_with_it_the_cancellation_of_a_timed_out_statement()
    {
        var result = new NpgsqlConnectionStringBuilder(WorkerConnectionString.For("Host=db"));

        Assert.Equal(WorkerConnectionString.ConnectTimeoutSeconds, result.Timeout);
    }

    [Theory]
    [InlineData("Host=db;Timeout=15")]
    [InlineData("Host=db;timeout=15")]
    public void Leaves_a_connect_timeout_of_the_operator_alone(string connectionString)
    {
        var result = new NpgsqlConnectionStringBuilder(WorkerConnectionString.For(connectionString));

        Assert.Equal(15, result.Timeout);
    }
}
