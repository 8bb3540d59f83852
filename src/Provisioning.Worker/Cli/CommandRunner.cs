using System.CommandLine;
using Provisioning.Worker.Configuration;

namespace Provisioning.Worker.Cli;

/// <summary>What every operator command does the same way: parse, report bad input, run against the database.</summary>
internal static class CommandRunner
{
    /// <summary>Parses <paramref name="args"/>; on an error, prints it and <paramref name="usage"/> (exit 2), else runs the chosen action.</summary>
    public static async Task<int> InvokeAsync(Command root, string[] args, string usage, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var error in parsed.Errors)
            {
                await stderr.WriteLineAsync($"error: {error.Message}");
            }

            await stderr.WriteLineAsync(usage);
            return CommandExitCodes.BadInput;
        }

        return await parsed.InvokeAsync(new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false }, ct);
    }

    /// <summary>
    /// Runs <paramref name="action"/> on the worker's database (<c>ConnectionStrings:Provisioning</c>), each read bounded
    /// by <paramref name="timeoutSeconds"/>: invalid configuration exits 2 naming the key, an unreachable database 3.
    /// </summary>
    public static async Task<int> WithDatabaseAsync(IConfiguration configuration, TextWriter stderr, string applicationName, double timeoutSeconds, Func<OperatorDatabase, Task<int>> action)
    {
        try
        {
            var options = CommandOptions.Read<DatabaseOptions>(configuration);
            await using var database = OperatorDatabase.Open(options, applicationName, TimeSpan.FromSeconds(timeoutSeconds), TimeProvider.System);
            return await action(database);
        }
        catch (InvalidConfigurationException e)
        {
            await e.WriteToAsync(stderr);
            return CommandExitCodes.BadInput;
        }
        catch (DatabaseUnavailableException e)
        {
            await stderr.WriteLineAsync($"error: {e.Message}");
            return CommandExitCodes.Unavailable;
        }
    }
}
