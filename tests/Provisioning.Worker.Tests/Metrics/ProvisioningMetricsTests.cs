using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Provisioning.Worker.Devices;
using Provisioning.Worker.Health;
using Provisioning.Worker.Metrics;

namespace Provisioning.Worker.Tests.Metrics;

public sealed class ProvisioningMetricsTests : IDisposable
{
    private readonly ServiceProvider _provider;
    private readonly MeterListener _listener = new();
    private readonly List<(string Instrument, double Value, Dictionary<string, object?> Tags)> _measurements = [];

    public ProvisioningMetricsTests()
    {
        _provider = new ServiceCollection().AddMetrics().BuildServiceProvider();
        Metrics = new ProvisioningMetrics(_provider.GetRequiredService<IMeterFactory>(), TimeProvider.System);
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == ProvisioningMetrics.MeterName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.Start();
    }

    private ProvisioningMetrics Metrics { get; }

    [Fact]
    public void A_consumed_event_is_counted_by_type_and_lower_case_outcome()
    {
        Metrics.EventConsumed("DeviceRegistered", LifecycleOutcome.Duplicate);

        var (_, value, tags) = Assert.Single(_measurements, m => m.Instrument == "provisioning.events.consumed");
        Assert.Equal(1, value);
        Assert.Equal("DeviceRegistered", tags["type"]);
        Assert.Equal("duplicate", tags["outcome"]);
    }

    [Theory]
    [InlineData("CredentialsIssued", "provisioning.credentials.issued")]
    [InlineData("CredentialsRevoked", "provisioning.credentials.revoked")]
    [InlineData("ProvisioningRejected", "provisioning.credentials.rejected")]
    public void A_delivered_reply_counts_its_kind_and_records_its_latency(string messageType, string counter)
    {
        Metrics.ReplyDelivered(messageType, TimeSpan.FromMilliseconds(1500));

        Assert.Single(_measurements, m => m.Instrument.StartsWith("provisioning.credentials.", StringComparison.Ordinal));
        Assert.Single(_measurements, m => m.Instrument == counter);
        var latency = Assert.Single(_measurements, m => m.Instrument == "provisioning.outbox.delivery_latency");
        Assert.Equal(1.5, latency.Value);
        Assert.Equal(messageType, latency.Tags["type"]);
    }

    [Fact]
    public void The_gauges_read_the_last_applied_projection_and_the_last_samples()
    {
        Metrics.ProjectionApplied(12);
        Metrics.SetBacklog(new OutboxBacklog(2, 3, DateTimeOffset.UtcNow.AddSeconds(-30)));
        Metrics.SetDeadLetters(new Dictionary<string, long> { ["device-registered_error"] = 4 });

        _listener.RecordObservableInstruments();

        Assert.Equal(12, Assert.Single(_measurements, m => m.Instrument == "provisioning.passwd.devices").Value);
        Assert.Equal(2, Assert.Single(_measurements, m => m.Instrument == "provisioning.outbox.backlog" && (string?)m.Tags["state"] == "awaiting_broker").Value);
        Assert.Equal(3, Assert.Single(_measurements, m => m.Instrument == "provisioning.outbox.backlog" && (string?)m.Tags["state"] == "ready").Value);
        Assert.InRange(Assert.Single(_measurements, m => m.Instrument == "provisioning.outbox.oldest_age").Value, 29, 60);
        var deadLetters = Assert.Single(_measurements, m => m.Instrument == "provisioning.dead_letters");
        Assert.Equal(4, deadLetters.Value);
        Assert.Equal("device-registered_error", deadLetters.Tags["queue"]);
    }

    [Fact]
    public void Sampled_gauges_are_left_out_until_a_sample_succeeded()
    {
        _listener.RecordObservableInstruments();

        Assert.DoesNotContain(_measurements, m => m.Instrument is "provisioning.outbox.backlog" or "provisioning.outbox.oldest_age" or "provisioning.dead_letters");
    }

    public void Dispose()
    {
        _listener.Dispose();
        _provider.Dispose();
    }

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var copy = new Dictionary<string, object?>();
        foreach (var tag in tags)
        {
            copy[tag.Key] = tag.Value;
        }

        lock (_measurements)
        {
            _measurements.Add((instrument.Name, value, copy));
        }
    }
}
