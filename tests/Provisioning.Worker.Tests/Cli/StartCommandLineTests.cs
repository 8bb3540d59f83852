using Provisioning.Worker.Cli;

namespace Provisioning.Worker.Tests.Cli;

public sealed class StartCommandLineTests
{
    [Fact]
    public void No_arguments_start_the_worker()
    {
        var start = StartCommandLine.Parse([]);

        Assert.Equal(StartKind.Worker, start.Kind);
        Assert.Empty(start.Arguments);
    }

    [Theory]
    [InlineData("--urls", "http://127.0.0.1:8080")]
    [InlineData("--Mosquitto:BrokerHost=mqtt.example.com")]
    [InlineData("--Mosquitto:BrokerHost", "mqtt.example.com")]
    [InlineData("/Mosquitto:BrokerHost=mqtt.example.com")]
    [InlineData("Mosquitto:BrokerHost=mqtt.example.com")]
    [InlineData("--environment", "Production")]
    public void Host_arguments_start_the_worker_and_reach_it_unchanged(params string[] args)
    {
        var start = StartCommandLine.Parse(args);

        Assert.Equal(StartKind.Worker, start.Kind);
        Assert.Equal(args, start.Arguments);
    }

    [Fact]
    public void Run_starts_the_worker_with_the_arguments_after_it()
    {
        var start = StartCommandLine.Parse(["run", "--urls", "http://127.0.0.1:9000"]);

        Assert.Equal(StartKind.Worker, start.Kind);
        Assert.Equal(["--urls", "http://127.0.0.1:9000"], start.Arguments);
    }

    [Theory]
    [InlineData("devices")]
    [InlineData("passwd")]
    [InlineData("dead-letters")]
    public void A_command_word_runs_that_command_with_the_rest(string word)
    {
        var start = StartCommandLine.Parse([word, "list", "--json"]);

        Assert.Equal(StartKind.OperatorCommand, start.Kind);
        Assert.Equal(word, start.Word);
        Assert.NotNull(start.Command);
        Assert.Equal(["list", "--json"], start.Arguments);
    }

    [Theory]
    [InlineData("device")]
    [InlineData("Devices")]
    [InlineData("dead-letter")]
    [InlineData("list")]
    [InlineData("worker")]
    [InlineData("")]
    public void Any_other_first_word_is_unknown_and_never_starts_the_worker(string word)
    {
        var start = StartCommandLine.Parse([word, "list"]);

        Assert.Equal(StartKind.UnknownWord, start.Kind);
        Assert.Equal(word, start.Word);
    }

    [Theory]
    [InlineData("help")]
    [InlineData("--help")]
    [InlineData("-h")]
    public void Help_asks_for_the_usage(string word) =>
        Assert.Equal(StartKind.Help, StartCommandLine.Parse([word]).Kind);
}
