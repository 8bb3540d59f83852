using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Provisioning.Contracts;
using UpstreamApp;

// An upstream app in a few lines: registers (or deletes) devices through the worker and prints one line per device.
//   dotnet run -- register acme/sensor-1 acme/sensor-2 [--timeout 30] [--sealed]
//   dotnet run -- delete acme/sensor-1
// --sealed: each device gets an X25519 key pair (on a real device it is made there, and only the public key leaves it);
// the registration carries the public key, the worker answers with the password sealed to it, and the device opens it.
// RabbitMQ: RabbitMq__Uri in the environment (amqp://user:password@host:5672/vhost), else appsettings.json.
// Exit codes: 0 every device done, 1 a request was rejected, 2 bad usage, 3 a request got no answer in time.
const string Usage = "usage: UpstreamApp register|delete <tenant>/<device>... [--timeout <seconds>] [--sealed]";

if (args is not [("register" or "delete") and var command, .. var rest]
    || ParseSealed(ref rest) is not { } sealedDelivery
    || ParseTimeout(ref rest) is not { } timeout
    || rest.Length == 0)
{
    Console.Error.WriteLine(Usage);
    return 2;
}

// appsettings.json sits beside the binary, whatever directory the app is started from.
var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = AppContext.BaseDirectory });
if (builder.Configuration["RabbitMq:Uri"] is not { Length: > 0 } rabbitMqUri)
{
    Console.Error.WriteLine("RabbitMq:Uri is not set (appsettings.json or RabbitMq__Uri in the environment)");
    return 2;
}


// Stdout carries the results only; MassTransit's own log lines go to stderr.
builder.Logging.AddConsole(console => console.LogToStandardErrorThreshold = LogLevel.Trace);
builder.Services.AddMassTransit(bus =>
{
    bus.DisableUsageTelemetry();
    bus.AddRequestClient<DeviceRegistered>();
    bus.AddRequestClient<DeviceDeleted>();
    // The user name and password come from the URI's user info.
    bus.UsingRabbitMq((_, rabbit) => rabbit.Host(new Uri(rabbitMqUri), _ => { }));
});
builder.Services.AddScoped(provider => new DeviceProvisioningClient(
    provider.GetRequiredService<IRequestClient<DeviceRegistered>>(),
    provider.GetRequiredService<IRequestClient<DeviceDeleted>>(),
    RequestTimeout.After(s: timeout)));

using var host = builder.Build();
using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};
await host.StartAsync(stop.Token);
try
{
    using var scope = host.Services.CreateScope();
    var client = scope.ServiceProvider.GetRequiredService<DeviceProvisioningClient>();
    var devices = rest.Select(DeviceKey.Parse).ToList();

    // All at once: each request is matched to its own answer by its request id.
    var outcomes = await Task.WhenAll(devices.Select(device => command == "register"
        ? client.RegisterAsync(device, sealedDelivery ? DeviceKeyPair.Generate() : null, stop.Token)
        : client.DeleteAsync(device, stop.Token)));
    foreach (var outcome in outcomes)
    {
        Console.WriteLine(outcome.Line);
    }

    return Outcome.ExitCode(outcomes);
}
finally
{
    await host.StopAsync(CancellationToken.None);
}

static bool? ParseSealed(ref string[] rest)
{
    var present = rest.Contains("--sealed");
    rest = [.. rest.Where(arg => arg != "--sealed")];
    return present;
}

static int? ParseTimeout(ref string[] rest)
{
    var at = Array.IndexOf(rest, "--timeout");
    if (at < 0)
    {
        return 30;
    }

    if (at + 1 >= rest.Length || !int.TryParse(rest[at + 1], out var seconds) || seconds <= 0)
    {
        return null;
    }

    rest = [.. rest[..at], .. rest[(at + 2)..]];
    return seconds;
}
