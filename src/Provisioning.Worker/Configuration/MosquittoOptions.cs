using System.Globalization;

namespace Provisioning.Worker.Configuration;

/// <summary>The <c>Mosquitto</c> configuration section (docs/operations.md lists every key).</summary>
public sealed class MosquittoOptions
{
    public const string SectionName = "Mosquitto";

    /// <summary>The password file Mosquitto reads; the worker owns the device lines in it.</summary>
    public string PasswdFile { get; set; } = string.Empty;

    /// <summary>Mosquitto's pid file: the reload is a SIGHUP to that pid.</summary>
    public string PidFile { get; set; } = string.Empty;

    /// <summary>The host devices are told to connect to.</summary>
    public string BrokerHost { get; set; } = string.Empty;

    /// <summary>The port devices are told to connect to.</summary>
    public int BrokerPort { get; set; } = 1883;

    /// <summary>Octal mode of the passwd file, 0640 or stricter (no bits for others, no write for group).</summary>
    public string PasswdFileMode { get; set; } = "0640";

    /// <summary>
    /// PBKDF2 iterations of device (and probe) <c>$7$</c> hashes. 1: the passwords are 256-bit random secrets, so
    /// stretching adds nothing against guessing, while Mosquitto re-verifies every session it holds at every reload
    /// (docs/design.md, "Why device hashes have 1 iteration").
    /// </summary>
    public int HashIterations { get; set; } = 1;

    /// <summary>PBKDF2 iterations of the hashes <c>passwd set</c> writes for operators' accounts, whose passwords people choose; 101 is mosquitto_passwd's default.</summary>
    public int OperatorHashIterations { get; set; } = Mosquitto.MosquittoPasswordHash.DefaultIterations;

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

    /// <summary>Where the worker reaches the broker for that check; empty means <see cref="BrokerHost"/>.</summary>
    public string ProbeHost { get; set; } = string.Empty;

    /// <summary>Port for that check; 0 means <see cref="BrokerPort"/>.</summary>
    public int ProbePort { get; set; }

    /// <summary>
    /// The <c>acl_file</c> Mosquitto reads; the worker owns the device blocks in it. Empty: topic access is not
    /// managed, and every authenticated client may use every topic (the worker warns at start and on /health/ready).
    /// </summary>
    public string AclFile { get; set; } = string.Empty;

    /// <summary>
    /// The rules every device gets, <c>&lt;access&gt; &lt;filter&gt;</c> with <c>{tenantId}</c>, <c>{deviceId}</c>,
    /// <c>{username}</c>. Empty here: the configuration binder appends to a list, so the default is applied in
    /// <see cref="EffectiveDeviceTopics"/> only when nothing was bound.
    /// </summary>
    public List<string> DeviceTopics { get; set; } = [];

    /// <summary>How long the broker may take to pick up a new file after the SIGHUP.</summary>
    public TimeSpan ReloadTimeout { get; set; } = TimeSpan.FromSeconds(10);

    public bool ManagesTopics => !string.IsNullOrWhiteSpace(AclFile);

    /// <summary>The configured rules, or the single default rule when none is configured.</summary>
    public IReadOnlyList<string> EffectiveDeviceTopics => DeviceTopics.Count == 0 ? [Topics.TopicRules.DefaultRule] : DeviceTopics;

    public string EffectiveProbeHost => string.IsNullOrWhiteSpace(ProbeHost) ? BrokerHost : ProbeHost;

    public int EffectiveProbePort => ProbePort == 0 ? BrokerPort : ProbePort;

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
