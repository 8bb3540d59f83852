namespace Provisioning.Worker.Configuration;

/// <summary>
/// The half of the <c>Mosquitto</c> section that says what devices are told and how their credentials are made
/// (docs/operations.md lists every key). The other half, what a broker's projection targets, is
/// <see cref="BrokerTargetOptions"/>; both are bound from the same section, so every key keeps its name.
/// </summary>
public sealed class DeviceCredentialOptions
{
    public const string SectionName = "Mosquitto";

    /// <summary>The host devices are told to connect to.</summary>
    public string BrokerHost { get; set; } = string.Empty;

    /// <summary>The port devices are told to connect to.</summary>
    public int BrokerPort { get; set; } = 1883;

    /// <summary>
    /// PBKDF2 iterations of device (and probe) <c>$7$</c> hashes. 1: the passwords are 256-bit random secrets, so
    /// stretching adds nothing against guessing, while Mosquitto re-verifies every session it holds at every reload
    /// (docs/design.md, "Why device hashes have 1 iteration").
    /// </summary>
    public int HashIterations { get; set; } = 1;

    /// <summary>PBKDF2 iterations of the hashes <c>passwd set</c> writes for operators' accounts, whose passwords people choose; 101 is mosquitto_passwd's default.</summary>
    public int OperatorHashIterations { get; set; } = Mosquitto.MosquittoPasswordHash.DefaultIterations;

    /// <summary>
    /// The rules every device gets, <c>&lt;access&gt; &lt;filter&gt;</c> with <c>{tenantId}</c>, <c>{deviceId}</c>,
    /// <c>{username}</c>. Empty here: the configuration binder appends to a list, so the default is applied in
    /// <see cref="EffectiveDeviceTopics"/> only when nothing was bound.
    /// </summary>
    public List<string> DeviceTopics { get; set; } = [];

    /// <summary>The configured rules, or the single default rule when none is configured.</summary>
    public IReadOnlyList<string> EffectiveDeviceTopics => DeviceTopics.Count == 0 ? [Topics.TopicRules.DefaultRule] : DeviceTopics;
}
