using Provisioning.Worker.Mosquitto;

namespace Provisioning.Worker.IntegrationTests.Mosquitto;

public sealed class ConcurrentWritersTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("passwd-race-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Two_loops_of_worker_processes_setting_and_deleting_users_in_one_file_lose_no_change()
    {
        // Given
        var path = Path.Combine(_directory, "passwd");
        var made = await ProcessRunner.RunAsync(RequiredTools.MosquittoPasswd, ["-c", "-b", path, "operator", "op pw"]);
        Assert.True(made.ExitCode == 0, made.ToString());
        var operatorLine = PasswdFile.Parse(await File.ReadAllBytesAsync(path)).Lines[0].Raw.ToArray();
        var env = new Dictionary<string, string?> { ["Mosquitto__PasswdFile"] = path };
        const int Users = 8;
        const int Deleted = 3;

        async Task Loop(string prefix)
        {
            for (var i = 0; i < Users; i++)
            {
                var set = await WorkerProcess.RunToExitAsync(["passwd", "set", $"{prefix}{i}", "--password-stdin"], env, $"{prefix}-pw-{i}\n");
                Assert.True(set.ExitCode == 0, set.ToString());
                if (i < Deleted)
                {
                    continue;
                }

                var delete = await WorkerProcess.RunToExitAsync(["passwd", "delete", $"{prefix}{i - Deleted}"], env);
                Assert.True(delete.ExitCode == 0, delete.ToString());
            }
        }

        // When: an in-process writer races the two process loops too
        var inProcess = Task.Run(async () =>
        {
            var store = new PasswdFileStore(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
            for (var i = 0; i < 20; i++)
            {
                await store.UpdateAsync(f => { f.Set($"inproc{i}", MosquittoPasswordHash.Create("p", 1)); return 0; }, CancellationToken.None);
                await Task.Delay(10);
            }
        });
        await Task.WhenAll(Loop("a"), Loop("b"), inProcess);

        // Then
        var file = PasswdFile.Parse(await File.ReadAllBytesAsync(path));
        var expected = new[] { "operator" }
            .Concat(Enumerable.Range(0, 20).Select(i => $"inproc{i}"))
            .Concat(Enumerable.Range(Users - Deleted, Deleted).SelectMany(i => new[] { $"a{i}", $"b{i}" }))
            .Order(StringComparer.Ordinal);
        Assert.Equal(expected, file.Usernames.Order(StringComparer.Ordinal));
        Assert.Empty(file.Check());
        Assert.Equal(operatorLine, file.Lines[0].Raw.ToArray());
        Assert.True(MosquittoPasswordHash.Verify($"a-pw-{Users - 1}", file.GetHash($"a{Users - 1}")));
        Assert.DoesNotContain(Directory.GetFiles(_directory), f => f.EndsWith(".tmp", StringComparison.Ordinal));
    }
}
