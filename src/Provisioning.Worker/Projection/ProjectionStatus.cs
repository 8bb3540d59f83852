namespace Provisioning.Worker.Projection;

/// <summary>What the projection last did, for health checks, metrics and operators.</summary>
public sealed class ProjectionStatus
{
    private readonly Lock _lock = new();
    private Snapshot _current = new(null, null, null, 0, [], []);

    /// <summary>When the last successful cycle began (its read saw every change committed before), once the files were rebuilt from a full read since the start; else null.</summary>
    public DateTimeOffset? InEffectSince
    {
        get
        {
            lock (_lock)
            {
                return _current.InEffectSince;
            }
        }
    }

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

    /// <summary>A cycle that began at <paramref name="began"/> succeeded; <paramref name="fromFullRead"/>: it wrote the files from a full read.</summary>
    public void CycleSucceeded(DateTimeOffset began, bool fromFullRead)
    {
        lock (_lock)
        {
            if (fromFullRead || _current.InEffectSince is not null)
            {
                _current = _current with { InEffectSince = began };
            }
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
        DateTimeOffset? LastAppliedAt, string? LastError, DateTimeOffset? LastErrorAt, int Devices, IReadOnlyList<string> OperatorProblems, IReadOnlyList<string> OperatorAclProblems)
    {
        public DateTimeOffset? InEffectSince { get; init; }
    }
}
