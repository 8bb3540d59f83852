namespace Provisioning.Worker.Cli;

/// <summary>An operator command: its arguments (after the command word), the worker's configuration and the console.</summary>
public delegate Task<int> OperatorCommand(string[] args, IConfiguration configuration, TextReader stdin, TextWriter stdout, TextWriter stderr, CancellationToken ct);

public enum StartKind
{
    /// <summary>Run the worker host with <see cref="StartRequest.Arguments"/> as its arguments.</summary>
    Worker,

    /// <summary>Run the worker host as a broker agent (<c>agent</c>), with <see cref="StartRequest.Arguments"/> as its arguments.</summary>
    Agent,

    /// <summary>Run <see cref="StartRequest.Command"/> with <see cref="StartRequest.Arguments"/>.</summary>
    OperatorCommand,

    /// <summary>Print the usage on stdout; exit 0.</summary>
    Help,

    /// <summary>A first word that is neither a command nor a host argument: print the usage on stderr, exit 2.</summary>
    UnknownWord,
}

public sealed record StartRequest(StartKind Kind, string[] Arguments, string? Word = null, OperatorCommand? Command = null);

/// <summary>
/// What the first argument of the process asks for. The worker starts only without a command word (or with
/// <c>run</c>): a mistyped command must never start a second consumer and projector. The host's own arguments
/// still start it: they are recognised by their form, never a bare word — <c>--urls http://…</c>,
/// <c>--Key=Value</c>, <c>--Key Value</c>, <c>/Key=Value</c>, <c>Key=Value</c> (configuration overrides).
/// </summary>
public static class StartCommandLine
{
    public const int UnknownWordExitCode = CommandExitCodes.BadInput;

    public const string RunWord = "run";

    public const string AgentWord = "agent";

    public const string Usage =
        """
        usage: Provisioning.Worker [run] [--Key=Value | --Key Value]...   run the worker (host arguments override configuration)
               Provisioning.Worker agent [--Key=Value | --Key Value]...   keep one broker of a fleet (Agent__Broker, Agent__Group; docs/fleet.md)
               Provisioning.Worker devices show <tenant> <device> | list [--tenant <t>] [--status active|deleted] [--limit <n>]   [--json]
               Provisioning.Worker passwd set|delete|check|list|verify ...
               Provisioning.Worker dead-letters list|replay|purge --queue <q> ...
               Provisioning.Worker brokers list | out <name> | in <name> | forget <name>   [--json]
               Provisioning.Worker tenants list | show <tenantId>   [--json]
               Provisioning.Worker help
        Each command reads the worker's configuration (appsettings.json beside the binary, then the environment) and takes --help.
        """;

    private static readonly Dictionary<string, OperatorCommand> _commands = new(StringComparer.Ordinal)
    {
        ["devices"] = DevicesCommand.RunAsync,
        ["passwd"] = PasswdCommand.RunAsync,
        ["dead-letters"] = DeadLettersCommand.RunAsync,
        ["brokers"] = BrokersCommand.RunAsync,
        ["tenants"] = TenantsCommand.RunAsync,
    };

    public static StartRequest Parse(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Length == 0)
        {
            return new StartRequest(StartKind.Worker, args);
        }

        var first = args[0];
        if (_commands.TryGetValue(first, out var command))
        {
            return new StartRequest(StartKind.OperatorCommand, args[1..], first, command);
        }

        return first switch
        {
            RunWord => new StartRequest(StartKind.Worker, args[1..], first),
            AgentWord => new StartRequest(StartKind.Agent, args[1..], first),
            "help" or "--help" or "-h" or "-?" => new StartRequest(StartKind.Help, args[1..], first),
            _ when IsHostArgument(first) => new StartRequest(StartKind.Worker, args),
            _ => new StartRequest(StartKind.UnknownWord, args[1..], first),
        };
    }

    /// <summary>The forms .NET's command-line configuration provider reads: a switch, or a key=value pair.</summary>
    internal static bool IsHostArgument(string argument) =>
        argument.StartsWith('-') || argument.StartsWith('/') || argument.Contains('=', StringComparison.Ordinal);
}
