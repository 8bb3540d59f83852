namespace Provisioning.Worker.Projection;

/// <summary>What the projection last did, for health checks and operators.</summary>
public sealed class ProjectionStatus
{
    private readonly Lock _lock = new();
    private Snapshot _current = new(null, null, null, 0, [], []);

    public Snapshot Current
    {
        get
        {
            lock (_lock)
            {
                return _current;
            }
        }
    }

    public void Applied(DateTimeOffset at, int devices)
    {
        lock (_lock)
        {
            _current = _current with { LastAppliedAt = at, LastError = null, LastErrorAt = null, Devices = devices };
        }
    }

    public void Failed(DateTimeOffset at, string error)
    {
        lock (_lock)
        {
            _current = _current with { LastError = error, LastErrorAt = at };
        }
    }

    public void OperatorLineProblems(IReadOnlyList<string> problems)
    {
        lock (_lock)
        {
            _current = _current with { OperatorProblems = problems };
        }
    }

    public void OperatorAclProblems(IReadOnlyList<string> problems)
    {
        lock (_lock)
        {
            _current = _current with { OperatorAclProblems = problems };
        }
    }

    public sealed record Snapshot(
        DateTimeOffset? LastAppliedAt, string? LastError, DateTimeOffset? LastErrorAt, int Devices, IReadOnlyList<string> OperatorProblems, IReadOnlyList<string> OperatorAclProblems);
}
