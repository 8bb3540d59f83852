using Microsoft.Extensions.Options;

namespace Provisioning.Worker.Configuration;

/// <summary>The <c>Logging:Format</c> key: what the worker's console log looks like (docs/logging.md).</summary>
public sealed class LogOutputOptions
{
    public const string SectionName = "Logging";

    /// <summary>One line of text per event, for people.</summary>
    public const string Text = "text";

    /// <summary>One JSON object per line, Serilog's compact format (CLEF), for log shippers.</summary>
    public const string Json = "json";

    /// <summary><see cref="Text"/> (the default) or <see cref="Json"/>.</summary>
    public string Format { get; set; } = Text;

    /// <summary>Whether <paramref name="format"/> asks for JSON; null when it is neither known value.</summary>
    public static bool? IsJson(string? format) => format?.Trim().ToLowerInvariant() switch
    {
        null or "" or Text => false,
        Json => true,
        _ => null,
    };
}

internal sealed class LogOutputOptionsValidator : IValidateOptions<LogOutputOptions>
{
    public ValidateOptionsResult Validate(string? name, LogOutputOptions options) =>
        LogOutputOptions.IsJson(options.Format) is null
            ? ValidateOptionsResult.Fail($"{LogOutputOptions.SectionName}:Format is '{options.Format}'; it must be '{LogOutputOptions.Text}' or '{LogOutputOptions.Json}'.")
            : ValidateOptionsResult.Success;
}
