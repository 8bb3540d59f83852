using System.CommandLine;
using Provisioning.Worker.Configuration;
using static Provisioning.Worker.Cli.CommandExitCodes;

namespace Provisioning.Worker.Cli;

/// <summary>
/// <c>passwd set|delete|check|list</c>: the in-process twin of mosquitto_passwd, on the same file, lock and
/// rules as the worker; <c>passwd verify</c> compares the file with the database. Exit codes: 0 ok (in step); 1 user
/// not found, password mismatch, or drift; 2 bad input or an unusable file (reason on stderr); 3 the database
/// unusable. Passwords are never taken from the command line, and neither passwords nor hashes are ever written out.
/// </summary>
public static class PasswdCommand
{
    internal const string FileKey = $"{BrokerTargetOptions.SectionName}:{nameof(BrokerTargetOptions.PasswdFile)}";

    public static async Task<int> RunAsync(string[] args, IConfiguration configuration, TextReader stdin, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(stdin);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);

        var fileOption = new Option<string?>("--file")
        {
            Description = $"The password file; default: the configuration key {FileKey}.",
            Recursive = true,
        };
        var user = new Argument<string>("user") { Description = "The MQTT username." };
        var passwordStdin = new Option<bool>("--password-stdin") { Description = "Read the password from the first line of stdin." };

        var set = new Command("set", "Set a user's password; without --password-stdin a random one is generated and printed once on stdout.") { user, passwordStdin };
        var delete = new Command("delete", "Remove a user.") { user };
        var check = new Command("check", "Check a user's password read from stdin.") { user, passwordStdin };
        var list = new Command("list", "List the usernames (never the hashes).");
        var json = new Option<bool>("--json") { Description = "Print JSON for scripts instead of text." };
        var timeout = DevicesCommand.TimeoutOption();
        var verify = new Command("verify", "Compare the device lines of the file with the database: missing, stale, deleted, unknown, unconfirmed. Exit 0 in step, 1 on drift, 3 database unreachable.")
        {
            json, timeout,
        };
        var root = new RootCommand("Manage the Mosquitto password file.") { set, delete, check, list, verify };
        root.Options.Add(fileOption);

        var session = new PasswdActions(configuration, stdin, stdout, stderr);
        set.SetAction((result, token) => session.SetAsync(result.GetValue(fileOption), result.GetValue(user), result.GetValue(passwordStdin), token));
        delete.SetAction((result, token) => session.DeleteAsync(result.GetValue(fileOption), result.GetValue(user), token));
        check.SetAction((result, token) => session.CheckAsync(result.GetValue(fileOption), result.GetValue(user), result.GetValue(passwordStdin), token));
        list.SetAction((result, token) => session.ListAsync(result.GetValue(fileOption), token));
        verify.SetAction((result, token) => session.VerifyAsync(result.GetValue(fileOption), result.GetValue(json), TimeSpan.FromSeconds(result.GetValue(timeout)), token));

        var parsed = root.Parse(args);
        if (parsed.UnmatchedTokens.Count > 0)
        {
            // The unexpected token may be a password typed on the command line: never echo it.
            await stderr.WriteLineAsync($"error: {parsed.UnmatchedTokens.Count} unexpected argument(s). Passwords are never taken from the command line; use --password-stdin.");
            return BadInput;
        }

        if (parsed.Errors.Count > 0)
        {
            foreach (var error in parsed.Errors)
            {
                await stderr.WriteLineAsync($"error: {error.Message}");
            }

            await stderr.WriteLineAsync("usage: passwd set <user> [--password-stdin] | delete <user> | check <user> --password-stdin | list | verify [--json] [--timeout <seconds>]   [--file <path>]");
            return BadInput;
        }

        return await parsed.InvokeAsync(new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false }, ct);
    }
}
