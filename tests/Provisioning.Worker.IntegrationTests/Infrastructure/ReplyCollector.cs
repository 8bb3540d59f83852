using MassTransit;
using Provisioning.Contracts;

namespace Provisioning.Worker.IntegrationTests.Infrastructure;

/// <summary>One reply as a device platform would receive it.</summary>
/// <param name="InitiatorId">The id of the message this replies to (MassTransit's initiatorId).</param>
public sealed record Reply(string Type, string? TenantId, string? DeviceId, Guid? MessageId, Guid? RequestId, object Message, Guid? InitiatorId = null)
{
    public CredentialsIssued Issued => (CredentialsIssued)Message;

    public ProvisioningRejected Rejected => (ProvisioningRejected)Message;
}

/// <summary>Collects every reply the worker publishes, and wakes waiters the moment one arrives (no polling delay).</summary>
public sealed class ReplyCollector
{
    private readonly List<Reply> _replies = [];
    private readonly Lock _lock = new();
    private TaskCompletionSource _arrived = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public IReadOnlyList<Reply> All
    {
        get
        {
            lock (_lock)
            {
                return [.. _replies];
            }
        }
    }

    public void Configure(IReceiveEndpointConfigurator endpoint)
    {
        endpoint.Handler<CredentialsIssued>(context => Add(context, context.Message.TenantId, context.Message.DeviceId));
        endpoint.Handler<CredentialsRevoked>(context => Add(context, context.Message.TenantId, context.Message.DeviceId));
        endpoint.Handler<ProvisioningRejected>(context => Add(context, context.Message.TenantId, context.Message.DeviceId));
    }

    public IReadOnlyList<Reply> For(string tenantId, string deviceId) =>
        All.Where(r => r.TenantId == tenantId && r.DeviceId == deviceId).ToList();

    /// <summary>Waits until <paramref name="condition"/> holds over the replies so far; returns them.</summary>
    public async Task<IReadOnlyList<Reply>> WaitForAsync(Func<IReadOnlyList<Reply>, bool> condition, TimeSpan timeout, Func<string>? diagnostics = null)
    {
        using var cancellation = new CancellationTokenSource(timeout);
        while (true)
        {
            Task arrived;
            lock (_lock)
            {
                if (condition(_replies))
                {
                    return [.. _replies];
                }

                arrived = _arrived.Task;
            }

            try
            {
                await arrived.WaitAsync(cancellation.Token);
            }
            catch (OperationCanceledException)
            {
                var summary = string.Join("\n", All.Select(r => $"{r.Type} {r.TenantId}/{r.DeviceId}"));
                throw new TimeoutException($"The expected replies did not arrive within {timeout}. Received:\n{summary}\n{diagnostics?.Invoke()}");
            }
        }
    }

    public Task<Reply> WaitForOneAsync(string type, string tenantId, string deviceId, TimeSpan timeout, Func<string>? diagnostics = null, int nth = 1) =>
        WaitForAsync(all => all.Count(r => r.Type == type && r.TenantId == tenantId && r.DeviceId == deviceId) >= nth, timeout, diagnostics)
            .ContinueWith(t => t.Result.Where(r => r.Type == type && r.TenantId == tenantId && r.DeviceId == deviceId).ElementAt(nth - 1), TaskScheduler.Default);

    private Task Add<T>(ConsumeContext<T> context, string? tenantId, string? deviceId)
        where T : class
    {
        lock (_lock)
        {
            _replies.Add(new Reply(typeof(T).Name, tenantId, deviceId, context.MessageId, context.RequestId, context.Message, context.InitiatorId));
            var arrived = _arrived;
            _arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            arrived.TrySetResult();
        }

        return Task.CompletedTask;
    }
}
