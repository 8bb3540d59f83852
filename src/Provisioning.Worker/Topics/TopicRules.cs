using System.Text;
using Provisioning.Contracts;
using Provisioning.Worker.Devices;

namespace Provisioning.Worker.Topics;

/// <summary>
/// The topics every device may use, from the <c>Mosquitto:DeviceTopics</c> templates <c>&lt;access&gt; &lt;filter&gt;</c>
/// in which <c>{tenantId}</c>, <c>{deviceId}</c> and <c>{username}</c> stand for the device's values (whole levels or
/// parts of a level). What a device is told (<see cref="For"/>) and what the acl_file grants it come from here.
/// </summary>
public sealed class TopicRules : Provisioning.Worker.Devices.IDeviceTopics
{
    public const string DefaultRule = "readwrite devices/{tenantId}/{deviceId}/#";

    // Split once: NeedsBlock and DeviceBlock run for every device of a full write.
    private TopicRules(IReadOnlyList<TopicRule> rules)
    {
        Rules = rules;
        PatternRules = [.. rules.Where(r => r.IsPattern)];
        BlockRules = [.. rules.Where(r => !r.IsPattern)];
    }

    public IReadOnlyList<TopicRule> Rules { get; }

    /// <summary>
    /// Rules that Mosquitto applies to every user from one <c>pattern</c> line (the device's ids only as <c>%u</c>): their
    /// reload cost does not grow with the fleet. The others need one block per device (docs/topic-authorization.md).
    /// </summary>
    public IReadOnlyList<TopicRule> PatternRules { get; }

    public IReadOnlyList<TopicRule> BlockRules { get; }

    /// <summary>
    /// What devices are told of their topics: the configured rules when the broker enforces them (<c>Mosquitto:AclFile</c>
    /// set in <paramref name="target"/>), else nothing. The worker and the <c>devices</c> command both ask here.
    /// </summary>
    /// <param name="target">what the broker's projection targets: whether it writes an acl_file.</param>
    /// <param name="rules">the rules from <c>Mosquitto:DeviceTopics</c> (the worker's singleton), asked for only when enforced.</param>
    public static Provisioning.Worker.Devices.IDeviceTopics ToldToDevices(Configuration.BrokerTargetOptions target, Func<TopicRules> rules)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(rules);
        return target.ManagesTopics ? rules() : new Provisioning.Worker.Devices.NoDeviceTopics();
    }

    /// <summary>The rules from templates that <see cref="Problems"/> found valid.</summary>
    /// <exception cref="ArgumentException">a template is not valid.</exception>
    public static TopicRules Parse(IReadOnlyList<string> templates)
    {
        ArgumentNullException.ThrowIfNull(templates);
        var rules = new List<TopicRule>();
        for (var i = 0; i < templates.Count; i++)
        {
            rules.Add(TopicRule.Parse(templates[i]) ?? throw new ArgumentException($"Rule {i}: {TopicRule.Problem(templates[i])}", nameof(templates)));
        }

        return new TopicRules(rules);
    }

    /// <summary>Each template's problem with its index, none when all are valid.</summary>
    public static IReadOnlyList<(int Index, string Problem)> Problems(IReadOnlyList<string> templates)
    {
        ArgumentNullException.ThrowIfNull(templates);
        var problems = new List<(int, string)>();
        for (var i = 0; i < templates.Count; i++)
        {
            if (TopicRule.Problem(templates[i]) is { } problem)
            {
                problems.Add((i, problem));
            }
        }

        return problems;
    }

    /// <summary>What the device may do, in configuration order: what <c>CredentialsIssued.topics</c> carries.</summary>
    public IReadOnlyList<TopicPermission> For(string tenantId, string deviceId) =>
        Rules.Select(r => new TopicPermission { Filter = r.FilterFor(tenantId, deviceId), Access = r.Access }).ToList();

    /// <summary>The acl_file's <c>pattern</c> lines, one per pattern rule.</summary>
    public byte[] PatternLines()
    {
        var text = new StringBuilder();
        foreach (var rule in PatternRules)
        {
            text.Append("pattern ").Append(rule.Access).Append(' ').Append(rule.PatternFilter).Append('\n');
        }

        return Encoding.UTF8.GetBytes(text.ToString());
    }

    /// <summary>
    /// Whether the device of <paramref name="username"/> needs a block of its own: when a rule is not a pattern, or when
    /// its username is of the earlier form, which <c>%u</c> does not turn into its topic levels.
    /// </summary>
    public bool NeedsBlock(string username) => BlockRules.Count > 0 || (DeviceIdentity.TryParseUsername(username, out var device) && device.IsLegacy);

    /// <summary>
    /// The acl_file block of a device (<c>user</c> line, <c>topic</c> lines): the rules that are no pattern, and every
    /// rule for a username of the earlier form; empty when the device needs none.
    /// </summary>
    public byte[] DeviceBlock(string username)
    {
        if (!DeviceIdentity.TryParseUsername(username, out var device))
        {
            throw new ArgumentException($"'{username}' is not a device's username.", nameof(username));
        }

        var text = new StringBuilder();
        foreach (var rule in device.IsLegacy ? Rules : BlockRules)
        {
            if (text.Length == 0)
            {
                text.Append("user ").Append(username).Append('\n');
            }

            text.Append("topic ").Append(rule.Access).Append(' ').Append(rule.FilterFor(device.TenantId, device.DeviceId, username)).Append('\n');
        }

        return Encoding.UTF8.GetBytes(text.ToString());
    }
}

/// <summary>One template: <see cref="Access"/> and the filter <see cref="Template"/> with its placeholders.</summary>
public sealed record TopicRule(string Access, string Template)
{
    private static readonly string[] _placeholders = ["tenantId", "deviceId", "username"];

    /// <summary>The device's ids as one placeholder: with usernames <c>{tenantId}/{deviceId}</c> they are what <c>%u</c> gives.</summary>
    private const string AdjacentIds = "{tenantId}/{deviceId}";

    /// <summary>
    /// True when the ids appear only as <c>{username}</c> or as the adjacent levels <c>{tenantId}/{deviceId}</c> (or not
    /// at all), so one <c>pattern</c> line with <c>%u</c> expresses the rule for every device.
    /// </summary>
    public bool IsPattern =>
        !WithUsername.Contains("{tenantId}", StringComparison.Ordinal)
        && !WithUsername.Contains("{deviceId}", StringComparison.Ordinal)
        && !Template.Contains('%', StringComparison.Ordinal);

    /// <summary>The filter of the rule's <c>pattern</c> line; only meaningful when <see cref="IsPattern"/>.</summary>
    public string PatternFilter => WithUsername.Replace("{username}", "%u", StringComparison.Ordinal);

    private string WithUsername => Template.Replace(AdjacentIds, "{username}", StringComparison.Ordinal);

    public string FilterFor(string tenantId, string deviceId) => FilterFor(tenantId, deviceId, DeviceIdentity.Username(tenantId, deviceId));

    /// <summary>The filter for a device whose username may be of the earlier form (<see cref="DeviceIdentity.LegacyUsername"/>).</summary>
    public string FilterFor(string tenantId, string deviceId, string username) =>
        Template
            .Replace("{tenantId}", tenantId, StringComparison.Ordinal)
            .Replace("{deviceId}", deviceId, StringComparison.Ordinal)
            .Replace("{username}", username, StringComparison.Ordinal);

    public static TopicRule? Parse(string? template) => Problem(template) is null ? Split(template!) : null;

    /// <summary>Why the template is not a valid rule, or null when it is.</summary>
    public static string? Problem(string? template)
    {
        if (string.IsNullOrWhiteSpace(template))
        {
            return "the rule is empty; it must be '<access> <filter>', e.g. 'readwrite devices/{tenantId}/{deviceId}/#'";
        }

        var rule = Split(template);
        if (rule is null)
        {
            return $"'{template}' is not '<access> <filter>': the filter is missing (empty filter)";
        }

        if (rule.Access is not (TopicAccess.Read or TopicAccess.Write or TopicAccess.ReadWrite))
        {
            return $"the access '{rule.Access}' is not one of read, write, readwrite";
        }

        if (rule.Template.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            return $"the filter '{rule.Template}' contains a blank or control character";
        }

        var unknown = UnknownPlaceholder(rule.Template);
        if (unknown is not null)
        {
            return $"the filter '{rule.Template}' uses {unknown}; only {{tenantId}}, {{deviceId}} and {{username}} are known";
        }

        // The longest ids show what the broker would be given; ids never contain '/', '+', '#' or blanks.
        var longest = new string('x', DeviceIdentity.MaxIdLength);
        var filter = rule.FilterFor(longest, longest);
        return TopicFilter.Problem(filter) is { } problem ? $"the filter '{rule.Template}' is not a valid MQTT topic filter: {problem}" : null;
    }

    private static TopicRule? Split(string template)
    {
        var trimmed = template.Trim();
        var blank = trimmed.IndexOfAny([' ', '\t']);
        if (blank < 0)
        {
            return null;
        }

        var filter = trimmed[(blank + 1)..].Trim();
        return filter.Length == 0 ? null : new TopicRule(trimmed[..blank], filter);
    }

    private static string? UnknownPlaceholder(string template)
    {
        var position = 0;
        while ((position = template.IndexOfAny(['{', '}'], position)) >= 0)
        {
            if (template[position] == '}')
            {
                return "an unmatched '}'";
            }

            var close = template.IndexOf('}', position);
            if (close < 0)
            {
                return "an unmatched '{'";
            }

            var name = template[(position + 1)..close];
            if (!_placeholders.Contains(name, StringComparer.Ordinal))
            {
                return $"the unknown placeholder {{{name}}}";
            }

            position = close + 1;
        }

        return null;
    }
}
