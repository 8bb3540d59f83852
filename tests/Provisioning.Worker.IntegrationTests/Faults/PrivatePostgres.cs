using System.Globalization;
using Npgsql;

namespace Provisioning.Worker.IntegrationTests.Faults;

/// <summary>
/// A PostgreSQL cluster of its own (initdb in a temp directory, a free loopback port), for the scenarios that stop
/// or restart the server: the shared one on 5432 serves other engineers' tests and must never be touched. Run as
/// the <c>postgres</c> user when the tests run as root (initdb refuses root). Trust authentication on loopback;
/// the superuser is <c>provisioning</c>.
/// </summary>
public sealed class PrivatePostgres : IAsyncDisposable
{
    private const string User = "provisioning";
    private readonly string _bin;

    private PrivatePostgres(string directory, string bin, int port)
    {
        Directory = directory;
        _bin = bin;
        Port = port;
    }

    public string Directory { get; }

    public int Port { get; }

    public string DataDirectory => Path.Combine(Directory, "data");

    public string LogFile => Path.Combine(Directory, "postgres.log");

    public string Log => File.Exists(LogFile) ? File.ReadAllText(LogFile) : "(no log)";

    /// <summary>The maintenance database; tests create their own beside it.</summary>
    public string ServerConnectionString => ConnectionString("postgres");

    public bool IsRunning { get; private set; }

    public static async Task<PrivatePostgres> StartAsync()
    {
        var bin = FindBinaries();
        var directory = System.IO.Directory.CreateTempSubdirectory("pg-fault-").FullName;
        var postgres = new PrivatePostgres(directory, bin, FreePort.Next());
        await Run("chown", ["-R", RunAsUser ?? Environment.UserName, directory]);
        var initdb = await postgres.RunAsPostgresAsync("initdb", ["-D", postgres.DataDirectory, "-A", "trust", "-U", User, "--no-sync", "-E", "UTF8", "--locale", "C"]);
        Assert.True(initdb.ExitCode == 0, $"initdb failed: {initdb}");
        await postgres.StartServerAsync();
        return postgres;
    }

    public string ConnectionString(string database) =>
        new NpgsqlConnectionStringBuilder { Host = "127.0.0.1", Port = Port, Username = User, Password = User, Database = database }.ConnectionString;

    /// <summary>A fresh database on this server; it goes with the server.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = $"fault_{Guid.NewGuid():N}";
        await using var connection = new NpgsqlConnection(ServerConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
        await command.ExecuteNonQueryAsync();
        return ConnectionString(name);
    }

    /// <summary><c>pg_ctl start</c>, waiting until it accepts connections.</summary>
    public async Task StartServerAsync()
    {
        var options = string.Join(' ', [
            $"-p {Port.ToString(CultureInfo.InvariantCulture)}",
            "-c listen_addresses=127.0.0.1",
            $"-c unix_socket_directories={Directory}",
            "-c fsync=off",
            "-c full_page_writes=off",
            "-c max_connections=200",
            "-c log_min_messages=warning",
        ]);
        var start = await RunAsPostgresAsync("pg_ctl", ["-D", DataDirectory, "-l", LogFile, "-o", options, "-w", "-t", "60", "start"]);
        Assert.True(start.ExitCode == 0, $"pg_ctl start failed: {start}\n{Log}");
        IsRunning = true;
    }

    /// <summary>
    /// <c>pg_ctl stop -m fast</c>: every session is terminated (SQLSTATE 57P01), as in a restart by an operator or a
    /// failover; clients then find the port closed until <see cref="StartServerAsync"/>.
    /// </summary>
    public async Task StopServerAsync()
    {
        var stop = await RunAsPostgresAsync("pg_ctl", ["-D", DataDirectory, "-m", "fast", "-w", "-t", "60", "stop"]);
        Assert.True(stop.ExitCode == 0, $"pg_ctl stop failed: {stop}\n{Log}");
        IsRunning = false;
    }

    public async Task RestartAsync()
    {
        await StopServerAsync();
        await StartServerAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (IsRunning)
        {
            await RunAsPostgresAsync("pg_ctl", ["-D", DataDirectory, "-m", "immediate", "-w", "stop"]);
        }

        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp directory is harmless.
        }
    }

    /// <summary>The user the server runs as: <c>postgres</c> when the tests run as root, else the current user.</summary>
    private static string? RunAsUser => Environment.UserName == "root" ? "postgres" : null;

    private Task<ProcessResult> RunAsPostgresAsync(string program, IEnumerable<string> args)
    {
        var path = Path.Combine(_bin, program);
        return RunAsUser is { } user
            ? Run("runuser", ["-u", user, "--", path, .. args])
            : Run(path, args);
    }

    private static Task<ProcessResult> Run(string program, IEnumerable<string> args) =>
        ProcessRunner.RunAsync(program, args, timeout: TimeSpan.FromSeconds(90));

    /// <summary>Debian keeps the server programs in /usr/lib/postgresql/&lt;version&gt;/bin; the newest is used.</summary>
    private static string FindBinaries()
    {
        const string Root = "/usr/lib/postgresql";
        var candidates = System.IO.Directory.Exists(Root)
            ? System.IO.Directory.GetDirectories(Root)
                .Select(d => Path.Combine(d, "bin"))
                .Where(d => File.Exists(Path.Combine(d, "initdb")) && File.Exists(Path.Combine(d, "pg_ctl")))
                .OrderByDescending(d => int.TryParse(Path.GetFileName(Path.GetDirectoryName(d)), out var v) ? v : 0)
                .ToList()
            : [];
        return candidates.FirstOrDefault() ?? throw new InvalidOperationException(
            $"No PostgreSQL server programs (initdb, pg_ctl) under {Root}/<version>/bin: the fault scenarios start a private PostgreSQL " +
            "to stop and restart it. Install Debian's postgresql package (scripts/deps.sh does).");
    }
}
