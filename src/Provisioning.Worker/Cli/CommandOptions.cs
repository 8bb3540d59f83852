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
        var services = new ServiceCollection().AddSingleton(configuration).AddProvisioningOptions(WorkerRoles.OfOperatorCommand(configuration));
        if (adjust is not null)
        {
            // Post-configuration runs before validation: an override is validated like the configured value.
            services.PostConfigure(adjust);
        }

        using var provider = services.BuildServiceProvider();
        try
        {
            return provider.GetRequiredService<IOptions<T>>().Value;
        }
        catch (OptionsValidationException e)
        {
            throw new InvalidConfigurationException(e.Failures.ToList());
        }
        catch (InvalidOperationException e)
        {
            // The binder's own message names the key ("Failed to convert configuration value at 'Mosquitto:HashIterations' ..."), never the value.
            throw new InvalidConfigurationException([e.Message]);
        }
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
