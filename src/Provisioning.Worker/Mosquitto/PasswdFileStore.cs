using Provisioning.Worker.Configuration;
using Provisioning.Worker.Shared;

namespace Provisioning.Worker.Mosquitto;

/// <summary>
/// The passwd file on disk: an exclusive cross-process lock on <c>&lt;path&gt;.lock</c> (the file itself is
/// replaced by rename, so it cannot carry the lock) and atomic replacement under it.
/// </summary>
public sealed class PasswdFileStore
{
    private static readonly Backoff _lockRetry = new(TimeSpan.FromMilliseconds(2), TimeSpan.FromMilliseconds(50));
    private readonly TimeProvider _clock;

    /// <param name="path">the passwd file.</param>
    /// <param name="mode">its mode, and the lock file's.</param>
    /// <param name="clock">what the wait for the lock runs on; the system clock when not given (the CLI).</param>
    /// <exception cref="ArgumentException">the path is empty, or the mode is looser than 0640.</exception>
    public PasswdFileStore(string path, UnixFileMode mode, TimeProvider? clock = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!BrokerTargetOptions.IsStrictEnough(mode))
        {
            throw new ArgumentException($"The passwd file mode {BrokerTargetOptions.FormatFileMode(mode)} is looser than 0640: others get nothing, the group at most read.", nameof(mode));
        }

        Path = System.IO.Path.GetFullPath(path);
        Mode = mode;
        _clock = clock ?? TimeProvider.System;
        Directory = System.IO.Path.GetDirectoryName(Path)!;
        LockPath = Path + ".lock";
    }

    public string Path { get; }

    public UnixFileMode Mode { get; }

    public string LockPath { get; }

    internal string Directory { get; }

    /// <summary>
    /// Waits for the exclusive lock. .NET takes a non-blocking flock(LOCK_EX) for <see cref="FileShare.None"/>,
    /// so waiting is a poll with a short, growing, jittered delay that honours <paramref name="cancellationToken"/>.
    /// </summary>
    public async Task<PasswdFileLock> LockAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                var options = new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.ReadWrite, Share = FileShare.None };
                if (!OperatingSystem.IsWindows())
                {
                    options.UnixCreateMode = Mode;
                }

                var stream = new FileStream(LockPath, options);
                return new PasswdFileLock(this, stream);
            }
            catch (IOException e) when (IsHeldByAnother(e))
            {
                // The jitter keeps two writers that collided from polling in step.
                await Task.Delay(_lockRetry.Delay(attempt) + TimeSpan.FromMilliseconds(Random.Shared.Next(0, 3)), _clock, cancellationToken);
            }
        }
    }

    /// <summary>Lock, read and parse (a missing file is empty), change, write back when the bytes changed (a missing file left empty is not created).</summary>
    public async Task<T> UpdateAsync<T>(Func<PasswdFile, T> change, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(change);
        await using var held = await LockAsync(cancellationToken);
        var content = await held.ReadAsync(cancellationToken);
        var file = content is null ? PasswdFile.Empty() : PasswdFile.Parse(content);
        var result = change(file);
        var rendered = file.Render();
        if (!rendered.AsSpan().SequenceEqual(content ?? []))
        {
            await held.ReplaceAsync((stream, ct) => stream.WriteAsync(rendered, ct), cancellationToken);
        }

        return result;
    }

    // EWOULDBLOCK from flock: .NET reports it as a plain IOException whose HResult is the errno (11 on Linux).
    private static bool IsHeldByAnother(IOException e) => e.GetType() == typeof(IOException) && e.HResult == 11;
}
