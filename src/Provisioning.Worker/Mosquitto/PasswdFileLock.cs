namespace Provisioning.Worker.Mosquitto;

/// <summary>The exclusive lock of a <see cref="PasswdFileStore"/>; released on dispose.</summary>
public sealed class PasswdFileLock : IAsyncDisposable
{
    private readonly PasswdFileStore _store;
    private FileStream? _lockStream;

    internal PasswdFileLock(PasswdFileStore store, FileStream lockStream)
    {
        _store = store;
        _lockStream = lockStream;
    }

    /// <summary>The current content of the passwd file, or null when it does not exist.</summary>
    public async Task<byte[]?> ReadAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_lockStream is null, this);
        try
        {
            return await File.ReadAllBytesAsync(_store.Path, cancellationToken);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
    }

    /// <summary>
    /// Replaces the passwd file atomically: a temp file in the same directory with the configured mode (set
    /// explicitly too, so the umask changes nothing) and the previous file's group where permitted, the content,
    /// fsync, rename over the target, fsync of the directory. The temp file is removed on failure.
    /// </summary>
    public async Task ReplaceAsync(Func<Stream, CancellationToken, ValueTask> writeContent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(writeContent);
        ObjectDisposedException.ThrowIf(_lockStream is null, this);
        var temp = Path.Combine(_store.Directory, $".{Path.GetFileName(_store.Path)}.{Guid.NewGuid():N}.tmp");
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = _store.Mode;
            }

            var stream = new FileStream(temp, options);
            await using (stream)
            {
                if (NativeMethods.GetGroupId(_store.Path) is { } group)
                {
                    NativeMethods.TrySetGroup(temp, group);
                }

                if (!OperatingSystem.IsWindows())
                {
                    File.SetUnixFileMode(stream.SafeFileHandle, _store.Mode);
                }
                await writeContent(stream, cancellationToken);
                await stream.FlushAsync(cancellationToken);
                stream.Flush(flushToDisk: true);
            }

            cancellationToken.ThrowIfCancellationRequested();
            File.Move(temp, _store.Path, overwrite: true);
        }
        catch
        {
            try
            {
                File.Delete(temp);
            }
            catch (IOException)
            {
                // The original failure matters more than a leftover temp file.
            }

            throw;
        }

        NativeMethods.FsyncDirectory(_store.Directory);
    }

    public async ValueTask DisposeAsync()
    {
        if (_lockStream is { } stream)
        {
            _lockStream = null;
            await stream.DisposeAsync();
        }
    }
}
