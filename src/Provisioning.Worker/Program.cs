using Microsoft.Extensions.Options;
using Provisioning.Worker.Hosting;
using Serilog;

Log.Logger = new LoggerConfiguration()
    .WriteTo.Console(formatProvider: System.Globalization.CultureInfo.InvariantCulture)
    .CreateBootstrapLogger();

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
