using System.Xml.Linq;

namespace Provisioning.Worker.IntegrationTests.Contracts;

/// <summary>
/// Once per test class: <c>src/Provisioning.Contracts</c> packed into a temporary folder feed, and a copy of
/// <c>samples/UpstreamApp</c> restored from it and built, as an upstream team would. The package gets a version of its
/// own (the project's, with a prerelease suffix): NuGet never reads a version again once it is in the machine's package
/// cache, so a rebuilt 1.1.0 would be ignored in favour of an older one. That version is removed from the cache at the end.
/// </summary>
public sealed class UpstreamAppBuild : IAsyncLifetime
{
    private static readonly TimeSpan _buildTimeout = TimeSpan.FromMinutes(5);

    private string _packageCacheEntry = string.Empty;

    public static string RepositoryRoot
    {
        get
        {
            for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            {
                if (File.Exists(Path.Combine(directory.FullName, "Provisioning.Worker.sln")))
                {
                    return directory.FullName;
                }
            }

            throw new DirectoryNotFoundException("Provisioning.Worker.sln not found above " + AppContext.BaseDirectory);
        }
    }

    public static string ContractsProject => Path.Combine(RepositoryRoot, "src", "Provisioning.Contracts", "Provisioning.Contracts.csproj");

    public static string SampleDirectory => Path.Combine(RepositoryRoot, "samples", "UpstreamApp");

    /// <summary>The version the contracts project packs by default (its <c>Version</c>).</summary>
    public static string ProjectVersion => XDocument.Load(ContractsProject).Descendants("Version").Single().Value;

    /// <summary>The version the sample pins by default (its <c>ProvisioningContractsVersion</c>).</summary>
    public static string SamplePinnedVersion =>
        XDocument.Load(Path.Combine(SampleDirectory, "Directory.Packages.props")).Descendants("ProvisioningContractsVersion").Single().Value;

    public string WorkDirectory { get; } = Path.Combine(Path.GetTempPath(), $"upstream-app-{Guid.NewGuid():N}");

    /// <summary>The version packed for this run: <see cref="ProjectVersion"/> with a unique prerelease suffix.</summary>
    public string PackedVersion { get; } = $"{ProjectVersion}-sampletest.{Guid.NewGuid():N}";

    public string Package => Path.Combine(WorkDirectory, "app", "local-feed", $"Provisioning.Contracts.{PackedVersion}.nupkg");

    private string AppDll => Path.Combine(WorkDirectory, "app", "bin", "Release", "net10.0", "UpstreamApp.dll");

    public async Task InitializeAsync()
    {
        var app = Path.Combine(WorkDirectory, "app");
        CopySample(SampleDirectory, app);

        // Built outside the source tree: the tests must not leave a prerelease build in src/Provisioning.Contracts/bin.
        var contracts = Path.Combine(WorkDirectory, "contracts") + Path.DirectorySeparatorChar;
        await DotnetAsync(
            "pack", ContractsProject, "-c", "Release", "-o", Path.Combine(app, "local-feed"),
            $"-p:Version={PackedVersion}", $"-p:OutputPath={contracts}bin/", $"-p:IntermediateOutputPath={contracts}obj/");
        Assert.True(File.Exists(Package), $"dotnet pack made no {Package}");

        await DotnetAsync("build", app, "-c", "Release", $"-p:ProvisioningContractsVersion={PackedVersion}");
        Assert.True(File.Exists(AppDll), $"the sample's build made no {AppDll}");

        var cache = (await DotnetAsync("nuget", "locals", "global-packages", "--list")).Split(": ", 2)[1].Trim();
        _packageCacheEntry = Path.Combine(cache, "provisioning.contracts", PackedVersion.ToLowerInvariant());
    }

    /// <summary>Runs the built sample to its exit against the RabbitMQ at <paramref name="rabbitMq"/>.</summary>
    public Task<ProcessResult> RunAsync(Uri rabbitMq, params string[] args) =>
        ProcessRunner.RunAsync(
            WorkerProcess.DotnetHost,
            [AppDll, .. args],
            environment: new Dictionary<string, string?> { ["RabbitMq__Uri"] = rabbitMq.ToString() },
            timeout: TimeSpan.FromSeconds(90));

    public Task DisposeAsync()
    {
        foreach (var directory in new[] { WorkDirectory, _packageCacheEntry }.Where(d => d.Length > 0 && Directory.Exists(d)))
        {
            Directory.Delete(directory, recursive: true);
        }

        return Task.CompletedTask;
    }

    private static void CopySample(string source, string target)
    {
        Directory.CreateDirectory(target);
        foreach (var file in Directory.EnumerateFiles(source))
        {
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        }

        foreach (var directory in Directory.EnumerateDirectories(source).Where(d => Path.GetFileName(d) is not ("bin" or "obj" or "local-feed")))
        {
            CopySample(directory, Path.Combine(target, Path.GetFileName(directory)));
        }
    }

    /// <summary>A dotnet CLI command to its end, failing with its output; no build server is left running afterwards.</summary>
    private static async Task<string> DotnetAsync(params string[] args)
    {
        string[] noServers = args[0] is "pack" or "build" ? ["--disable-build-servers", "-nologo"] : [];
        var result = await ProcessRunner.RunAsync(
            WorkerProcess.DotnetHost,
            [.. args, .. noServers],
            environment: new Dictionary<string, string?> { ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1", ["DOTNET_NOLOGO"] = "1" },
            timeout: _buildTimeout);
        Assert.True(result.ExitCode == 0, $"dotnet {string.Join(' ', args)} failed: {result}");
        return result.Stdout;
    }
}
