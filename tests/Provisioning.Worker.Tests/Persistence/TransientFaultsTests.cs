using Microsoft.EntityFrameworkCore;
using Npgsql;
using Provisioning.Worker.Persistence;

namespace Provisioning.Worker.Tests.Persistence;

public class TransientFaultsTests
{
    private static PostgresException Postgres(string sqlState) =>
        new("message", "ERROR", "ERROR", sqlState);

    [Theory]
    [InlineData(PostgresErrorCodes.SerializationFailure)]
    [InlineData(PostgresErrorCodes.DeadlockDetected)]
    [InlineData(PostgresErrorCodes.AdminShutdown)]
    [InlineData(PostgresErrorCodes.CannotConnectNow)]
    public void Database_states_that_pass_are_retried(string sqlState) =>
        Assert.True(TransientFaults.IsTransient(new DbUpdateException("wrapped", Postgres(sqlState))));

    [Theory]
    [InlineData(PostgresErrorCodes.UndefinedTable)]
    [InlineData(PostgresErrorCodes.InvalidTextRepresentation)]
    public void Database_errors_that_will_not_pass_are_not_retried(string sqlState) =>
        Assert.False(TransientFaults.IsTransient(Postgres(sqlState)));

    [Fact]
    public void IO_and_timeouts_are_retried_and_programming_errors_are_not()
    {
        Assert.True(TransientFaults.IsTransient(new IOException("disk")));
        Assert.True(TransientFaults.IsTransient(new InvalidOperationException("outer", new TimeoutException())));
        Assert.False(TransientFaults.IsTransient(new InvalidOperationException("bug")));
        Assert.False(TransientFaults.IsTransient(new ArgumentException("bad")));
    }
}
