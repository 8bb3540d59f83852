using System.Globalization;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Provisioning.Worker.Health;

/// <summary>
/// Ends a check at its timeout whether or not the check observes its cancellation token, and gives the check a scope
/// of its own that lives until the check really ends. Npgsql does not return at the token while it waits for a server
/// that keeps the connection open and answers nothing (the PostgreSQL black-hole fault scenario: the check ran the
/// connection timeout, 15 s, and <c>/health/ready</c> did not answer at all), and the health service disposes the
/// check's scope — its database connection — the moment the check returns, which would block on the running query.
/// </summary>
internal sealed class BoundedHealthCheck(IServiceScopeFactory scopes, Func<IServiceProvider, IHealthCheck> factory, TimeSpan timeout) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var scope = scopes.CreateAsyncScope();
        Task<HealthCheckResult> check;
        try
        {
            check = factory(scope.ServiceProvider).CheckHealthAsync(context, cancellationToken);
        }
        catch
        {
            await scope.DisposeAsync();
            throw;
        }

        _ = check.ContinueWith(
            async ended =>
            {
                _ = ended.Exception; // observed: an abandoned check's failure is no longer anyone's news
                await scope.DisposeAsync();
            },
            CancellationToken.None,
            TaskContinuationOptions.None,
            TaskScheduler.Default).Unwrap();

        try
        {
            // The health service cancels the token at the registration's timeout (Health:CheckTimeout).
            return await check.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (!check.IsCompleted)
        {
            return new HealthCheckResult(
                context.Registration.FailureStatus,
                $"No answer within {timeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s ({HealthOptions.SectionName}:{nameof(HealthOptions.CheckTimeout)}).");
        }
    }
}
