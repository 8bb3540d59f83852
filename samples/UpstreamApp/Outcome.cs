namespace UpstreamApp;

/// <summary>A device as <c>tenant/device</c> on the command line; the ids go to the worker as typed, valid or not.</summary>
public sealed record DeviceKey(string TenantId, string DeviceId)
{
    public static DeviceKey Parse(string text) =>
        text.Split('/', 2) is [var tenant, var device] ? new DeviceKey(tenant, device) : new DeviceKey(text, string.Empty);

    public override string ToString() => $"{TenantId}/{DeviceId}";
}

public enum OutcomeKind
{
    Issued,
    Revoked,
    Rejected,
    TimedOut,
    Failed,
}

/// <summary>What became of one request, printed as one line: <c>&lt;kind&gt; &lt;tenant&gt;/&lt;device&gt; &lt;details&gt;</c>.</summary>
public sealed record Outcome(OutcomeKind Kind, DeviceKey Device, string Details)
{
    public string Line => $"{Word(Kind)} {Device} {Details}";

    /// <summary>0 every device done, 1 one was rejected (a bad input: fix it), 3 one got no answer (a dependency unreachable or too slow).</summary>
    public static int ExitCode(IEnumerable<Outcome> outcomes)
    {
        var kinds = outcomes.Select(o => o.Kind).ToHashSet();
        return kinds.Contains(OutcomeKind.TimedOut) || kinds.Contains(OutcomeKind.Failed) ? 3
            : kinds.Contains(OutcomeKind.Rejected) ? 1
            : 0;
    }

    private static string Word(OutcomeKind kind) => kind switch
    {
        OutcomeKind.Issued => "issued",
        OutcomeKind.Revoked => "revoked",
        OutcomeKind.Rejected => "rejected",
        OutcomeKind.TimedOut => "timeout",
        _ => "failed",
    };
}
