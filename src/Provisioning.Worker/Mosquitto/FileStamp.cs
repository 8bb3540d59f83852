namespace Provisioning.Worker.Mosquitto;

/// <summary>What tells whether a file is still the one last written: its modification time and length.</summary>
internal sealed record FileStamp(DateTime LastWriteUtc, long Length)
{
    public static FileStamp? Of(string path)
    {
        var info = new FileInfo(path);
        return info.Exists ? new FileStamp(info.LastWriteTimeUtc, info.Length) : null;
    }
}
