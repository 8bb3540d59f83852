using System.Text;
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace Provisioning.Worker.IntegrationTests.Containers;

/// <summary>
/// <c>compose/docker-compose.yml</c> (or another compose file of <c>compose/</c>, such as the fleet's
/// <c>docker-compose.fleet.yml</c>) as the tests read it: the services' images, environment, volumes, entrypoint, command,
/// init and pid settings, with <c>${VAR}</c>, <c>${VAR:-default}</c> and <c>$$</c> resolved as Compose resolves them (from
/// the environment, overridden by the variables given to <see cref="Load"/>). The file stays the one source: the
/// container tests and the Testcontainers fixture wire what it says, so it cannot drift from what they prove.
/// </summary>
public sealed partial class ComposeFile
{
    private readonly YamlMappingNode _services;
    private readonly IReadOnlyDictionary<string, string> _variables;

    private ComposeFile(string path, YamlMappingNode services, IReadOnlyDictionary<string, string> variables)
    {
        Path = path;
        _services = services;
        _variables = variables;
    }

    public string Path { get; }

    /// <summary>The folder of the file: relative bind mounts start here.</summary>
    public string Directory => System.IO.Path.GetDirectoryName(Path)!;

    /// <summary>The fleet's compose file (docs/fleet.md).</summary>
    public const string FleetFileName = "docker-compose.fleet.yml";

    /// <summary>The services' names, in the file's order.</summary>
    public IReadOnlyList<string> ServiceNames => _services.Children.Keys.Select(key => ((YamlScalarNode)key).Value!).ToList();

    /// <summary>
    /// The repository's compose file (<paramref name="fileName"/> in <c>compose/</c>); <paramref name="variables"/> win over
    /// the environment (as a shell's would).
    /// </summary>
    public static ComposeFile Load(IReadOnlyDictionary<string, string>? variables = null, string fileName = "docker-compose.yml")
    {
        var path = Find(fileName);
        var yaml = new YamlStream();
        using (var reader = new StreamReader(path, Encoding.UTF8))
        {
            yaml.Load(reader);
        }

        var root = (YamlMappingNode)yaml.Documents[0].RootNode;
        var merged = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry entry in Environment.GetEnvironmentVariables())
        {
            merged[(string)entry.Key] = (string?)entry.Value ?? string.Empty;
        }

        foreach (var (key, value) in variables ?? new Dictionary<string, string>())
        {
            merged[key] = value;
        }

        return new ComposeFile(path, (YamlMappingNode)root.Children[new YamlScalarNode("services")], merged);
    }

    public ComposeService Service(string name)
    {
        if (!_services.Children.TryGetValue(new YamlScalarNode(name), out var node))
        {
            throw new InvalidOperationException($"{Path} has no service '{name}'");
        }

        return new ComposeService(name, (YamlMappingNode)node, this);
    }

    /// <summary>Compose's interpolation: <c>$$</c> is a dollar, <c>${VAR:-default}</c> the default when VAR is unset or empty.</summary>
    public string Resolve(string text) =>
        Interpolation().Replace(text, match =>
        {
            if (match.Value == "$$")
            {
                return "$";
            }

            var name = match.Groups["name"].Value;
            var value = _variables.GetValueOrDefault(name);
            if (match.Groups["default"].Success)
            {
                var dashOnly = match.Groups["op"].Value == "-";
                return (dashOnly ? value is null : string.IsNullOrEmpty(value)) ? Resolve(match.Groups["default"].Value) : value!;
            }

            return value ?? string.Empty;
        });

    private static string Find(string fileName)
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = System.IO.Path.Combine(directory.FullName, "compose", fileName);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException($"compose/{fileName} not found above {AppContext.BaseDirectory}");
    }

    [GeneratedRegex(@"\$\$|\$\{(?<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?<op>:?-)(?<default>[^}]*))?\}")]
    private static partial Regex Interpolation();
}

/// <summary>One service of the <see cref="ComposeFile"/>, its values resolved.</summary>
public sealed class ComposeService(string name, YamlMappingNode node, ComposeFile file)
{
    public string Name { get; } = name;

    public string Image => Scalar("image") ?? throw new InvalidOperationException($"service {Name} has no image");

    /// <summary><c>init: true</c>: an init process as pid 1.</summary>
    public bool Init => string.Equals(Scalar("init"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary><c>pid: service:other</c>: the service whose pid namespace this one joins; null when none.</summary>
    public string? PidNamespaceOf => Scalar("pid") is { } pid && pid.StartsWith("service:", StringComparison.Ordinal) ? pid["service:".Length..] : null;

    public IReadOnlyDictionary<string, string> Environment =>
        node.Children.TryGetValue(new YamlScalarNode("environment"), out var environment)
            ? ((YamlMappingNode)environment).Children.ToDictionary(
                pair => ((YamlScalarNode)pair.Key).Value!,
                pair => file.Resolve(((YamlScalarNode)pair.Value).Value ?? string.Empty),
                StringComparer.Ordinal)
            : new Dictionary<string, string>();

    public IReadOnlyList<string> Entrypoint => Sequence("entrypoint");

    /// <summary><c>user:</c>, resolved; null when the image's user applies.</summary>
    public string? User => Scalar("user");

    /// <summary>The services named under <c>depends_on</c> (its long or short form).</summary>
    public IReadOnlyList<string> DependsOn =>
        !node.Children.TryGetValue(new YamlScalarNode("depends_on"), out var dependsOn) ? []
        : dependsOn is YamlMappingNode mapping ? mapping.Children.Keys.Select(key => ((YamlScalarNode)key).Value!).ToList()
        : ((YamlSequenceNode)dependsOn).Children.Select(item => ((YamlScalarNode)item).Value!).ToList();

    /// <summary>The service's definition as written, unresolved, one canonical line per scalar: equal text, equal service.</summary>
    public string Definition
    {
        get
        {
            var text = new StringBuilder();
            Render(node, string.Empty, text);
            return text.ToString();

            static void Render(YamlNode item, string path, StringBuilder text)
            {
                switch (item)
                {
                    case YamlMappingNode mapping:
                        foreach (var (key, value) in mapping.Children)
                        {
                            Render(value, $"{path}/{((YamlScalarNode)key).Value}", text);
                        }

                        break;
                    case YamlSequenceNode sequence:
                        for (var i = 0; i < sequence.Children.Count; i++)
                        {
                            Render(sequence.Children[i], $"{path}[{i}]", text);
                        }

                        break;
                    case YamlScalarNode scalar:
                        text.Append(path).Append(" = ").Append(scalar.Value).Append('\n');
                        break;
                }
            }
        }
    }

    public IReadOnlyList<string> Command => Sequence("command");

    /// <summary>The volumes, each (source, target, read-only); a source that starts with '.' is a bind mount relative to the file.</summary>
    public IReadOnlyList<ComposeVolume> Volumes =>
        Sequence("volumes").Select(volume =>
        {
            var parts = volume.Split(':');
            var source = parts[0].StartsWith('.') ? System.IO.Path.GetFullPath(System.IO.Path.Combine(file.Directory, parts[0])) : parts[0];
            return new ComposeVolume(source, parts[1], parts.Length > 2 && parts[2] == "ro", parts[0].StartsWith('.'));
        }).ToList();

    /// <summary>The ports published, as written and resolved (<c>127.0.0.1:1883:1883</c>).</summary>
    public IReadOnlyList<string> Ports => Sequence("ports");

    /// <summary>The container ports published (<c>host:port:container</c>), as numbers.</summary>
    public IReadOnlyList<ushort> PublishedContainerPorts => Sequence("ports").Select(port => ushort.Parse(port.Split(':')[^1], System.Globalization.CultureInfo.InvariantCulture)).ToList();

    /// <summary>The healthcheck's test as Docker takes it (<c>["CMD-SHELL", "..."]</c> or <c>["CMD", ...]</c>).</summary>
    public IReadOnlyList<string> HealthcheckTest =>
        node.Children.TryGetValue(new YamlScalarNode("healthcheck"), out var healthcheck)
            && ((YamlMappingNode)healthcheck).Children.TryGetValue(new YamlScalarNode("test"), out var test)
            ? ((YamlSequenceNode)test).Children.Select(item => file.Resolve(((YamlScalarNode)item).Value ?? string.Empty)).ToList()
            : [];

    private string? Scalar(string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var value) ? file.Resolve(((YamlScalarNode)value).Value ?? string.Empty) : null;

    private List<string> Sequence(string key)
    {
        if (!node.Children.TryGetValue(new YamlScalarNode(key), out var value))
        {
            return [];
        }

        return value is YamlSequenceNode sequence
            ? sequence.Children.Select(item => file.Resolve(((YamlScalarNode)item).Value ?? string.Empty)).ToList()
            : [file.Resolve(((YamlScalarNode)value).Value ?? string.Empty)];
    }
}

/// <summary>A volume of a <see cref="ComposeService"/>: a named volume, or a bind mount of <see cref="Source"/>.</summary>
public sealed record ComposeVolume(string Source, string Target, bool ReadOnly, bool IsBindMount);
