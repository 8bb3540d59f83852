using Provisioning.Worker.Mosquitto;

namespace Provisioning.Worker.Tests.Mosquitto;

public sealed class SignalDispositionTests
{
    private const int SigHup = 1;
    private const int SigTerm = 15;

    [Theory]
    [InlineData("0000000000004a03", SigHup, true)]
    [InlineData("0000000000004a02", SigHup, false)]
    [InlineData("0000000000004000", SigTerm, true)]
    [InlineData("0000000000000000", SigTerm, false)]
    public void The_SigCgt_mask_tells_whether_a_signal_is_caught(string mask, int signal, bool caught)
    {
        // Given: the shape of a real /proc/<pid>/status
        var status = $"Name:\tmosquitto\nState:\tS (sleeping)\nPid:\t4242\nSigQ:\t0/127422\nSigPnd:\t0000000000000000\nShdPnd:\t0000000000000000\nSigBlk:\t0000000000000000\nSigIgn:\t0000000000001000\nSigCgt:\t{mask}\nCapInh:\t0000000000000000\n";

        // When / Then
        Assert.Equal(caught, SignalDisposition.CatchesIn(status, signal));
    }

    [Fact]
    public void A_status_without_SigCgt_tells_nothing()
    {
        Assert.Null(SignalDisposition.CatchesIn("Name:\tsleep\nPid:\t1\n", SigHup));
    }

    [Fact]
    public void A_process_that_does_not_exist_tells_nothing()
    {
        Assert.Null(SignalDisposition.Catches(int.MaxValue, SigHup));
    }
}
