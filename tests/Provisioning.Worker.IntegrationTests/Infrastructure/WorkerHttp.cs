using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Provisioning.Worker.IntegrationTests.Infrastructure;

/// <summary>
/// The worker's HTTP side. It is started with <c>ASPNETCORE_URLS=http://127.0.0.1:0</c> (a free port) and logs
/// "Now listening on: http://127.0.0.1:PORT" (or, in JSON logs, that line's <c>address</c> property); the address is read from there.
/// </summary>
public static partial class WorkerHttp
{
    private static readonly HttpClient _client = new() { Timeout = TimeSpan.FromSeconds(30) };

    public static async Task<Uri> WaitForAddressAsync(WorkerProcess worker, TimeSpan? timeout = null)
    {
        Uri? address = null;
        await Eventually.TrueAsync(
            () =>
            {
                if (ListeningOn().Match(worker.Stdout) is { Success: true } match)
                {
                    address = new Uri(match.Groups["address"].Value);
                    return true;
                }

                Assert.False(worker.HasExited, $"the worker exited before listening:\n{worker.Stdout}{worker.Stderr}");
                return false;
            },
            timeout ?? TimeSpan.FromSeconds(60),
            "the worker logged no 'Now listening on:' line",
            () => worker.Stdout,
            TimeSpan.FromMilliseconds(50));
        return address!;
    }

    /// <summary>
    /// Waits until the worker is ready as an operator's probe sees it (<c>/health/ready</c> 200: bus consuming, database
    /// reachable, files rendered and the broker's reload proven); its address.
    /// </summary>
    public static async Task<Uri> WaitUntilReadyAsync(WorkerProcess worker, Func<string> diagnostics, TimeSpan? timeout = null)
    {
        var address = await WaitForAddressAsync(worker, timeout);
        await Eventually.TrueAsync(
            async () =>
            {
                Assert.False(worker.HasExited, $"the worker exited during start:\n{diagnostics()}");
                return (await GetAsync(address, "/health/ready")).Status == HttpStatusCode.OK;
            },
            timeout ?? TimeSpan.FromSeconds(60),
            "the worker did not become ready (/health/ready 200)",
            diagnostics,
            TimeSpan.FromMilliseconds(50));
        return address;
    }

    /// <summary>The value of a counter or gauge in the worker's <c>/metrics</c> (the first series with <paramref name="labels"/>); 0 before its first measurement.</summary>
    public static async Task<double> MetricAsync(Uri address, string name, params string[] labels) =>
        PrometheusText.Value((await GetAsync(address, "/metrics")).Body, name, labels) ?? 0;

    public static async Task<(HttpStatusCode Status, string Body)> GetAsync(Uri address, string path)
    {
        using var response = await _client.GetAsync(new Uri(address, path));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>GETs <paramref name="path"/> until <paramref name="done"/> holds for the answer; the last answer either way.</summary>
    public static Task<(HttpStatusCode Status, string Body)> PollAsync(Uri address, string path, Func<HttpStatusCode, string, bool> done, TimeSpan timeout) =>
        Eventually.LastAsync(() => GetAsync(address, path), answer => done(answer.Status, answer.Body), timeout);

    /// <summary>The status of each check in a health body, by name.</summary>
    public static IReadOnlyDictionary<string, (string Status, string Description)> Checks(string body)
    {
        using var json = JsonDocument.Parse(body);
        return json.RootElement.GetProperty("checks").EnumerateObject().ToDictionary(
            check => check.Name,
            check => (check.Value.GetProperty("status").GetString()!, check.Value.GetProperty("description").GetString()!));
    }

    public static IReadOnlyList<string> Failing(string body)
    {
        using var json = JsonDocument.Parse(body);
        return json.RootElement.GetProperty("failing").EnumerateArray().Select(e => e.GetString()!).ToList();
    }

    // Text logs render the message; compact JSON logs (Logging:Format=json) carry the address as a property.
    [GeneratedRegex(@"Now listening on: (?<address>http://[^\s""]+)|""address"":""(?<address>http://[^""]+)""")]
    private static partial Regex ListeningOn();
}
