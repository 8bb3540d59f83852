using System.IO.Compression;
using System.Reflection;
using System.Xml.Linq;
using Provisioning.Contracts;
using Provisioning.Worker.IntegrationTests.Infrastructure;

namespace Provisioning.Worker.IntegrationTests.Contracts;

/// <summary>
/// The contracts package as upstream teams get it, and samples/UpstreamApp built from it run as a process against the
/// real worker: MassTransit's request client, its response matching and its timeout.
/// </summary>
[Collection(ServicesCollection.Name)]
public sealed class SampleAppTests(ServiceEndpoints endpoints, UpstreamAppBuild app) : IClassFixture<UpstreamAppBuild>
{
    [Fact]
    public void The_package_is_versioned_documented_and_depends_on_nothing()
    {
        using var package = ZipFile.OpenRead(app.Package);
        // NuGet picks the nuspec schema's namespace by the features the package uses.
        var nuspec = XDocument.Load(package.GetEntry("Provisioning.Contracts.nuspec")!.Open()).Root!;
        var ns = nuspec.Name.Namespace;
        var metadata = nuspec.Element(ns + "metadata")!;

        Assert.Equal("Provisioning.Contracts", metadata.Element(ns + "id")?.Value);
        Assert.Equal(app.PackedVersion, metadata.Element(ns + "version")?.Value);
        Assert.Equal(UpstreamAppBuild.ProjectVersion, UpstreamAppBuild.SamplePinnedVersion);
        Assert.Equal("Apache-2.0", metadata.Element(ns + "license")?.Value);
        Assert.Equal("README.md", metadata.Element(ns + "readme")?.Value);
        Assert.False(string.IsNullOrWhiteSpace(metadata.Element(ns + "description")?.Value));
        // Plain records: an upstream app brings its own MassTransit 8.x (or none), the package never chooses one.
        Assert.Empty(metadata.Element(ns + "dependencies")?.Descendants(ns + "dependency") ?? []);
        Assert.NotNull(package.GetEntry("lib/net10.0/Provisioning.Contracts.dll"));
        var documentation = XDocument.Load(package.GetEntry("lib/net10.0/Provisioning.Contracts.xml")!.Open());
        Assert.Contains(documentation.Descendants("member"), m => m.Attribute("name")?.Value == "P:Provisioning.Contracts.ProvisioningRejected.Code");

        // The README tells an upstream author every message's urn, every rejection code and how to await the answer.
        using var readme = new StreamReader(package.GetEntry("README.md")!.Open());
        var text = readme.ReadToEnd();
        var messages = typeof(DeviceRegistered).Assembly.GetExportedTypes().Where(t => t is { IsClass: true, IsAbstract: false } && t != typeof(TopicPermission));
        foreach (var message in messages)
        {
            Assert.Contains($"urn:message:Provisioning.Contracts:{message.Name}", text, StringComparison.Ordinal);
        }

        foreach (var code in typeof(RejectionCodes).GetFields(BindingFlags.Public | BindingFlags.Static).Select(f => (string)f.GetRawConstantValue()!))
        {
            Assert.Contains($"`{code}`", text, StringComparison.Ordinal);
        }

        Assert.Contains("GetResponse<CredentialsIssued, ProvisioningRejected>", text, StringComparison.Ordinal);
        Assert.Contains("RequestTimeout", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Concurrent_registrations_through_the_request_client_each_get_the_credentials_of_their_own_device()
    {
        // Given
        await using var harness = await PipelineHarness.StartAsync(endpoints);
        await harness.StartWorkerAsync();
        var devices = Enumerable.Range(0, 16).Select(i => $"pump-{i:D2}").ToList();

        // When: one process, all requests in flight at once
        var result = await app.RunAsync(harness.VirtualHost.AmqpUri, ["register", .. devices.Select(d => $"fleet/{d}")]);

        // Then: each request got the answer for its own device, and the broker knows every one
        Assert.True(result.ExitCode == 0, $"{result}\n{harness.Diagnostics()}");
        var lines = Lines(result.Stdout);
        Assert.Equal(devices.Count, lines.Count);
        foreach (var device in devices)
        {
            var line = Assert.Single(lines, l => l.StartsWith($"issued fleet/{device} ", StringComparison.Ordinal));
            Assert.Contains($" tenantId=fleet deviceId={device} username=fleet/{device} ", line, StringComparison.Ordinal);
            Assert.Contains($" broker=127.0.0.1:{harness.Broker.Port} ", line, StringComparison.Ordinal);
        }

        Assert.Equal(devices.Select(d => $"fleet/{d}").Order(), harness.DeviceLines().Select(l => l.Username).Order());
    }

    [Fact]
    public async Task With_sealed_delivery_each_device_opens_its_own_password_and_the_reply_carries_none_in_clear()
    {
        // Given
        await using var harness = await PipelineHarness.StartAsync(endpoints);
        await harness.StartWorkerAsync();

        // When: each device's key pair made in the app, only the public key sent
        var result = await app.RunAsync(harness.VirtualHost.AmqpUri, "register", "--sealed", "fleet/sealed-1", "fleet/sealed-2");

        // Then: each opened a 43-character password sealed to its own key (opening another's key would throw)
        Assert.True(result.ExitCode == 0, $"{result}\n{harness.Diagnostics()}");
        var lines = Lines(result.Stdout);
        Assert.Equal(2, lines.Count);
        Assert.All(lines, line => Assert.EndsWith(" password=sealed:43", line, StringComparison.Ordinal));
        Assert.Equal(2, harness.DeviceLines().Count);
    }

    [Fact]
    public async Task An_invalid_id_gets_ProvisioningRejected_with_its_code_and_a_deletion_gets_CredentialsRevoked()
    {
        // Given
        await using var harness = await PipelineHarness.StartAsync(endpoints);
        await harness.StartWorkerAsync();

        // When
        var registered = await app.RunAsync(harness.VirtualHost.AmqpUri, "register", "acme/sensor-1", "acme/bad:id", "bad.tenant/sensor-2");

        // Then: exit 1 (a bad input), the valid device issued all the same
        Assert.True(registered.ExitCode == 1, $"{registered}\n{harness.Diagnostics()}");
        var lines = Lines(registered.Stdout);
        Assert.Contains(lines, l => l.StartsWith("issued acme/sensor-1 tenantId=acme deviceId=sensor-1 username=acme/sensor-1 ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith($"rejected acme/bad:id code={RejectionCodes.InvalidDeviceId} reason=deviceId ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith($"rejected bad.tenant/sensor-2 code={RejectionCodes.InvalidTenantId} reason=tenantId ", StringComparison.Ordinal));
        Assert.Equal(["acme/sensor-1"], harness.DeviceLines().Select(l => l.Username));

        // When
        var deleted = await app.RunAsync(harness.VirtualHost.AmqpUri, "delete", "acme/sensor-1");

        // Then
        Assert.True(deleted.ExitCode == 0, $"{deleted}\n{harness.Diagnostics()}");
        Assert.StartsWith("revoked acme/sensor-1 tenantId=acme deviceId=sensor-1 username=acme/sensor-1 revokedAt=", deleted.Stdout, StringComparison.Ordinal);
        Assert.Empty(harness.DeviceLines());
    }

    [Fact]
    public async Task Without_a_worker_the_request_times_out_and_the_sample_says_so()
    {
        // Given: RabbitMQ, but nothing consumes the requests
        await using var vhost = await TestVirtualHost.CreateAsync(endpoints);

        // When
        var result = await app.RunAsync(vhost.AmqpUri, "register", "acme/sensor-1", "--timeout", "2");

        // Then: exit 3, as for a dependency that did not answer
        Assert.True(result.ExitCode == 3, result.ToString());
        Assert.Equal(["timeout acme/sensor-1 no answer within 2 s"], Lines(result.Stdout));
    }

    private static List<string> Lines(string output) => [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
}
