using System.Net;
using System.Net.Sockets;

namespace Provisioning.Worker.IntegrationTests.Infrastructure;

/// <summary>
/// A TCP forwarder on a loopback port to a real server, that a test can close and reopen: while it is closed,
/// connections to its port are refused and the ones it carried are reset, as when the server goes down. It can also
/// black-hole (<see cref="BlackHole"/>): every connection stays open and new ones are accepted, but not a byte is
/// forwarded either way — no RST, no FIN — as when a network path drops packets or the server hangs; what was sent
/// meanwhile is delivered once <see cref="Resume"/> lets it through, as TCP's retransmissions would. The shared
/// server itself is never touched.
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private readonly string _targetHost;
    private readonly int _targetPort;
    private readonly Lock _lock = new();
    private readonly List<Socket> _sockets = [];
    private TcpListener? _listener;
    private CancellationTokenSource? _stop;
    private Task _accepting = Task.CompletedTask;
    private TaskCompletionSource _flowing = NewGate(open: true);

    private TcpProxy(string targetHost, int targetPort)
    {
        _targetHost = targetHost;
        _targetPort = targetPort;
    }

    /// <summary>The loopback port it listens on; the same across <see cref="CloseAsync"/> and <see cref="Open"/>.</summary>
    public int Port { get; private set; }

    public bool IsOpen => _listener is not null;

    /// <summary>Connections accepted so far (to show the traffic really goes through the proxy).</summary>
    public int Accepted { get; private set; }

    /// <summary>Whether it currently forwards nothing (see <see cref="BlackHole"/>).</summary>
    public bool IsBlackHoled
    {
        get
        {
            lock (_lock)
            {
                return !_flowing.Task.IsCompleted;
            }
        }
    }

    public static TcpProxy Start(string targetHost, int targetPort)
    {
        var proxy = new TcpProxy(targetHost, targetPort);
        proxy.Open();
        return proxy;
    }

    /// <summary>Listens (again, on the same port) and forwards every connection to the target.</summary>
    public void Open()
    {
        lock (_lock)
        {
            if (_listener is not null)
            {
                return;
            }

            var listener = new TcpListener(IPAddress.Loopback, Port);
            // The port's old connections may linger in TIME_WAIT; without this the second bind fails.
            listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            listener.Start();
            Port = ((IPEndPoint)listener.LocalEndpoint).Port;
            _listener = listener;
            _stop = new CancellationTokenSource();
            _accepting = AcceptAsync(listener, _stop.Token);
        }
    }

    /// <summary>Stops listening (new connections are refused) and resets every connection it carries.</summary>
    public async Task CloseAsync()
    {
        Task accepting;
        CancellationTokenSource stop;
        lock (_lock)
        {
            if (_listener is null)
            {
                return;
            }

            stop = _stop!;
            stop.Cancel();
            _listener.Stop();
            _listener = null;
            foreach (var socket in _sockets)
            {
                Reset(socket);
            }

            _sockets.Clear();
            accepting = _accepting;
        }

        await accepting;
        stop.Dispose();
    }

    /// <summary>Stops forwarding: connections (old and new) stay open and silent until <see cref="Resume"/>.</summary>
    public void BlackHole()
    {
        lock (_lock)
        {
            if (_flowing.Task.IsCompleted)
            {
                _flowing = NewGate(open: false);
            }
        }
    }

    /// <summary>Forwards again, starting with whatever was held back.</summary>
    public void Resume()
    {
        lock (_lock)
        {
            _flowing.TrySetResult();
        }
    }

    public async ValueTask DisposeAsync()
    {
        Resume();
        await CloseAsync();
    }

    private static TaskCompletionSource NewGate(bool open)
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (open)
        {
            gate.SetResult();
        }

        return gate;
    }

    /// <summary>Completes when bytes may flow (at once unless black-holed).</summary>
    private Task FlowingAsync(CancellationToken stop)
    {
        lock (_lock)
        {
            return _flowing.Task.WaitAsync(stop);
        }
    }

    private async Task AcceptAsync(TcpListener listener, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptSocketAsync(stop);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = ForwardAsync(client, stop);
        }
    }

    private async Task ForwardAsync(Socket client, CancellationToken stop)
    {
        var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        lock (_lock)
        {
            if (stop.IsCancellationRequested)
            {
                Reset(client);
                upstream.Dispose();
                return;
            }

            _sockets.Add(client);
            _sockets.Add(upstream);
            Accepted++;
        }

        try
        {
            await FlowingAsync(stop);
            await upstream.ConnectAsync(_targetHost, _targetPort, stop);
            await Task.WhenAny(PumpAsync(client, upstream, stop), PumpAsync(upstream, client, stop));
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException or IOException)
        {
            // The proxy was closed or a side hung up: both ends go.
        }
        finally
        {
            lock (_lock)
            {
                _sockets.Remove(client);
                _sockets.Remove(upstream);
            }

            Reset(client);
            Reset(upstream);
        }
    }

    private async Task PumpAsync(Socket from, Socket to, CancellationToken stop)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None, stop);
                // Held back while black-holed, a hang-up (FIN) included: the other side must not learn of it.
                await FlowingAsync(stop);
                if (read == 0)
                {
                    return;
                }

                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, stop);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    /// <summary>Closes with RST (linger 0), as a crashed server's connections end.</summary>
    private static void Reset(Socket socket)
    {
        try
        {
            socket.LingerState = new LingerOption(true, 0);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }

        socket.Dispose();
    }
}
