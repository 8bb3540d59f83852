using System.Globalization;
using System.Text;

namespace Provisioning.Worker.DeadLetters;

/// <summary>AMQP header values as RabbitMQ.Client hands them over: strings arrive as UTF-8 bytes, numbers as any integer type.</summary>
internal static class HeaderValues
{
    public static string? GetString(IDictionary<string, object?>? headers, string key) =>
        headers is not null && headers.TryGetValue(key, out var value) ? AsString(value) : null;

    public static int? GetInt(IDictionary<string, object?>? headers, string key)
    {
        if (headers is null || !headers.TryGetValue(key, out var value))
        {
            return null;
        }

        return value switch
        {
            int i => i,
            long l when l is >= int.MinValue and <= int.MaxValue => (int)l,
            short s => s,
            byte b => b,
            sbyte sb => sb,
            ushort us => us,
            uint ui when ui <= int.MaxValue => (int)ui,
            _ => int.TryParse(AsString(value), NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed) ? parsed : null,
        };
    }

    public static string? AsString(object? value) => value switch
    {
        null => null,
        byte[] bytes => Encoding.UTF8.GetString(bytes),
        string text => text,
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString(),
    };
}
