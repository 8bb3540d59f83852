using System.Globalization;
using Microsoft.Extensions.Options;
using Provisioning.Worker.Configuration;
using Serilog;
using Serilog.Formatting.Compact;

namespace Provisioning.Worker.Hosting;

/// <summary>
/// The worker's Serilog setup, in two stages: a bootstrap logger for what happens before the host exists (an invalid
/// configuration included), then the host's logger from the <c>Serilog</c> section. Both write the console in the format
/// <c>Logging:Format</c> names (docs/logging.md); sinks in <c>Serilog:WriteTo</c> come in addition.
/// </summary>
public static class WorkerLogging
{
    internal const string TextTemplate = "[{Timestamp:HH:mm:ss.fff} {Level:u3}] {SourceContext}: {Message:lj} {Properties:j}{NewLine}{Exception}";

    /// <summary>
    /// The logger until the host's replaces it. It reads <c>Logging:Format</c> from the same places as the host
    /// (appsettings.json beside the binary, the environment, the command line); an invalid value gives text here, and
    /// the host then stops naming the key.
    /// </summary>
    public static Serilog.ILogger CreateBootstrapLogger(string[] args)
    {
        var configuration = new ConfigurationBuilder()
            .SetBasePath(AppContext.BaseDirectory)
            .AddJsonFile("appsettings.json", optional: true)
            .AddEnvironmentVariables()
            .AddCommandLine(args)
            .Build();
        var json = LogOutputOptions.IsJson(configuration[$"{LogOutputOptions.SectionName}:{nameof(LogOutputOptions.Format)}"]) ?? false;
        return Console(new LoggerConfiguration().Enrich.WithProperty("SourceContext", "Provisioning.Worker"), json).CreateBootstrapLogger();
    }

    /// <summary>Serilog for the host, its console in the configured format, <c>Logging:Format</c> validated.</summary>
    public static IServiceCollection AddWorkerSerilog(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<LogOutputOptions>().BindConfiguration(LogOutputOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<LogOutputOptions>, LogOutputOptionsValidator>();
        return services.AddSerilog((provider, logger) => Console(
            logger
                .ReadFrom.Configuration(configuration)
                .ReadFrom.Services(provider)
                .Enrich.FromLogContext(),
            LogOutputOptions.IsJson(provider.GetRequiredService<IOptions<LogOutputOptions>>().Value.Format) == true));
    }

    private static LoggerConfiguration Console(LoggerConfiguration logger, bool json) =>
        json
            ? logger.WriteTo.Console(new CompactJsonFormatter())
            : logger.WriteTo.Console(outputTemplate: TextTemplate, formatProvider: CultureInfo.InvariantCulture);
}
