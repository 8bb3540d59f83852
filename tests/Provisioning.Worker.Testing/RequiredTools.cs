namespace Provisioning.Worker.Testing;

/// <summary>Finds the real programs the tests run; a missing one fails the test (never skips it) and says how to install it.</summary>
public static class RequiredTools
{
    public static string Mosquitto => Find("mosquitto");

    public static string MosquittoPasswd => Find("mosquitto_passwd");

    public static string Promtool => Find(
        "promtool",
        "The alert rule tests run Prometheus's promtool: install it with scripts/deps.sh (Debian package prometheus, which ships /usr/bin/promtool).");

    public static string Find(string program, string? howToInstall = null)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        foreach (var directory in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, program);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException(
            $"'{program}' is not on PATH ({path}). " + (howToInstall ?? "The integration tests run the real Mosquitto 2.0: install it with scripts/deps.sh " +
            "(Debian packages mosquitto and mosquitto-clients; mosquitto itself is in /usr/sbin, which must be on PATH)."));
    }
}
