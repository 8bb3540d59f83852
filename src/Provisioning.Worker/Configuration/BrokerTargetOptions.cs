using System.Globalization;

namespace Provisioning.Worker.Configuration;

/// <summary>
/// The half of the <c>Mosquitto</c> section that says what a broker's projection targets: its files, its pid, how the
/// worker proves a reload, how often it may reload (docs/operations.md lists every key). The other half, what devices
/// are told and how their credentials are made, is <see cref="DeviceCredentialOptions"/>; both are bound from the same
/// section, so every key keeps its name.
/// </summary>
public sealed class BrokerTargetOptions
{
    public const string SectionName = "Mosquitto";

    /// <summary>The password file Mosquitto reads; the worker owns the device lines in it.</summary>
    public string PasswdFile { get; set; } = string.Empty;

    /// <summary>Mosquitto's pid file: the reload is a SIGHUP to that pid.</summary>
    public string PidFile { get; set; } = string.Empty;

    /// <summary>Octal mode of the passwd file, 0640 or stricter (no bits for others, no write for group).</summary>
    public string PasswdFileMode { get; set; } = "0640";

    /// <summary>
    /// The most of its time the broker may spend reloading under sustained load (0 &lt; share ≤ 1): after a reload that
    /// stalled it for S, the next waits S × (1 − share) / share. The first change after a quiet spell is reloaded at once.
    /// </summary>
    public double MaxReloadShare { get; set; } = 0.3;

    /// <summary>
    /// The passwd user the worker rotates at every reload and then logs in as, to confirm that the broker
    /// really runs with the new file before any reply is released. Not of the device form.
    /// </summary>
    public string ProbeUsername { get; set; } = "provisioning-worker-probe";

    /// <summary>Where the worker reaches the broker for that check; empty means <c>Mosquitto:BrokerHost</c> (<see cref="EffectiveProbeHost"/>).</summary>
    public string ProbeHost { get; set; } = string.Empty;

    /// <summary>Port for that check; 0 means <c>Mosquitto:BrokerPort</c> (<see cref="EffectiveProbePort"/>).</summary>
    public int ProbePort { get; set; }

    // The probe's fallback. Mosquitto:BrokerHost/BrokerPort are what devices are told (DeviceCredentialOptions owns and
    // validates them); by default the worker reaches its broker where devices do. They are bound here a second time,
    // from the same keys under names that say what this class uses them for, rather than copied in by a PostConfigure:
    // so the fallback holds however these options are made (the worker's DI, an operator command, a test's
    // initializer), and the probe never reads DeviceCredentialOptions.

    /// <summary><c>Mosquitto:BrokerHost</c>, read here only as where the probe goes when <see cref="ProbeHost"/> is empty.</summary>
    [ConfigurationKeyName(nameof(DeviceCredentialOptions.BrokerHost))]
    public string FallbackProbeHost { get; set; } = string.Empty;

    /// <summary><c>Mosquitto:BrokerPort</c>, read here only as the probe's port when <see cref="ProbePort"/> is 0.</summary>
    [ConfigurationKeyName(nameof(DeviceCredentialOptions.BrokerPort))]
    public int FallbackProbePort { get; set; } = 1883;

    /// <summary>
    /// The <c>acl_file</c> Mosquitto reads; the worker owns the device blocks in it. Empty: topic access is not
    /// managed, and every authenticated client may use every topic (the worker warns at start and on /health/ready).
    /// </summary>
    public string AclFile { get; set; } = string.Empty;

    /// <summary>How long the broker may take to pick up a new file after the SIGHUP.</summary>
    public TimeSpan ReloadTimeout { get; set; } = TimeSpan.FromSeconds(10);

    public bool ManagesTopics => !string.IsNullOrWhiteSpace(AclFile);

    public string EffectiveProbeHost => string.IsNullOrWhiteSpace(ProbeHost) ? FallbackProbeHost : ProbeHost;

    public int EffectiveProbePort => ProbePort == 0 ? FallbackProbePort : ProbePort;

    /// <summary>The mode as a <see cref="UnixFileMode"/>; only meaningful once validated.</summary>
    public UnixFileMode FileMode => ParseFileMode(PasswdFileMode) ?? (UnixFileMode)0b110_100_000;

    /// <summary>Parses an octal mode such as "0640"; null when it is not octal.</summary>
    public static UnixFileMode? ParseFileMode(string? octal)
    {
        if (string.IsNullOrWhiteSpace(octal) || octal.Length > 4)
        {
            return null;
        }

        var value = 0;
        foreach (var c in octal)
        {
            if (c is < '0' or > '7')
            {
                return null;
            }

            value = (value * 8) + (c - '0');
        }

        return (UnixFileMode)value;
    }

    /// <summary>True when the mode gives nothing to others and no write to the group (0640 or stricter).</summary>
    public static bool IsStrictEnough(UnixFileMode mode) =>
        (mode & (UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute | UnixFileMode.SetUser | UnixFileMode.SetGroup | UnixFileMode.StickyBit)) == 0;

    internal static string FormatFileMode(UnixFileMode mode) => Convert.ToString((int)mode, 8).PadLeft(4, '0').ToString(CultureInfo.InvariantCulture);
}
