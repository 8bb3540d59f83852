using System.Runtime.Versioning;
using Microsoft.Extensions.Configuration;
using Provisioning.Worker.Cli;
using Provisioning.Worker.Configuration;

namespace Provisioning.Worker.Tests.Secrets;

[UnsupportedOSPlatform("windows")]
public sealed class SecretsOptionsValidatorTests : IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("secrets-options-");

    [Fact]
    public void A_key_ring_directory_to_be_created_or_of_mode_0700_passes()
    {
        var existing = Directory.CreateDirectory(Path.Combine(_root.FullName, "keys"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        Assert.True(Validate(Path.Combine(_root.FullName, "absent")).Succeeded);
        Assert.True(Validate(existing.FullName).Succeeded);
    }

    [Fact]
    public void A_key_ring_that_group_or_others_may_enter_stops_the_worker_naming_the_key_and_the_mode()
    {
        var loose = Directory.CreateDirectory(Path.Combine(_root.FullName, "keys"));
        File.SetUnixFileMode(loose.FullName, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute);

        var result = Validate(loose.FullName);

        Assert.True(result.Failed);
        Assert.Contains($"Secrets:KeyRingDirectory is '{loose.FullName}' with mode 0750", result.FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "Secrets:KeyRingDirectory is required")]
    [InlineData("/no/such/parent/keys", "Secrets:KeyRingDirectory is '/no/such/parent/keys', but its parent directory '/no/such/parent' does not exist")]
    public void A_missing_or_unreachable_key_ring_names_the_key(string directory, string expected)
    {
        var result = Validate(directory);

        Assert.True(result.Failed);
        Assert.Contains(expected, result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void The_default_key_ring_is_worker_keys_beside_the_passwd_file() =>
        Assert.Equal("/var/lib/provisioning/mosquitto/worker-keys", SecretsOptions.DefaultFor("/var/lib/provisioning/mosquitto/passwd"));

    [Fact]
    public void Bound_as_the_worker_and_its_commands_bind_it_the_key_ring_defaults_beside_the_passwd_file_and_a_configured_one_wins()
    {
        var passwd = Path.Combine(_root.FullName, "passwd");
        IConfiguration Configuration(params (string Key, string Value)[] values) =>
            new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => KeyValuePair.Create(v.Key, (string?)v.Value))).Build();

        var byDefault = CommandOptions.Read<SecretsOptions>(Configuration(("Mosquitto:PasswdFile", passwd)));
        var configured = CommandOptions.Read<SecretsOptions>(Configuration(("Mosquitto:PasswdFile", passwd), ("Secrets:KeyRingDirectory", Path.Combine(_root.FullName, "elsewhere"))));

        Assert.Equal(Path.Combine(_root.FullName, "worker-keys"), byDefault.KeyRingDirectory);
        Assert.Equal(Path.Combine(_root.FullName, "elsewhere"), configured.KeyRingDirectory);
    }

    public void Dispose() => _root.Delete(recursive: true);

    private static Microsoft.Extensions.Options.ValidateOptionsResult Validate(string directory) =>
        new SecretsOptionsValidator().Validate(null, new SecretsOptions { KeyRingDirectory = directory });
}
