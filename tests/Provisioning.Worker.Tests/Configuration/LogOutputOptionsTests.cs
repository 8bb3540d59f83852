using Provisioning.Worker.Configuration;

namespace Provisioning.Worker.Tests.Configuration;

public class LogOutputOptionsTests
{
    [Theory]
    [InlineData(null, false)]
    [InlineData("", false)]
    [InlineData("text", false)]
    [InlineData("json", true)]
    [InlineData(" JSON ", true)]
    [InlineData("Text", false)]
    [InlineData("xml", null)]
    [InlineData("clef", null)]
    public void The_format_is_text_unless_json_is_asked_for_and_anything_else_is_unknown(string? format, bool? json) =>
        Assert.Equal(json, LogOutputOptions.IsJson(format));

    [Fact]
    public void An_unknown_format_names_the_key_and_the_value()
    {
        var result = new LogOutputOptionsValidator().Validate(null, new LogOutputOptions { Format = "xml" });

        Assert.True(result.Failed);
        Assert.Equal("Logging:Format is 'xml'; it must be 'text' or 'json'.", result.FailureMessage);
    }

    [Fact]
    public void The_default_is_text() =>
        Assert.True(new LogOutputOptionsValidator().Validate(null, new LogOutputOptions()).Succeeded && LogOutputOptions.IsJson(new LogOutputOptions().Format) == false);
}
