using System.Net;
using System.Net.Sockets;

namespace Provisioning.Worker.IntegrationTests.Infrastructure;

/// <summary>
/// A TCP forwarder on a free loopback port, to take a shared server (PostgreSQL) away from one process without
/// touching the server: <see cref="Refuse"/> closes the listener and every forwarded connection, so the process
/// sees its connections drop and new ones refused; <see cref="Allow"/> listens on the same port again.
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private readonly string _targetHost;
    private readonly int _targetPort;
    private readonly Lock _lock = new();
    private readonly HashSet<TcpClient> _connections = [];
    private readonly CancellationTokenSource _disposed = new();
    private TcpListener? _listener;
    private Task _acceptLoop = Task.CompletedTask;

    private TcpProxy(string targetHost, int targetPort)
    {
        _targetHost = targetHost;
        _targetPort = targetPort;
    }

    /// <summary>The loopback port the proxy listens on; it stays the same across <see cref="Refuse"/> and <see cref="Allow"/>.</summary>
    public int Port { get; private set; }

    /// <summary>Connections accepted so far (to show the traffic really goes through the proxy).</summary>
    public int Accepted { get; private set; }

    public static TcpProxy Start(string targetHost, int targetPort)
    {
        var proxy = new TcpProxy(targetHost, targetPort);
        proxy.Listen(0);
        return proxy;
    }

    /// <summary>Stops listening (new connections are refused) and cuts every forwarded connection.</summary>
    public void Refuse()
    {
        TcpClient[] open;
        lock (_lock)
        {
            _listener?.Stop();
            _listener = null;
            open = [.. _connections];
            _connections.Clear();
        }

        foreach (var client in open)
        {
            try
            {
                // Reset rather than a polite FIN: the peer must not mistake it for an orderly close.
                client.Client?.LingerState = new LingerOption(true, 0);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // already closed by its forwarder
            }

            client.Dispose();
        }
    }

    /// <summary>Listens on <see cref="Port"/> again.</summary>
    public void Allow()
    {
        lock (_lock)
        {
            if (_listener is not null)
            {
                return;
            }
        }

        Listen(Port);
    }

    public async ValueTask DisposeAsync()
    {
        await _disposed.CancelAsync();
        Refuse();
        await _acceptLoop.ContinueWith(_ => { }, TaskScheduler.Default);
        _disposed.Dispose();
    }

    private void Listen(int port)
    {
        var listener = new TcpListener(IPAddress.Loopback, port);
        listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Start();
        lock (_lock)
        {
            _listener = listener;
            Port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        _acceptLoop = AcceptAsync(listener);
    }

    private async Task AcceptAsync(TcpListener listener)
    {
        while (!_disposed.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await listener.AcceptTcpClientAsync(_disposed.Token);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException or InvalidOperationException)
            {
                return; // Refuse() stopped this listener
            }

            _ = ForwardAsync(client);
        }
    }

    private async Task ForwardAsync(TcpClient client)
    {
        var upstream = new TcpClient();
        lock (_lock)
        {
            if (_listener is null)
            {
                client.Dispose();
                upstream.Dispose();
                return;
            }

            Accepted++;
            _connections.Add(client);
            _connections.Add(upstream);
        }

        try
        {
            await upstream.ConnectAsync(_targetHost, _targetPort, _disposed.Token);
            using var either = CancellationTokenSource.CreateLinkedTokenSource(_disposed.Token);
            var down = Pump(client.GetStream(), upstream.GetStream(), either);
            var up = Pump(upstream.GetStream(), client.GetStream(), either);
            await Task.WhenAny(down, up);
            await either.CancelAsync();
        }
        catch (Exception e) when (e is SocketException or IOException or ObjectDisposedException or OperationCanceledException or InvalidOperationException)
        {
            // one side went away; both are closed below
        }
        finally
        {
            lock (_lock)
            {
                _connections.Remove(client);
                _connections.Remove(upstream);
            }

            client.Dispose();
            upstream.Dispose();
        }
    }

    private static async Task Pump(NetworkStream from, NetworkStream to, CancellationTokenSource either)
    {
        try
        {
            await from.CopyToAsync(to, either.Token);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException or SocketException)
        {
        }
    }
}
