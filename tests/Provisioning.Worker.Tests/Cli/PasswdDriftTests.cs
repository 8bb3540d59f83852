using System.Text;
using Provisioning.Worker.Cli;
using Provisioning.Worker.Mosquitto;

namespace Provisioning.Worker.Tests.Cli;

public sealed class PasswdDriftTests
{
    private static readonly string _hashA = MosquittoPasswordHash.Create("a", 1);
    private static readonly string _hashB = MosquittoPasswordHash.Create("b", 1);

    private static PasswdFile File(params string[] lines) => PasswdFile.Parse(Encoding.UTF8.GetBytes(string.Join("\n", lines) + "\n"));

    private static PasswdDrift Compare(PasswdFile? file, long? appliedXmin, params DeviceLineSource[] rows)
    {
        var drift = new PasswdDrift(file, appliedXmin);
        foreach (var row in rows)
        {
            drift.Add(row);
        }

        drift.Finish();
        return drift;
    }

    [Fact]
    public void A_file_with_every_active_device_and_its_hash_is_in_step_whatever_its_operator_lines()
    {
        var drift = Compare(
            File("# operators", $"service:{_hashA}", $"provisioning-worker-probe:{_hashB}", $"acme.d1:{_hashA}"),
            appliedXmin: 100,
            new DeviceLineSource("acme.d1", Active: true, _hashA, ChangedXid: 99),
            new DeviceLineSource("acme.gone", Active: false, null, ChangedXid: 50));

        Assert.True(drift.InStep, string.Join("; ", drift.Items));
        Assert.Equal(1, drift.FileDeviceLines);
        Assert.Equal(1, drift.ActiveDevices);
    }

    [Fact]
    public void Each_kind_of_drift_is_named_with_its_user()
    {
        var drift = Compare(
            File($"acme.stale:{_hashA}", $"acme.deleted:{_hashA}", $"acme.stranger:{_hashA}"),
            appliedXmin: 100,
            new DeviceLineSource("acme.missing", Active: true, _hashA, ChangedXid: 10),
            new DeviceLineSource("acme.stale", Active: true, _hashB, ChangedXid: 10),
            new DeviceLineSource("acme.deleted", Active: false, null, ChangedXid: 10));

        Assert.False(drift.InStep);
        Assert.Equal(
            [(PasswdDrift.Missing, "acme.missing"), (PasswdDrift.Stale, "acme.stale"), (PasswdDrift.Deleted, "acme.deleted"), (PasswdDrift.Unknown, "acme.stranger")],
            drift.Items.Select(i => (i.Kind, i.Username!)));
        Assert.All(drift.Items, i => Assert.False(i.Unconfirmed));
        Assert.DoesNotContain(drift.Items, i => i.Detail.Contains(_hashA, StringComparison.Ordinal) || i.Detail.Contains(_hashB, StringComparison.Ordinal));
    }

    [Fact]
    public void A_change_at_or_after_the_checkpoint_is_unconfirmed_even_when_the_file_already_has_it()
    {
        var drift = Compare(
            File($"acme.written:{_hashA}"),
            appliedXmin: 100,
            new DeviceLineSource("acme.written", Active: true, _hashA, ChangedXid: 100),
            new DeviceLineSource("acme.new", Active: true, _hashA, ChangedXid: 101));

        Assert.Equal([(PasswdDrift.Unconfirmed, "acme.written", true), (PasswdDrift.Missing, "acme.new", true)], drift.Items.Select(i => (i.Kind, i.Username!, i.Unconfirmed)));
    }

    [Fact]
    public void Without_a_checkpoint_nothing_is_marked_unconfirmed()
    {
        var drift = Compare(File(), appliedXmin: null, new DeviceLineSource("acme.new", Active: true, _hashA, ChangedXid: 101));

        Assert.Equal((PasswdDrift.Missing, false), (drift.Items.Single().Kind, drift.Items.Single().Unconfirmed));
    }

    [Fact]
    public void A_missing_file_lacks_every_active_device()
    {
        var drift = Compare(null, appliedXmin: 100, new DeviceLineSource("acme.d1", Active: true, _hashA, ChangedXid: 1));

        Assert.Equal(PasswdDrift.Missing, drift.Items.Single().Kind);
        Assert.Equal(0, drift.FileDeviceLines);
    }

    [Fact]
    public void A_user_defined_twice_is_a_problem_the_broker_would_refuse()
    {
        var drift = Compare(File($"acme.d1:{_hashA}", $"acme.d1:{_hashA}"), appliedXmin: 100, new DeviceLineSource("acme.d1", Active: true, _hashA, ChangedXid: 1));

        var problem = Assert.Single(drift.Items);
        Assert.Equal(PasswdDrift.Problem, problem.Kind);
        Assert.Contains("already defined on line 1", problem.Detail, StringComparison.Ordinal);
    }
}
