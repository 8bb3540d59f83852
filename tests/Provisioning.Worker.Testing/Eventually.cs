using System.Diagnostics;
using System.Globalization;

namespace Provisioning.Worker.Testing;

/// <summary>
/// The one way the tests and the benchmark wait for something another process does: poll a condition until it holds
/// or the timeout passes, then throw a <see cref="TimeoutException"/> (a failed test under xunit) with what was
/// expected and, when given, where things stand.
/// </summary>
public static class Eventually
{
    private static readonly TimeSpan _defaultPoll = TimeSpan.FromMilliseconds(100);

    /// <summary>Waits until <paramref name="condition"/> is true; throws with <paramref name="failure"/> after <paramref name="timeout"/>.</summary>
    public static Task TrueAsync(Func<Task<bool>> condition, TimeSpan timeout, string failure, Func<string>? diagnostics = null, TimeSpan? poll = null, CancellationToken cancellationToken = default) =>
        TrueAsync(condition, timeout, failure, diagnostics is null ? null : () => Task.FromResult(diagnostics()), poll, cancellationToken);

    /// <inheritdoc cref="TrueAsync(Func{Task{bool}}, TimeSpan, string, Func{string}?, TimeSpan?, CancellationToken)"/>
    public static Task TrueAsync(Func<bool> condition, TimeSpan timeout, string failure, Func<string>? diagnostics = null, TimeSpan? poll = null, CancellationToken cancellationToken = default) =>
        TrueAsync(() => Task.FromResult(condition()), timeout, failure, diagnostics, poll, cancellationToken);

    /// <summary>As the others, with diagnostics that must ask the servers where things stand (read only on failure).</summary>
    public static async Task TrueAsync(Func<Task<bool>> condition, TimeSpan timeout, string failure, Func<Task<string>>? diagnostics, TimeSpan? poll = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var started = Stopwatch.GetTimestamp();
        while (!await condition())
        {
            if (Stopwatch.GetElapsedTime(started) > timeout)
            {
                var seconds = timeout.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture);
                throw new TimeoutException(diagnostics is null ? $"{failure} (within {seconds} s)" : $"{failure} (within {seconds} s)\n{await diagnostics()}");
            }

            await Task.Delay(poll ?? _defaultPoll, cancellationToken);
        }
    }

    /// <summary>
    /// Reads until <paramref name="done"/> holds for what was read or <paramref name="timeout"/> passes; the last
    /// value either way, for the caller to assert on (the answer a test reports is the one it saw last).
    /// </summary>
    public static async Task<T> LastAsync<T>(Func<Task<T>> read, Func<T, bool> done, TimeSpan timeout, TimeSpan? poll = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(read);
        ArgumentNullException.ThrowIfNull(done);
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            var value = await read();
            if (done(value) || Stopwatch.GetElapsedTime(started) > timeout)
            {
                return value;
            }

            await Task.Delay(poll ?? _defaultPoll, cancellationToken);
        }
    }
}
