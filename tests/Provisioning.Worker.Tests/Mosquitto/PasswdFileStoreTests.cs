using System.Runtime.Versioning;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using Provisioning.Worker.Mosquitto;

namespace Provisioning.Worker.Tests.Mosquitto;

[UnsupportedOSPlatform("windows")]
public sealed class PasswdFileStoreTests : IDisposable
{
    private const UnixFileMode Mode0640 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead;
    private readonly string _directory = Directory.CreateTempSubdirectory("passwd-store-").FullName;

    private string PasswdPath => Path.Combine(_directory, "passwd");

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [InlineData(0b110_100_100)] // 0644
    [InlineData(0b110_110_000)] // 0660
    [InlineData(0b110_100_001)] // 0641
    public void A_mode_looser_than_0640_is_refused_naming_the_mode(int mode)
    {
        var e = Assert.Throws<ArgumentException>(() => new PasswdFileStore(PasswdPath, (UnixFileMode)mode));
        Assert.Contains(Convert.ToString(mode, 8), e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Update_creates_the_file_with_the_configured_mode_whatever_the_umask_allows()
    {
        // Given
        var store = new PasswdFileStore(PasswdPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        // When
        await store.UpdateAsync(f => { f.Set("ops", MosquittoPasswordHash.Create("pw", 1)); return 0; }, CancellationToken.None);

        // Then
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(PasswdPath));
        Assert.StartsWith("ops:$7$1$", await File.ReadAllTextAsync(PasswdPath), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Replace_tightens_the_mode_of_an_existing_looser_file()
    {
        // Given
        await File.WriteAllTextAsync(PasswdPath, "x:y\n");
        File.SetUnixFileMode(PasswdPath, (UnixFileMode)0b110_110_110);
        var store = new PasswdFileStore(PasswdPath, Mode0640);

        // When
        await using (var held = await store.LockAsync(CancellationToken.None))
        {
            await held.ReplaceAsync((s, ct) => s.WriteAsync("a:b\n"u8.ToArray(), ct), CancellationToken.None);
        }

        // Then
        Assert.Equal(Mode0640, File.GetUnixFileMode(PasswdPath));
        Assert.Equal("a:b\n", await File.ReadAllTextAsync(PasswdPath));
    }

    [Fact]
    public async Task Read_returns_null_when_the_file_does_not_exist()
    {
        var store = new PasswdFileStore(PasswdPath, Mode0640);
        await using var held = await store.LockAsync(CancellationToken.None);
        Assert.Null(await held.ReadAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_failed_write_leaves_the_old_file_and_no_temp_file()
    {
        // Given
        await File.WriteAllTextAsync(PasswdPath, "old:content\n");
        var store = new PasswdFileStore(PasswdPath, Mode0640);

        // When
        await using (var held = await store.LockAsync(CancellationToken.None))
        {
            await Assert.ThrowsAsync<InvalidOperationException>(() => held.ReplaceAsync(async (s, ct) =>
            {
                await s.WriteAsync("half"u8.ToArray(), ct);
                throw new InvalidOperationException("boom");
            }, CancellationToken.None));
        }

        // Then
        Assert.Equal("old:content\n", await File.ReadAllTextAsync(PasswdPath));
        Assert.Equal(["passwd", "passwd.lock"], Directory.GetFiles(_directory).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_second_lock_waits_until_the_first_is_released_and_retries_on_the_given_clock()
    {
        // Given
        var clock = new FakeTimeProvider();
        var store = new PasswdFileStore(PasswdPath, Mode0640, clock);
        var first = await store.LockAsync(CancellationToken.None);

        // When: the second finds the lock held, then the first is released while the clock stands still
        var second = store.LockAsync(CancellationToken.None);
        var waitedWhileHeld = !second.IsCompleted;
        await first.DisposeAsync();
        await Task.Delay(100); // real time: a retry on the system clock (2 ms) would have taken the lock by now
        var waitedForTheClock = !second.IsCompleted;
        clock.Advance(TimeSpan.FromMilliseconds(5));
        await using var acquired = await second.WaitAsync(TimeSpan.FromSeconds(10));

        // Then
        Assert.True(waitedWhileHeld, "the second lock was granted while the first was held");
        Assert.True(waitedForTheClock, "the retry did not wait on the given clock");
    }

    [Fact]
    public async Task Waiting_for_the_lock_honours_cancellation()
    {
        // Given
        var store = new PasswdFileStore(PasswdPath, Mode0640);
        await using var first = await store.LockAsync(CancellationToken.None);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));

        // When / Then
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.LockAsync(cts.Token));
    }

    [Fact]
    public async Task Concurrent_updates_in_one_process_lose_no_change()
    {
        // Given
        var store = new PasswdFileStore(PasswdPath, Mode0640);
        var hash = MosquittoPasswordHash.Create("pw", 1);

        // When
        await Task.WhenAll(Enumerable.Range(0, 40).Select(i => Task.Run(() =>
            store.UpdateAsync(f => { f.Set($"user{i}", hash); return 0; }, CancellationToken.None))));

        // Then
        var file = PasswdFile.Parse(await File.ReadAllBytesAsync(PasswdPath));
        Assert.Equal(40, file.Usernames.Count());
        Assert.Empty(file.Check());
    }

    [Fact]
    public async Task Update_keeps_lines_it_does_not_touch_byte_for_byte()
    {
        // Given
        var original = Encoding.UTF8.GetBytes("# ops\r\nops:$6$QttTyQ5wj0ZOx4CM$hMZiIIcgc7/u9Xma0lV6Zkkv3HWJNCzOrAlxCP3EBIGab+d9F9pyxC9C5XwxQYWo3uCD+zv0gvBpgqSiJWHvpg==\r\n\n");
        await File.WriteAllBytesAsync(PasswdPath, original);
        var store = new PasswdFileStore(PasswdPath, Mode0640);

        // When
        await store.UpdateAsync(f => { f.Set("t.d", MosquittoPasswordHash.Create("x", 1)); return 0; }, CancellationToken.None);

        // Then
        var written = await File.ReadAllBytesAsync(PasswdPath);
        Assert.Equal(original, written[..original.Length]);
    }

    [Fact]
    public async Task Delete_of_an_absent_user_does_not_create_the_file()
    {
        var store = new PasswdFileStore(PasswdPath, Mode0640);
        var removed = await store.UpdateAsync(f => f.Remove("nobody"), CancellationToken.None);
        Assert.False(removed);
        Assert.False(File.Exists(PasswdPath));
    }
}
