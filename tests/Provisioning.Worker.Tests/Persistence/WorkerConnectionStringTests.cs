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
}
