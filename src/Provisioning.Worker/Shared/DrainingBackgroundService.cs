namespace Provisioning.Worker.Shared;

/// <summary>
/// A background service that finishes the unit of work it has begun when the host stops, instead of abandoning it:
/// <c>stoppingToken</c> ends the loop and its waits, while the work in progress runs on <see cref="AbortToken"/>,
/// which is cancelled only if the host's shutdown timeout (<c>Provisioning:ShutdownTimeout</c>) runs out first.
/// An abandoned cycle costs no data (the database holds everything), but a reply claimed and not sent waits for its
/// lease to run out after the restart, and a send cut mid-way is logged as a fault.
/// </summary>
public abstract class DrainingBackgroundService : BackgroundService
{
    private readonly CancellationTokenSource _abort = new();

    /// <summary>For work already begun: cancelled only when the host gives up waiting for the shutdown.</summary>
    protected CancellationToken AbortToken => _abort.Token;

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await using var registration = cancellationToken.Register(_abort.Cancel);
        await base.StopAsync(cancellationToken);
    }

    public override void Dispose()
    {
        _abort.Dispose();
        base.Dispose();
        GC.SuppressFinalize(this);
    }
}
