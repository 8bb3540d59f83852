using System.Diagnostics;
using Provisioning.Worker.Mosquitto;

namespace Provisioning.Worker.Tests.Mosquitto;

public class NativeMethodsTests
{
    [Fact]
    public void GetGroupId_reads_the_group_that_stat_reports()
    {
        // Given: a group that differs from the owner's where possible (as root: nogroup)
        var path = Path.GetTempFileName();
        try
        {
            Process.Start("chgrp", ["65534", path])!.WaitForExit();
            using var stat = Process.Start(new ProcessStartInfo("stat", ["-c", "%g", path]) { RedirectStandardOutput = true })!;
            var expected = uint.Parse(stat.StandardOutput.ReadToEnd().Trim(), System.Globalization.CultureInfo.InvariantCulture);
            stat.WaitForExit();

            // When
            var actual = NativeMethods.GetGroupId(path);

            // Then
            Assert.Equal(expected, actual);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void GetGroupId_of_a_missing_file_is_null()
    {
        Assert.Null(NativeMethods.GetGroupId(Path.Combine(Path.GetTempPath(), Guid.NewGuid().ToString("N"))));
    }
}
