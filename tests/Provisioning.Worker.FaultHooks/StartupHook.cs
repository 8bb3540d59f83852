using System.Diagnostics;

/// <summary>
/// Loaded by the runtime before the worker's Main when <c>DOTNET_STARTUP_HOOKS</c> names this assembly (the type must
/// be called StartupHook, in no namespace). With <c>FAULT_HOOK_CRASH_ON_MESSAGE_ID</c> set, it listens to
/// MassTransit's activities and, when a consumer starts on that message, kills the process on the spot
/// (<see cref="Environment.FailFast(string)"/>: no exception to catch, no finally, no ack) — a poison message that
/// takes the process down rather than throwing. Inert without the variable.
/// </summary>
internal static class StartupHook
{
    public const string Variable = "FAULT_HOOK_CRASH_ON_MESSAGE_ID";

    private static ActivityListener? _listener;

    public static void Initialize()
    {
        if (Environment.GetEnvironmentVariable(Variable) is not { Length: > 0 } poison)
        {
            return;
        }

        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "MassTransit",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStarted = activity =>
            {
                // The consumer's own activity (it names the consumer type), started after the endpoint's filters.
                if (activity.GetTagItem("messaging.masstransit.consumer_type") is not null
                    && string.Equals(activity.GetTagItem("messaging.masstransit.message_id") as string, poison, StringComparison.OrdinalIgnoreCase))
                {
                    Console.Error.WriteLine($"fault hook: poison message {poison} reached a consumer; the process dies now");
                    Console.Error.Flush();
                    Environment.FailFast($"fault hook: poison message {poison}");
                }
            },
        };
        ActivitySource.AddActivityListener(_listener);
    }
}
