using Provisioning.Worker.Cli;

// Placeholder dispatch for the passwd CLI (the lead wires it into the real Program.cs when merging).
if (args is ["passwd", ..])
{
    var configuration = new ConfigurationBuilder().AddEnvironmentVariables().Build();
    using var cts = new CancellationTokenSource();
    Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); };
    return await PasswdCommand.RunAsync(args[1..], configuration, Console.In, Console.Out, Console.Error, cts.Token);
}

return 0;
