using MassTransit;
using Provisioning.Contracts;

namespace Provisioning.Worker.IntegrationTests.Faults;

/// <summary>A message the upstream app got the broker to confirm.</summary>
public sealed record PublishedMessage(Guid Id, bool IsRegistration, string TenantId, string DeviceId, DateTimeOffset OccurredAt)
{
    public string Username => $"{TenantId}/{DeviceId}";
}

/// <summary>
/// The upstream app under faults: a steady stream of registrations, re-registrations (rotations) and deletions over a
/// pool of devices, published one at a time with broker confirmation. A publish that fails (broker down, connection
/// cut) is retried with the same message id until it is confirmed, as an at-least-once producer does; so the broker
/// may hold a message twice, and the inbox has to absorb it. Only confirmed messages are recorded. Every event
/// carries a strictly later <c>occurredAt</c> than the one before, so the expected end state of each device is the
/// kind of its latest processed event, whatever order the worker consumed them in.
/// </summary>
public sealed class LoadGenerator : IAsyncDisposable
{
    private readonly IBus _bus;
    private readonly string _tenant;
    private readonly int _devices;
    private readonly TimeSpan _interval;
    private readonly Random _random;
    private readonly List<PublishedMessage> _published = [];
    private readonly Dictionary<int, bool> _active = [];
    private readonly SemaphoreSlim _publishing = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private DateTimeOffset _lastOccurredAt = DateTimeOffset.UtcNow.AddHours(-1);
    private Task? _loop;
    private int _failedAttempts;

    public LoadGenerator(IBus bus, string tenant, int devices, TimeSpan interval, int seed)
    {
        _bus = bus;
        _tenant = tenant;
        _devices = devices;
        _interval = interval;
        _random = new Random(seed);
    }

    /// <summary>Confirmed messages so far.</summary>
    public IReadOnlyList<PublishedMessage> Published
    {
        get
        {
            lock (_published)
            {
                return [.. _published];
            }
        }
    }

    /// <summary>Publish attempts that failed and were retried (the broker was away).</summary>
    public int FailedAttempts => Volatile.Read(ref _failedAttempts);

    public LoadGenerator Start()
    {
        _loop = Task.Run(RunAsync);
        return this;
    }

    /// <summary>Waits until at least <paramref name="count"/> messages have been confirmed.</summary>
    public async Task WaitForPublishedAsync(int count, TimeSpan? timeout = null)
    {
        await Eventually.TrueAsync(
            () =>
            {
                Assert.False(_loop is { IsFaulted: true }, $"the load generator failed: {_loop?.Exception}");
                return Published.Count >= count;
            },
            timeout ?? TimeSpan.FromSeconds(60),
            $"the load generator did not confirm {count} messages",
            () => $"confirmed: {Published.Count}",
            TimeSpan.FromMilliseconds(20));
    }

    /// <summary>Stops the stream after the message in flight is confirmed.</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        if (_loop is not null)
        {
            await _loop;
        }
    }

    /// <summary>Publishes one chosen message outside the stream (same confirmation and retry), recorded like the others.</summary>
    public async Task<PublishedMessage> PublishAsync(bool registration, string tenantId, string deviceId, Guid? messageId = null)
    {
        await _publishing.WaitAsync();
        try
        {
            return await PublishLockedAsync(registration, tenantId, deviceId, messageId ?? NewId.NextGuid());
        }
        finally
        {
            _publishing.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
        _publishing.Dispose();
    }

    private async Task RunAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            int device;
            bool registration;
            await _publishing.WaitAsync();
            try
            {
                // Fresh devices first, then a mix: an active device is deleted or registered again (a rotation).
                device = _active.Count < _devices ? _active.Count : _random.Next(_devices);
                var active = _active.GetValueOrDefault(device);
                registration = !active || _random.NextDouble() < 0.6;
                await PublishLockedAsync(registration, _tenant, $"d{device:D4}", NewId.NextGuid());
                _active[device] = registration;
            }
            finally
            {
                _publishing.Release();
            }

            try
            {
                await Task.Delay(_interval, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    private async Task<PublishedMessage> PublishLockedAsync(bool registration, string tenantId, string deviceId, Guid messageId)
    {
        var now = DateTimeOffset.UtcNow;
        var occurredAt = now > _lastOccurredAt ? now : _lastOccurredAt.AddTicks(10);
        _lastOccurredAt = occurredAt;
        var message = new PublishedMessage(messageId, registration, tenantId, deviceId, occurredAt);
        var giveUpAt = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (true)
        {
            using var attempt = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try
            {
                if (registration)
                {
                    await _bus.Publish(new DeviceRegistered { TenantId = tenantId, DeviceId = deviceId, OccurredAt = occurredAt }, c => c.MessageId = messageId, attempt.Token);
                }
                else
                {
                    await _bus.Publish(new DeviceDeleted { TenantId = tenantId, DeviceId = deviceId, OccurredAt = occurredAt }, c => c.MessageId = messageId, attempt.Token);
                }

                break;
            }
            catch (Exception e) when (DateTime.UtcNow < giveUpAt && e is not ArgumentException)
            {
                // Not confirmed (the broker is away or cut the connection): the same message again, as an at-least-once producer does.
                Interlocked.Increment(ref _failedAttempts);
                await Task.Delay(200);
            }
        }

        lock (_published)
        {
            _published.Add(message);
        }

        return message;
    }
}
