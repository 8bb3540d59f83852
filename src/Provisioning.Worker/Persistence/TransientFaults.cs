using System.Net.Sockets;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Provisioning.Worker.Persistence;

/// <summary>Which failures are worth retrying: decided by exception type and SqlState, never by message text.</summary>
public static class TransientFaults
{
    public static bool IsTransient(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case PostgresException postgres:
                    return postgres.IsTransient
                        || postgres.SqlState is PostgresErrorCodes.SerializationFailure or PostgresErrorCodes.DeadlockDetected
                            or PostgresErrorCodes.UniqueViolation or PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CannotConnectNow;
                case NpgsqlException npgsql when npgsql.IsTransient:
                case TimeoutException:
                case IOException:
                case SocketException:
                case DbUpdateConcurrencyException:
                    return true;
            }
        }

        return false;
    }
}
