using Microsoft.Extensions.Options;
using Provisioning.Worker.Cli;
using Provisioning.Worker.Hosting;
using Serilog;

if (args is ["passwd", ..])
{
    return await RunOperatorCommandAsync(args[1..], PasswdCommand.RunAsync);
}

if (args is ["dead-letters", ..])
{
    return await RunOperatorCommandAsync(args[1..], DeadLettersCommand.RunAsync);
}

Log.Logger = WorkerLogging.CreateBootstrapLogger(args);

try
{
    // appsettings.json sits beside the binary; the worker must find it whatever directory it is started from.
    var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
    builder.AddProvisioningWorker();
    var app = builder.Build();
    app.MapProvisioningEndpoints();
    await app.RunAsync();
    return 0;
}
catch (OptionsValidationException e)
{
    // The messages name the configuration keys; no stack trace needed to fix a typo.
    foreach (var failure in e.Failures)
    {
        Log.Fatal("Invalid configuration: {Failure}", failure);
    }

    return 3;
}
catch (Exception e) when (e is not OperationCanceledException)
{
    Log.Fatal(e, "Provisioning.Worker stopped on an unexpected error");
    return 1;
}
finally
{
    await Log.CloseAndFlushAsync();
}

// Operator commands read the worker's own configuration (appsettings.json beside the binary, then the
// environment) so they act on the same files and broker as the worker they sit next to.
static async Task<int> RunOperatorCommandAsync(
    string[] commandArgs,
    Func<string[], IConfiguration, TextReader, TextWriter, TextWriter, CancellationToken, Task<int>> command)
{
    var configuration = new ConfigurationBuilder()
        .SetBasePath(AppContext.BaseDirectory)
        .AddJsonFile("appsettings.json", optional: true)
        .AddEnvironmentVariables()
        .Build();
    using var cts = new CancellationTokenSource();
    Console.CancelKeyPress += (_, e) =>
    {
        e.Cancel = true;
        cts.Cancel();
    };
    return await command(commandArgs, configuration, Console.In, Console.Out, Console.Error, cts.Token);
}
