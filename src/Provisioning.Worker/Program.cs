using Microsoft.Extensions.Options;
using Provisioning.Worker.Cli;
using Provisioning.Worker.Hosting;
using Provisioning.Worker.Shared;
using Serilog;

// The first word picks the job: an operator command, or the worker (docs/operator-tools.md "Command words").
var start = StartCommandLine.Parse(args);
switch (start.Kind)
{
    case StartKind.OperatorCommand:
        return await RunOperatorCommandAsync(start.Arguments, start.Command!);
    case StartKind.Help:
        await Console.Out.WriteLineAsync(StartCommandLine.Usage);
        return 0;
    case StartKind.UnknownWord:
        await Console.Error.WriteLineAsync($"error: unknown command \"{SafeText.Ascii(start.Word!)}\"; the worker was not started.");
        await Console.Error.WriteLineAsync(StartCommandLine.Usage);
        return StartCommandLine.UnknownWordExitCode;
}

args = start.Arguments;

Log.Logger = WorkerLogging.CreateBootstrapLogger(args);

try
{
    // appsettings.json sits beside the binary; the worker must find it whatever directory it is started from.
    var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
    builder.AddProvisioningWorker(WorkerRoles.Of(builder.Configuration, agent: start.Kind == StartKind.Agent));
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
static async Task<int> RunOperatorCommandAsync(string[] commandArgs, OperatorCommand command)
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
