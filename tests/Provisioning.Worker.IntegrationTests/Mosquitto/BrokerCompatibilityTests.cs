using System.Text;
using Provisioning.Worker.Mosquitto;

namespace Provisioning.Worker.IntegrationTests.Mosquitto;

/// <summary>Our hashes and files against the real Mosquitto 2.0 broker and the real mosquitto_passwd.</summary>
public sealed class BrokerCompatibilityTests : IDisposable
{
    private const UnixFileMode Mode0640 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead;
    private readonly string _directory = Directory.CreateTempSubdirectory("passwd-compat-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [InlineData(101)]
    [InlineData(1)]
    [InlineData(1000)]
    public async Task A_hash_made_by_this_code_is_accepted_by_the_broker_and_a_wrong_password_refused(int iterations)
    {
        // Given
        var file = PasswdFile.Empty();
        file.Set("device-like.user", MosquittoPasswordHash.Create("right password", iterations));
        await using var broker = await MosquittoBroker.StartAsync(file.Render());

        // When
        var right = await broker.CanConnectAsync("device-like.user", "right password");
        var wrong = await broker.CanConnectAsync("device-like.user", "wrong password");
        var unknown = await broker.CanConnectAsync("nobody", "right password");

        // Then
        Assert.True(right, broker.Log);
        Assert.False(wrong);
        Assert.False(unknown);
    }

    [Fact]
    public async Task A_user_set_after_start_is_accepted_after_a_SIGHUP_reload_and_refused_after_removal_and_reload()
    {
        // Given
        await using var broker = await MosquittoBroker.StartAsync();
        var store = new PasswdFileStore(broker.PasswdFile, Mode0640);
        await store.UpdateAsync(f => { f.Set("late", MosquittoPasswordHash.Create("pw", 101)); return 0; }, CancellationToken.None);
        Assert.False(await broker.CanConnectAsync("late", "pw"));

        // When
        await broker.ReloadAsync();
        var afterSet = await broker.CanConnectAsync("late", "pw");
        await store.UpdateAsync(f => f.Remove("late"), CancellationToken.None);
        await broker.ReloadAsync();
        var afterRemove = await broker.CanConnectAsync("late", "pw");

        // Then
        Assert.True(afterSet, broker.Log);
        Assert.False(afterRemove);
    }

    [Fact]
    public async Task A_file_with_comments_blank_lines_CRLF_and_padding_is_read_by_the_broker_as_this_parser_reads_it()
    {
        // Given
        var a = MosquittoPasswordHash.Create("pa", 1);
        var b = MosquittoPasswordHash.Create("pb", 1);
        var content = Encoding.UTF8.GetBytes($"# operators\n\n  spaced : {a} \r\ncrlf:{b}\r\nno separator\n");
        var parsed = PasswdFile.Parse(content);
        await using var broker = await MosquittoBroker.StartAsync(content);

        // When / Then
        Assert.Equal(["spaced", "crlf"], parsed.Usernames);
        Assert.True(await broker.CanConnectAsync("spaced", "pa"), broker.Log);
        Assert.True(await broker.CanConnectAsync("crlf", "pb"), broker.Log);
    }

    [Fact]
    public async Task The_broker_drops_a_user_whose_hash_Check_reports()
    {
        // Given: a 16-byte salt, which 2.1 would take and 2.0 refuses
        var good = MosquittoPasswordHash.Create("pw", 1).Split('$');
        var badSalt = $"$7$1${Convert.ToBase64String(new byte[16])}${good[4]}";
        var content = Encoding.UTF8.GetBytes($"bad:{badSalt}\nok:{MosquittoPasswordHash.Create("pw", 1)}\n");
        await using var broker = await MosquittoBroker.StartAsync(content);

        // When
        var problems = PasswdFile.Parse(content).Check();

        // Then
        Assert.Contains(problems, p => p.Contains("\"bad\"", StringComparison.Ordinal));
        Assert.False(await broker.CanConnectAsync("bad", "pw"));
        Assert.True(await broker.CanConnectAsync("ok", "pw"));
        Assert.Contains("salt for user bad", broker.Log, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new string[0], "$7$101$")]
    [InlineData(new[] { "-H", "sha512-pbkdf2" }, "$7$101$")]
    [InlineData(new[] { "-H", "sha512" }, "$6$")]
    public async Task A_line_made_by_mosquitto_passwd_verifies_with_this_code(string[] hashOption, string prefix)
    {
        // Given
        var path = Path.Combine(_directory, "passwd");
        var made = await ProcessRunner.RunAsync(RequiredTools.MosquittoPasswd, [.. hashOption, "-c", "-b", path, "ops", "s3cret pass"]);
        Assert.True(made.ExitCode == 0, made.ToString());

        // When
        var file = PasswdFile.Parse(await File.ReadAllBytesAsync(path));
        var hash = file.GetHash("ops");

        // Then
        Assert.NotNull(hash);
        Assert.StartsWith(prefix, hash, StringComparison.Ordinal);
        Assert.True(MosquittoPasswordHash.IsWellFormed(hash));
        Assert.Empty(file.Check());
        Assert.True(MosquittoPasswordHash.Verify("s3cret pass", hash));
        Assert.False(MosquittoPasswordHash.Verify("s3cret pasS", hash));
    }

    [Fact]
    public async Task The_broker_accepts_a_6_hash_made_by_mosquitto_passwd_as_this_code_verifies_it()
    {
        // Given
        var path = Path.Combine(_directory, "passwd");
        var made = await ProcessRunner.RunAsync(RequiredTools.MosquittoPasswd, ["-H", "sha512", "-c", "-b", path, "legacy", "old pw"]);
        Assert.True(made.ExitCode == 0, made.ToString());
        var content = await File.ReadAllBytesAsync(path);
        await using var broker = await MosquittoBroker.StartAsync(content);

        // When / Then
        Assert.True(MosquittoPasswordHash.Verify("old pw", PasswdFile.Parse(content).GetHash("legacy")));
        Assert.True(await broker.CanConnectAsync("legacy", "old pw"), broker.Log);
        Assert.False(await broker.CanConnectAsync("legacy", "old PW"));
    }

    [Fact]
    public async Task Lines_made_by_this_code_are_kept_and_understood_by_mosquitto_passwd()
    {
        // Given: a file written by this code
        var path = Path.Combine(_directory, "passwd");
        var store = new PasswdFileStore(path, Mode0640);
        await store.UpdateAsync(f => { f.Set("ours", MosquittoPasswordHash.Create("our pw", 101)); f.Set("gone", MosquittoPasswordHash.Create("x", 101)); return 0; }, CancellationToken.None);
        var ourLine = PasswdFile.Parse(await File.ReadAllBytesAsync(path)).Lines[0].Raw.ToArray();

        // When: mosquitto_passwd adds a user and deletes one of ours (it reports a line it cannot parse as corrupt)
        var added = await ProcessRunner.RunAsync(RequiredTools.MosquittoPasswd, ["-b", path, "theirs", "their pw"]);
        var deleted = await ProcessRunner.RunAsync(RequiredTools.MosquittoPasswd, ["-D", path, "gone"]);

        // Then
        Assert.True(added.ExitCode == 0 && added.Stderr.Length == 0, added.ToString());
        Assert.True(deleted.ExitCode == 0 && deleted.Stderr.Length == 0, deleted.ToString());
        var file = PasswdFile.Parse(await File.ReadAllBytesAsync(path));
        Assert.Equal(["ours", "theirs"], file.Usernames);
        Assert.Equal(ourLine, file.Lines[0].Raw.ToArray());
        Assert.True(MosquittoPasswordHash.Verify("their pw", file.GetHash("theirs")));
        await using var broker = await MosquittoBroker.StartAsync(await File.ReadAllBytesAsync(path));
        Assert.True(await broker.CanConnectAsync("ours", "our pw"), broker.Log);
        Assert.True(await broker.CanConnectAsync("theirs", "their pw"), broker.Log);
    }

    [Fact]
    public async Task An_operator_line_written_by_mosquitto_passwd_survives_edits_of_other_users_byte_for_byte()
    {
        // Given
        var path = Path.Combine(_directory, "passwd");
        var made = await ProcessRunner.RunAsync(RequiredTools.MosquittoPasswd, ["-c", "-b", path, "operator", "op pw"]);
        Assert.True(made.ExitCode == 0, made.ToString());
        var original = await File.ReadAllBytesAsync(path);
        var env = new Dictionary<string, string?> { ["Mosquitto__PasswdFile"] = path };

        // When: devices come and go through the worker's own code and its CLI
        var store = new PasswdFileStore(path, Mode0640);
        await store.UpdateAsync(f => { f.Set("t1.d1", MosquittoPasswordHash.Create("d1", 101)); f.Set("t1.d2", MosquittoPasswordHash.Create("d2", 101)); return 0; }, CancellationToken.None);
        var cliSet = await WorkerProcess.RunToExitAsync(["passwd", "set", "service"], env);
        await store.UpdateAsync(f => f.Remove("t1.d1"), CancellationToken.None);
        var cliDelete = await WorkerProcess.RunToExitAsync(["passwd", "delete", "service"], env);

        // Then
        Assert.True(cliSet.ExitCode == 0, cliSet.ToString());
        Assert.True(cliDelete.ExitCode == 0, cliDelete.ToString());
        var now = await File.ReadAllBytesAsync(path);
        Assert.Equal(original, now[..original.Length]);
        await using var broker = await MosquittoBroker.StartAsync(now);
        Assert.True(await broker.CanConnectAsync("operator", "op pw"), broker.Log);
        Assert.True(await broker.CanConnectAsync("t1.d2", "d2"), broker.Log);
        Assert.False(await broker.CanConnectAsync("t1.d1", "d1"));
    }
}
