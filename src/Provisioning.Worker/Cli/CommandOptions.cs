using Microsoft.Extensions.Options;
using Provisioning.Worker.Hosting;

namespace Provisioning.Worker.Cli;

/// <summary>
/// The worker's options as an operator command reads them: bound and validated by the worker's own registration
/// (<see cref="ProvisioningWorkerExtensions.AddProvisioningOptions"/>), so a key the worker refuses at start is
/// refused here, with the same message naming it.
/// </summary>
internal static class CommandOptions
{
    /// <summary>The section bound to <typeparamref name="T"/>, after <paramref name="adjust"/> (a command-line override) and validation.</summary>
    /// <exception cref="InvalidConfigurationException">a key cannot be bound or fails the worker's validator.</exception>
    public static T Read<T>(IConfiguration configuration, Action<T>? adjust = null)
        where T : class
    {
        using var provider = Build(configuration, adjust);
        var failures = new List<string>();
        var options = TryGet<T>(provider, failures);
        return options ?? throw new InvalidConfigurationException(failures);
    }

    /// <summary>
    /// Two classes bound from one section (the <c>Mosquitto</c> section's <see cref="Configuration.BrokerTargetOptions"/>
    /// and <see cref="Configuration.DeviceCredentialOptions"/>), validated together: the failures of both, in one batch.
    /// </summary>
    /// <exception cref="InvalidConfigurationException">a key of either cannot be bound or fails the worker's validator.</exception>
    public static (T1 First, T2 Second) Read<T1, T2>(IConfiguration configuration, Action<T1>? adjust = null)
        where T1 : class
        where T2 : class
    {
        using var provider = Build(configuration, adjust);
        var failures = new List<string>();
        var first = TryGet<T1>(provider, failures);
        var second = TryGet<T2>(provider, failures);
        return first is not null && second is not null ? (first, second) : throw new InvalidConfigurationException(failures);
    }

    private static ServiceProvider Build<T>(IConfiguration configuration, Action<T>? adjust)
        where T : class
    {
        var services = new ServiceCollection().AddSingleton(configuration).AddProvisioningOptions(WorkerRoles.OfOperatorCommand(configuration));
        if (adjust is not null)
        {
            // Post-configuration runs before validation: an override is validated like the configured value.
            services.PostConfigure(adjust);
        }

        return services.BuildServiceProvider();
    }

    /// <summary>The options, or null with their failures added to <paramref name="failures"/>.</summary>
    private static T? TryGet<T>(ServiceProvider provider, List<string> failures)
        where T : class
    {
        try
        {
            return provider.GetRequiredService<IOptions<T>>().Value;
        }
        catch (OptionsValidationException e)
        {
            failures.AddRange(e.Failures);
        }
        catch (InvalidOperationException e)
        {
            // The binder's own message names the key ("Failed to convert configuration value at 'Mosquitto:HashIterations' ..."), never the value.
            failures.Add(e.Message);
        }

        return null;
    }
}

/// <summary>Configuration the worker would refuse at start; each failure names its key.</summary>
internal sealed class InvalidConfigurationException(IReadOnlyList<string> failures) : Exception(string.Join(" ", failures))
{
    public IReadOnlyList<string> Failures { get; } = failures;

    public async Task WriteToAsync(TextWriter stderr)
    {
        foreach (var failure in Failures)
        {
            await stderr.WriteLineAsync($"error: invalid configuration: {failure}");
        }
    }
}
