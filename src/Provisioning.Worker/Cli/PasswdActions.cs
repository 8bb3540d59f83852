using System.Security.Cryptography;
using Provisioning.Worker.Configuration;
using Provisioning.Worker.Devices;
using Provisioning.Worker.Mosquitto;
using Provisioning.Worker.Shared;
using static Provisioning.Worker.Cli.CommandExitCodes;

namespace Provisioning.Worker.Cli;

/// <summary>The actions of <see cref="PasswdCommand"/>, one instance per invocation: what each verb does with the configuration and the console it was given.</summary>
internal sealed class PasswdActions(IConfiguration configuration, TextReader stdin, TextWriter stdout, TextWriter stderr)
{
    public async Task<int> SetAsync(string? fileOption, string? username, bool passwordFromStdin, CancellationToken ct)
    {
        if (await ReadOptionsAsync(fileOption) is not (var target, var credentials))
        {
            return BadInput;
        }

        var store = new PasswdFileStore(target.PasswdFile, target.FileMode);

        if (!MosquittoUsername.TryValidate(username, out var problem))
        {
            return await FailAsync(BadInput, problem);
        }

        if (DeviceIdentity.IsDeviceUsername(username))
        {
            return await FailAsync(BadInput, $"username \"{SafeText.Ascii(username)}\" has a device form ({{tenantId}}/{{deviceId}}, or the earlier {{tenantId}}.{{deviceId}}); such lines are owned by the worker, which removes them when it rewrites the file. Choose a name without that form.");
        }

        string password;
        if (passwordFromStdin)
        {
            if (await ReadPasswordAsync(ct) is not { } read)
            {
                return BadInput;
            }

            password = read;
        }
        else
        {
            password = Base64Url(RandomNumberGenerator.GetBytes(32));
        }

        string hash;
        try
        {
            hash = MosquittoPasswordHash.Create(password, credentials.OperatorHashIterations);
        }
        catch (ArgumentException)
        {
            return await FailAsync(BadInput, "the password contains NUL or invalid UTF-16; Mosquitto could never match it.");
        }

        return await WithFileErrorsAsync(store, async () =>
        {
            var problems = await store.UpdateAsync(file => { file.Set(username, hash); return file.Check(); }, ct);
            await WarnAsync(problems);
            if (!passwordFromStdin)
            {
                await stdout.WriteLineAsync(password);
            }

            return Success;
        });
    }

    public async Task<int> DeleteAsync(string? fileOption, string? username, CancellationToken ct)
    {
        if (await ResolveStoreAsync(fileOption) is not { } store)
        {
            return BadInput;
        }

        if (!MosquittoUsername.TryValidate(username, out var problem))
        {
            return await FailAsync(BadInput, problem);
        }

        return await WithFileErrorsAsync(store, async () =>
        {
            var removed = await store.UpdateAsync(file => file.Remove(username), ct);
            return removed ? Success : await FailAsync(NotFound, $"user \"{SafeText.Ascii(username)}\" not found in {store.Path}");
        });
    }

    public async Task<int> CheckAsync(string? fileOption, string? username, bool passwordFromStdin, CancellationToken ct)
    {
        if (await ResolveStoreAsync(fileOption) is not { } store)
        {
            return BadInput;
        }

        if (!passwordFromStdin)
        {
            return await FailAsync(BadInput, "check reads the password from stdin: pass --password-stdin (passwords are never taken from the command line).");
        }

        if (!MosquittoUsername.TryValidate(username, out var problem))
        {
            return await FailAsync(BadInput, problem);
        }

        if (await ReadPasswordAsync(ct) is not { } password)
        {
            return BadInput;
        }

        return await WithFileErrorsAsync(store, async () =>
        {
            var file = await ReadAsync(store, ct);
            var shown = SafeText.Ascii(username);
            if (file?.GetHash(username) is not { } hash)
            {
                return await FailAsync(NotFound, $"user \"{shown}\" not found in {store.Path}");
            }

            if (!MosquittoPasswordHash.IsWellFormed(hash))
            {
                return await FailAsync(NotFound, $"user \"{shown}\" has a password hash that Mosquitto 2.0 cannot load; no password matches it.");
            }

            return MosquittoPasswordHash.Verify(password, hash)
                ? Success
                : await FailAsync(NotFound, $"the password does not match user \"{shown}\".");
        });
    }

    public async Task<int> ListAsync(string? fileOption, CancellationToken ct)
    {
        if (await ResolveStoreAsync(fileOption) is not { } store)
        {
            return BadInput;
        }

        return await WithFileErrorsAsync(store, async () =>
        {
            var file = await ReadAsync(store, ct);
            if (file is null)
            {
                await stderr.WriteLineAsync($"note: {store.Path} does not exist; no users.");
                return Success;
            }

            foreach (var name in file.Usernames)
            {
                await stdout.WriteLineAsync(name);
            }

            await WarnAsync(file.Check());
            return Success;
        });
    }

    public async Task<int> VerifyAsync(string? fileOption, bool json, TimeSpan timeout, CancellationToken ct) =>
        await ReadOptionsAsync(fileOption) is (var target, var credentials)
            ? await PasswdVerification.RunAsync(configuration, target, credentials, json, timeout, stdout, stderr, ct)
            : BadInput;

    private static async Task<PasswdFile?> ReadAsync(PasswdFileStore store, CancellationToken ct)
    {
        // Reading needs no lock: the file is only ever replaced by rename, never written in place.
        try
        {
            return PasswdFile.Parse(await File.ReadAllBytesAsync(store.Path, ct));
        }
        catch (FileNotFoundException)
        {
            return null;
        }
    }

    private async Task<PasswdFileStore?> ResolveStoreAsync(string? fileOption) =>
        await ReadOptionsAsync(fileOption) is (var target, _) ? new PasswdFileStore(target.PasswdFile, target.FileMode) : null;

    /// <summary>
    /// The worker's <c>Mosquitto</c> section, <c>--file</c> in place of its PasswdFile, validated as the worker validates it:
    /// both halves, though most verbs use only the target's file (<c>set</c> hashes with OperatorHashIterations, <c>verify</c>
    /// compares with HashIterations and the topic rules), so a key the worker would refuse is refused by every verb.
    /// </summary>
    private async Task<(BrokerTargetOptions Target, DeviceCredentialOptions Credentials)?> ReadOptionsAsync(string? fileOption)
    {
        try
        {
            return CommandOptions.Read<BrokerTargetOptions, DeviceCredentialOptions>(configuration, options =>
            {
                if (!string.IsNullOrWhiteSpace(fileOption))
                {
                    options.PasswdFile = fileOption;
                }
            });
        }
        catch (InvalidConfigurationException e)
        {
            await e.WriteToAsync(stderr);
            await stderr.WriteLineAsync($"(pass --file <path> for another password file; the other keys come from appsettings.json beside the worker and the environment, e.g. Mosquitto__PasswdFile for {PasswdCommand.FileKey})");
            return null;
        }
    }

    private async Task<string?> ReadPasswordAsync(CancellationToken ct)
    {
        // ReadLine strips the line ending ("\n" or "\r\n"); only the first line counts.
        var line = await stdin.ReadLineAsync(ct);
        if (string.IsNullOrEmpty(line))
        {
            await stderr.WriteLineAsync("error: no password on stdin: its first line is the password, and an empty one is refused.");
            return null;
        }

        return line;
    }

    private async Task<int> WithFileErrorsAsync(PasswdFileStore store, Func<Task<int>> action)
    {
        try
        {
            return await action();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return await FailAsync(BadInput, $"cannot use {store.Path}: {e.Message}");
        }
    }

    private async Task WarnAsync(IReadOnlyList<string> problems)
    {
        foreach (var problem in problems)
        {
            await stderr.WriteLineAsync($"warning: {problem}");
        }
    }

    private async Task<int> FailAsync(int exitCode, string message)
    {
        await stderr.WriteLineAsync($"error: {message}");
        return exitCode;
    }

    private static string Base64Url(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
