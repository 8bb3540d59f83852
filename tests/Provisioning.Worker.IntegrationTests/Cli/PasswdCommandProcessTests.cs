using System.Runtime.Versioning;
using Provisioning.Worker.Mosquitto;

namespace Provisioning.Worker.IntegrationTests.Cli;

/// <summary>The <c>passwd</c> commands run as real worker processes: exit codes, stdout, stderr, files.</summary>
[UnsupportedOSPlatform("windows")]
public sealed class PasswdCommandProcessTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("passwd-cli-").FullName;

    private string PasswdPath => Path.Combine(_directory, "passwd");

    private Dictionary<string, string?> Env => new() { ["Mosquitto__PasswdFile"] = PasswdPath };

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private Task<ProcessResult> RunWithStdin(string stdin, params string[] args) => WorkerProcess.RunToExitAsync(["passwd", .. args], Env, stdin);

    private Task<ProcessResult> Run(params string[] args) => WorkerProcess.RunToExitAsync(["passwd", .. args], Env);

    [Fact]
    public async Task Set_without_a_password_prints_a_generated_43_character_password_once_that_the_broker_accepts()
    {
        // When
        var result = await Run("set", "service");

        // Then
        Assert.True(result.ExitCode == 0, result.ToString());
        var password = result.Stdout.TrimEnd('\n');
        Assert.Matches("^[A-Za-z0-9_-]{43}$", password);
        Assert.Equal(password + "\n", result.Stdout);
        Assert.Empty(result.Stderr);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead, File.GetUnixFileMode(PasswdPath));
        await using var broker = await MosquittoBroker.StartAsync(await File.ReadAllBytesAsync(PasswdPath));
        Assert.True(await broker.CanConnectAsync("service", password), broker.Log);
    }

    [Fact]
    public async Task Set_with_password_stdin_takes_the_first_line_without_its_CRLF_and_prints_nothing()
    {
        // When
        var result = await RunWithStdin("pw from stdin\r\nsecond line\n", "set", "service", "--password-stdin");

        // Then
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Empty(result.Stdout);
        Assert.Empty(result.Stderr);
        var hash = PasswdFile.Parse(await File.ReadAllBytesAsync(PasswdPath)).GetHash("service");
        Assert.True(MosquittoPasswordHash.Verify("pw from stdin", hash));
        Assert.StartsWith("$7$101$", hash, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Set_uses_the_configured_operator_iteration_count_not_the_devices()
    {
        // When
        var result = await WorkerProcess.RunToExitAsync(["passwd", "set", "service", "--password-stdin"], new Dictionary<string, string?>(Env) { ["Mosquitto__OperatorHashIterations"] = "2000" }, "pw\n");

        // Then
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.StartsWith("$7$2000$", PasswdFile.Parse(await File.ReadAllBytesAsync(PasswdPath)).GetHash("service"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Set_with_an_empty_first_line_on_stdin_is_refused_with_exit_2()
    {
        var result = await RunWithStdin("\nsecond\n", "set", "service", "--password-stdin");
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("empty", result.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(PasswdPath));
    }

    [Fact]
    public async Task A_password_on_the_command_line_is_refused_with_exit_2_and_never_echoed()
    {
        // When
        var result = await Run("set", "service", "hunter2-on-argv");

        // Then
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("--password-stdin", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2-on-argv", result.Stderr + result.Stdout, StringComparison.Ordinal);
        Assert.False(File.Exists(PasswdPath));
    }

    [Theory]
    [InlineData("a:b", "a:b")]
    [InlineData("new\nline", "new\\u000Aline")]
    [InlineData("del\u007F", "del\\u007F")]
    [InlineData("#hash", "#hash")]
    [InlineData(" lead", " lead")]
    public async Task Set_refuses_an_illegal_username_with_exit_2_naming_it_escaped(string username, string shown)
    {
        // When
        var result = await Run("set", username);

        // Then
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains($"\"{shown}\"", result.Stderr, StringComparison.Ordinal);
        Assert.Empty(result.Stdout);
        Assert.False(File.Exists(PasswdPath));
    }

    [Fact]
    public async Task Set_refuses_an_empty_username_with_exit_2()
    {
        var result = await Run("set", "");
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("empty", result.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("acme/sensor-1")]
    [InlineData("acme.sensor-1")] // the earlier form: still the worker's
    public async Task Set_refuses_a_username_of_the_device_form_because_the_worker_owns_those_lines(string username)
    {
        // When
        var result = await Run("set", username);

        // Then
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains($"\"{username}\"", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("owned by the worker", result.Stderr, StringComparison.Ordinal);
        Assert.Empty(result.Stdout);
        Assert.False(File.Exists(PasswdPath));
    }

    [Fact]
    public async Task Delete_removes_an_existing_user_with_exit_0_and_reports_a_missing_one_with_exit_1()
    {
        // Given
        Assert.Equal(0, (await RunWithStdin("pw\n", "set", "service", "--password-stdin")).ExitCode);
        Assert.Equal(0, (await RunWithStdin("pw\n", "set", "other", "--password-stdin")).ExitCode);

        // When
        var first = await Run("delete", "service");
        var second = await Run("delete", "service");

        // Then
        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Empty(first.Stderr);
        Assert.True(second.ExitCode == 1, second.ToString());
        Assert.Contains("\"service\" not found", second.Stderr, StringComparison.Ordinal);
        Assert.Equal(["other"], PasswdFile.Parse(await File.ReadAllBytesAsync(PasswdPath)).Usernames);
    }

    [Fact]
    public async Task Delete_on_a_missing_file_exits_1_and_creates_nothing()
    {
        var result = await Run("delete", "service");
        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.False(File.Exists(PasswdPath));
    }

    [Fact]
    public async Task Check_exits_0_for_the_right_password_1_for_a_wrong_one_or_an_unknown_user_and_never_prints_either()
    {
        // Given
        Assert.Equal(0, (await RunWithStdin("right-pw\n", "set", "service", "--password-stdin")).ExitCode);
        var hash = PasswdFile.Parse(await File.ReadAllBytesAsync(PasswdPath)).GetHash("service")!;

        // When
        var right = await RunWithStdin("right-pw\n", "check", "service", "--password-stdin");
        var wrong = await RunWithStdin("wrong-pw\n", "check", "service", "--password-stdin");
        var unknown = await RunWithStdin("right-pw\n", "check", "nobody", "--password-stdin");

        // Then
        Assert.True(right.ExitCode == 0, right.ToString());
        Assert.True(wrong.ExitCode == 1, wrong.ToString());
        Assert.Contains("does not match", wrong.Stderr, StringComparison.Ordinal);
        Assert.True(unknown.ExitCode == 1, unknown.ToString());
        Assert.Contains("not found", unknown.Stderr, StringComparison.Ordinal);
        foreach (var output in new[] { right, wrong, unknown }.SelectMany(r => new[] { r.Stdout, r.Stderr }))
        {
            Assert.DoesNotContain("right-pw", output, StringComparison.Ordinal);
            Assert.DoesNotContain("wrong-pw", output, StringComparison.Ordinal);
            Assert.DoesNotContain(hash.Split('$')[4], output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Check_verifies_a_line_written_by_mosquitto_passwd()
    {
        // Given
        var made = await ProcessRunner.RunAsync(RequiredTools.MosquittoPasswd, ["-c", "-b", PasswdPath, "operator", "op pw"]);
        Assert.True(made.ExitCode == 0, made.ToString());

        // When
        var result = await RunWithStdin("op pw\n", "check", "operator", "--password-stdin");

        // Then
        Assert.True(result.ExitCode == 0, result.ToString());
    }

    [Fact]
    public async Task Check_without_password_stdin_is_refused_with_exit_2()
    {
        var result = await RunWithStdin("pw\n", "check", "service");
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("--password-stdin", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task List_prints_usernames_only_never_hashes_and_reports_problems_without_hashes_on_stderr()
    {
        // Given
        Assert.Equal(0, (await RunWithStdin("pw\n", "set", "alpha", "--password-stdin")).ExitCode);
        Assert.Equal(0, (await RunWithStdin("pw\n", "set", "beta", "--password-stdin")).ExitCode);
        await File.AppendAllTextAsync(PasswdPath, "broken:$7$101$notbase64$nope\n");

        // When
        var result = await Run("list");

        // Then
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("alpha\nbeta\nbroken\n", result.Stdout);
        Assert.DoesNotContain("$7$", result.Stdout + result.Stderr, StringComparison.Ordinal);
        Assert.Contains("line 3", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("notbase64", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task List_accepts_the_file_as_an_option_instead_of_configuration()
    {
        // Given
        var other = Path.Combine(_directory, "other");
        Assert.Equal(0, (await WorkerProcess.RunToExitAsync(["passwd", "set", "viaoption", "--password-stdin", "--file", other], null, "pw\n")).ExitCode);

        // When
        var result = await WorkerProcess.RunToExitAsync(["passwd", "list", "--file", other]);

        // Then
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("viaoption\n", result.Stdout);
    }

    [Theory]
    [InlineData("list")]
    [InlineData("set", "service")]
    [InlineData("delete", "service")]
    public async Task Every_command_without_a_file_exits_2_naming_the_configuration_key(params string[] args)
    {
        // When
        // appsettings.json names a default file; an empty value is how an operator unsets it.
        var result = await WorkerProcess.RunToExitAsync(["passwd", .. args], new Dictionary<string, string?> { ["Mosquitto__PasswdFile"] = "" });

        // Then
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("Mosquitto:PasswdFile", result.Stderr, StringComparison.Ordinal);
        Assert.Empty(result.Stdout);
    }

    [Fact]
    public async Task A_mode_looser_than_0640_is_refused_with_exit_2_naming_the_key()
    {
        // When
        var result = await WorkerProcess.RunToExitAsync(["passwd", "set", "service"], new Dictionary<string, string?>(Env) { ["Mosquitto__PasswdFileMode"] = "0644" });

        // Then
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("Mosquitto:PasswdFileMode", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("0644", result.Stderr, StringComparison.Ordinal);
        Assert.Empty(result.Stdout);
        Assert.False(File.Exists(PasswdPath));
    }

    [Fact]
    public async Task An_iteration_count_the_worker_refuses_is_refused_here_too_naming_the_key()
    {
        // When: above the worker's cap (Configuration/OptionsValidators.cs), which this command once did not apply
        var result = await WorkerProcess.RunToExitAsync(["passwd", "set", "service"], new Dictionary<string, string?>(Env) { ["Mosquitto__HashIterations"] = "10000001" });

        // Then
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("Mosquitto:HashIterations is 10000001; it must be between 1 and 10000000.", result.Stderr, StringComparison.Ordinal);
        Assert.Empty(result.Stdout);
        Assert.False(File.Exists(PasswdPath));
    }

    [Fact]
    public async Task A_restrictive_umask_does_not_change_the_configured_mode()
    {
        // When
        var result = await WorkerProcess.RunInShellAsync("umask 077", ["passwd", "set", "service"], Env);

        // Then
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead, File.GetUnixFileMode(PasswdPath));
    }

    [Fact]
    public async Task Rewriting_keeps_the_group_of_the_previous_file()
    {
        // Given: the file belongs to another group, as /etc/mosquitto/passwd belongs to group mosquitto
        Assert.Equal(0, (await RunWithStdin("pw\n", "set", "first", "--password-stdin")).ExitCode);
        var groups = (await ProcessRunner.RunAsync("id", ["-G"])).Stdout.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var isRoot = (await ProcessRunner.RunAsync("id", ["-u"])).Stdout.Trim() == "0";
        var target = isRoot ? "65534" : groups.Last();
        var chgrp = await ProcessRunner.RunAsync("chgrp", [target, PasswdPath]);
        Assert.True(chgrp.ExitCode == 0, chgrp.ToString());

        // When
        var result = await Run("set", "second");

        // Then
        Assert.True(result.ExitCode == 0, result.ToString());
        var group = (await ProcessRunner.RunAsync("stat", ["-c", "%g", PasswdPath])).Stdout.Trim();
        Assert.Equal(target, group);
    }

    [Fact]
    public async Task No_command_or_an_unknown_one_exits_2_with_usage_on_stderr()
    {
        var none = await Run();
        var unknown = await Run("frobnicate");
        Assert.True(none.ExitCode == 2, none.ToString());
        Assert.True(unknown.ExitCode == 2, unknown.ToString());
        Assert.NotEmpty(none.Stderr);
        Assert.DoesNotContain("frobnicate", unknown.Stderr, StringComparison.Ordinal);
    }
}
