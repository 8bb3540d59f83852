using System.Diagnostics;
using System.Globalization;

namespace Provisioning.Worker.IntegrationTests.Infrastructure;

/// <summary>
/// The tests' one way to wait for something another process does: poll a condition until it holds or the timeout
/// passes, then fail with what was expected and, when given, where things stand.
/// </summary>
public static class Eventually
{
    private static readonly TimeSpan _defaultPoll = TimeSpan.FromMilliseconds(100);

    /// <summary>Waits until <paramref name="condition"/> is true; fails the test with <paramref name="failure"/> after <paramref name="timeout"/>.</summary>
    public static Task TrueAsync(Func<Task<bool>> condition, TimeSpan timeout, string failure, Func<string>? diagnostics = null, TimeSpan? poll = null) =>
        TrueAsync(condition, timeout, failure, diagnostics is null ? null : () => Task.FromResult(diagnostics()), poll);

    /// <inheritdoc cref="TrueAsync(Func{Task{bool}}, TimeSpan, string, Func{string}?, TimeSpan?)"/>
    public static Task TrueAsync(Func<bool> condition, TimeSpan timeout, string failure, Func<string>? diagnostics = null, TimeSpan? poll = null) =>
        TrueAsync(() => Task.FromResult(condition()), timeout, failure, diagnostics, poll);

    /// <summary>As the others, with diagnostics that must ask the servers where things stand (read only on failure).</summary>
    public static async Task TrueAsync(Func<Task<bool>> condition, TimeSpan timeout, string failure, Func<Task<string>>? diagnostics, TimeSpan? poll = null)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var started = Stopwatch.GetTimestamp();
        while (!await condition())
        {
            if (Stopwatch.GetElapsedTime(started) > timeout)
            {
                var seconds = timeout.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture);
                Assert.Fail(diagnostics is null ? $"{failure} (within {seconds} s)" : $"{failure} (within {seconds} s)\n{await diagnostics()}");
            }

            await Task.Delay(poll ?? _defaultPoll);
        }
    }
}
