using Provisioning.Worker.Brokers;

namespace Provisioning.Worker.Tests.Brokers;

public class BrokerRecordTests
{
    [Theory]
    [InlineData(false, true, true, false)]
    [InlineData(false, false, false, true)]
    [InlineData(true, true, false, false)]
    [InlineData(true, false, false, false)]
    public void A_broker_is_live_when_heard_and_not_taken_out_and_silent_when_not_heard_and_not_taken_out(bool takenOut, bool heard, bool live, bool silent)
    {
        // Given
        var broker = new BrokerRecord("b1", "eu", takenOut, heard, TimeSpan.FromSeconds(2), null, 3, null, 0);

        // Then
        Assert.Equal((live, silent), (broker.Live, broker.Silent));
    }
}
