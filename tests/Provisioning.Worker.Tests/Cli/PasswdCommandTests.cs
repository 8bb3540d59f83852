using Microsoft.Extensions.Configuration;
using Provisioning.Worker.Cli;
using Provisioning.Worker.Mosquitto;

namespace Provisioning.Worker.Tests.Cli;

/// <summary>The command run in process, as Program.cs will call it; the process-level contract is in the integration tests.</summary>
public sealed class PasswdCommandTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("passwd-cmd-").FullName;

    private string PasswdPath => Path.Combine(_directory, "passwd");

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private async Task<(int Exit, string Stdout, string Stderr)> Run(string stdin, Dictionary<string, string?> settings, params string[] args)
    {
        // The rest of the worker's Mosquitto section, as appsettings.json beside the worker gives it: the command validates it all.
        var worker = new Dictionary<string, string?> { ["Mosquitto:PidFile"] = "/run/mosquitto/mosquitto.pid", ["Mosquitto:BrokerHost"] = "localhost" };
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(worker).AddInMemoryCollection(settings).Build();
        using var input = new StringReader(stdin);
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await PasswdCommand.RunAsync(args, configuration, input, output, error, CancellationToken.None);
        return (exit, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task Set_then_check_then_list_work_against_the_configured_file()
    {
        // Given
        var settings = new Dictionary<string, string?> { ["Mosquitto:PasswdFile"] = PasswdPath, ["Mosquitto:OperatorHashIterations"] = "5" };

        // When
        var set = await Run("pw\n", settings, "set", "ops", "--password-stdin");
        var check = await Run("pw\n", settings, "check", "ops", "--password-stdin");
        var list = await Run("", settings, "list");

        // Then
        Assert.Equal((0, "", ""), set);
        Assert.Equal(0, check.Exit);
        Assert.Equal("ops" + Environment.NewLine, list.Stdout);
        Assert.StartsWith("$7$5$", PasswdFile.Parse(await File.ReadAllBytesAsync(PasswdPath)).GetHash("ops"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_file_option_wins_over_the_configuration_key()
    {
        // Given
        var settings = new Dictionary<string, string?> { ["Mosquitto:PasswdFile"] = Path.Combine(_directory, "configured") };

        // When
        var set = await Run("pw\n", settings, "set", "ops", "--password-stdin", "--file", PasswdPath);

        // Then
        Assert.Equal(0, set.Exit);
        Assert.True(File.Exists(PasswdPath));
        Assert.False(File.Exists(Path.Combine(_directory, "configured")));
    }

    [Theory]
    [InlineData("Mosquitto:PasswdFileMode", "0644")]
    [InlineData("Mosquitto:PasswdFileMode", "rw-r-----")]
    [InlineData("Mosquitto:HashIterations", "0")]
    [InlineData("Mosquitto:HashIterations", "many")]
    [InlineData("Mosquitto:HashIterations", "10000001")] // the worker's cap (Configuration/OptionsValidators.cs), once missing here
    [InlineData("Mosquitto:OperatorHashIterations", "0")]
    [InlineData("Mosquitto:MaxReloadShare", "0")]
    [InlineData("Mosquitto:MaxReloadShare", "1.5")]
    [InlineData("Mosquitto:PidFile", "")]
    public async Task Bad_configuration_exits_2_naming_the_key(string key, string value)
    {
        // Given
        var settings = new Dictionary<string, string?> { ["Mosquitto:PasswdFile"] = PasswdPath, [key] = value };

        // When
        var (exit, stdout, stderr) = await Run("", settings, "set", "ops");

        // Then
        Assert.Equal(2, exit);
        Assert.Contains(key, stderr, StringComparison.Ordinal);
        Assert.Empty(stdout);
        Assert.False(File.Exists(PasswdPath));
    }

    [Fact]
    public async Task A_password_with_NUL_from_stdin_is_refused_with_exit_2_without_echoing_it()
    {
        var (exit, _, stderr) = await Run("abc\0secretpart\n", new() { ["Mosquitto:PasswdFile"] = PasswdPath }, "set", "ops", "--password-stdin");
        Assert.Equal(2, exit);
        Assert.DoesNotContain("secretpart", stderr, StringComparison.Ordinal);
    }
}
