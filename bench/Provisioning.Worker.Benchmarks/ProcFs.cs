using System.Globalization;

namespace Provisioning.Worker.Benchmarks;

/// <summary>What Linux's /proc tells about a process: CPU time used and peak resident memory.</summary>
public static class ProcFs
{
    private static readonly double _ticksPerSecond = 100; // USER_HZ; 100 on every Linux the project runs on

    /// <summary>User + system CPU seconds the process has used so far; NaN when it is gone.</summary>
    public static double CpuSeconds(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // Fields after the command name, which is in parentheses and may contain spaces.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var utime = long.Parse(fields[11], CultureInfo.InvariantCulture);
            var stime = long.Parse(fields[12], CultureInfo.InvariantCulture);
            return (utime + stime) / _ticksPerSecond;
        }
        catch (IOException)
        {
            return double.NaN;
        }
    }

    /// <summary>User + system CPU ticks of each live thread of the process whose name starts with <paramref name="namePrefix"/>, by thread id.</summary>
    public static Dictionary<int, long> ThreadCpuTicks(int pid, string namePrefix)
    {
        var ticks = new Dictionary<int, long>();
        try
        {
            foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
            {
                try
                {
                    if (File.ReadAllText(Path.Combine(task, "comm")).StartsWith(namePrefix, StringComparison.Ordinal))
                    {
                        var stat = File.ReadAllText(Path.Combine(task, "stat"));
                        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                        ticks[int.Parse(Path.GetFileName(task), CultureInfo.InvariantCulture)] =
                            long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
                    }
                }
                catch (IOException)
                {
                    // The thread ended meanwhile.
                }
            }
        }
        catch (IOException)
        {
            // The process ended.
        }

        return ticks;
    }

    public static double TicksToSeconds(long ticks) => ticks / _ticksPerSecond;

    /// <summary>A <c>kB</c> field of /proc/&lt;pid&gt;/status (VmHWM: peak RSS, VmRSS: current) in MiB; NaN when unknown.</summary>
    public static double StatusMiB(int pid, string field)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith(field + ":", StringComparison.Ordinal))
                {
                    var kb = long.Parse(line[(field.Length + 1)..].Replace("kB", string.Empty, StringComparison.Ordinal).Trim(), CultureInfo.InvariantCulture);
                    return kb / 1024.0;
                }
            }
        }
        catch (IOException)
        {
        }

        return double.NaN;
    }
}
