using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.Extensions.Options;
using Provisioning.Worker.Configuration;

namespace Provisioning.Worker.Secrets;

/// <summary>
/// The key ring of the passwords at rest: ASP.NET Core Data Protection with its keys as XML files in
/// <c>Secrets:KeyRingDirectory</c>, a directory of mode 0700 outside PostgreSQL. Data Protection creates a key when
/// none is valid, rotates to a new one every 90 days and keeps the old ones for decryption (docs/operations.md "Keys").
/// </summary>
public static class KeyRing
{
    /// <summary>Data Protection's application name: instances installed in different directories share payloads.</summary>
    public const string ApplicationName = "Provisioning.Worker";

    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    public static IServiceCollection AddProvisioningSecrets(this IServiceCollection services)
    {
        services.AddDataProtection().SetApplicationName(ApplicationName);
        services.AddOptions<KeyManagementOptions>().Configure<IOptions<SecretsOptions>, ILoggerFactory>((keys, secrets, loggers) =>
            keys.XmlRepository = new FileSystemXmlRepository(Open(secrets.Value.KeyRingDirectory), loggers));
        services.AddSingleton<PasswordProtector>();
        services.AddSingleton<ReplySecrets>();
        return services;
    }

    /// <summary>The key ring's directory, created with mode 0700 when absent.</summary>
    public static DirectoryInfo Open(string directory) =>
        OperatingSystem.IsWindows() ? Directory.CreateDirectory(Path.GetFullPath(directory)) : Directory.CreateDirectory(Path.GetFullPath(directory), OwnerOnly);
}
