using System.Text.Json;

namespace Provisioning.Worker.IntegrationTests.Faults;

/// <summary>
/// Where the suite's figures go: one JSON line per passed scenario, appended to the file named by
/// <c>PROVISIONING_FAULT_FIGURES</c> (scripts/test.sh sets it and prints the totals), so the README quotes measured
/// numbers.
/// </summary>
public static class FaultFigures
{
    public const string Variable = "PROVISIONING_FAULT_FIGURES";

    private static readonly Lock _lock = new();
    private static readonly JsonSerializerOptions _json = new(JsonSerializerDefaults.Web);

    public static void Record(ScenarioFigures figures)
    {
        if (Environment.GetEnvironmentVariable(Variable) is not { Length: > 0 } path)
        {
            return;
        }

        lock (_lock)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            File.AppendAllText(path, JsonSerializer.Serialize(figures, _json) + "\n");
        }
    }
}
