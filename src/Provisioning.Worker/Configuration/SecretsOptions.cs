namespace Provisioning.Worker.Configuration;

/// <summary>The <c>Secrets</c> section: where the key that encrypts undelivered passwords lives (docs/operations.md "Keys").</summary>
public sealed class SecretsOptions
{
    public const string SectionName = "Secrets";

    /// <summary>The directory beside <c>Mosquitto:PasswdFile</c> that holds the key ring when none is configured.</summary>
    public const string DefaultDirectoryName = "worker-keys";

    /// <summary>
    /// The ASP.NET Core Data Protection key ring: a directory outside PostgreSQL, only the worker's user may enter it
    /// (mode 0700, created so when absent). Empty: <see cref="DefaultDirectoryName"/> beside <c>Mosquitto:PasswdFile</c>,
    /// filled in at binding (so the validated, logged value is the one used). Every instance that shares a database
    /// must share the key ring.
    /// </summary>
    public string KeyRingDirectory { get; set; } = string.Empty;

    /// <summary>The directory used when <see cref="KeyRingDirectory"/> is not set.</summary>
    public static string DefaultFor(string passwdFile) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(passwdFile)) ?? "/", DefaultDirectoryName);
}
