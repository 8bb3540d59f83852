using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Provisioning.Worker.Mosquitto;

/// <summary>The few libc calls .NET does not expose: a file's group, chown, fsync of a directory.</summary>
internal static partial class NativeMethods
{
    private const int AtFdCwd = -100;
    private const uint StatxGid = 0x10;
    private const int ORdOnly = 0;
    private const int EPerm = 1;

    /// <summary>The group id of <paramref name="path"/>, or null when it cannot be read.</summary>
    internal static uint? GetGroupId(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        // struct statx has the same layout on every architecture: stx_mask at 0, stx_uid at 20, stx_gid at 24; 256 bytes.
        var buffer = new byte[256];
        if (Statx(AtFdCwd, path, 0, StatxGid, ref buffer[0]) != 0)
        {
            return null;
        }

        var mask = BinaryPrimitives.ReadUInt32LittleEndian(buffer);
        if (!BitConverter.IsLittleEndian || (mask & StatxGid) == 0)
        {
            return null;
        }

        return BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(24));
    }

    /// <summary>Gives <paramref name="path"/> the group <paramref name="groupId"/>; false (not an error) when not permitted.</summary>
    internal static bool TrySetGroup(string path, uint groupId)
    {
        if (Chown(path, uint.MaxValue, groupId) == 0)
        {
            return true;
        }

        var errno = Marshal.GetLastPInvokeError();
        if (errno == EPerm)
        {
            return false;
        }

        throw new IOException($"chown of '{path}' to group {groupId} failed with errno {errno}.", errno);
    }

    /// <summary>Makes a rename in <paramref name="directory"/> durable.</summary>
    internal static void FsyncDirectory(string directory)
    {
        var fd = Open(directory, ORdOnly);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException($"Opening directory '{directory}' for fsync failed with errno {errno}.", errno);
        }

        try
        {
            if (Fsync(fd) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                throw new IOException($"fsync of directory '{directory}' failed with errno {errno}.", errno);
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Statx(int dirFd, string path, int flags, uint mask, ref byte buffer);

    [LibraryImport("libc", EntryPoint = "chown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Chown(string path, uint owner, uint group);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
