using Provisioning.Worker.Brokers;

namespace Provisioning.Worker.Tests.Brokers;

public class BrokerGroupsTests
{
    [Theory]
    [InlineData("a")]
    [InlineData("0")]
    [InlineData("eu")]
    [InlineData("eu-west-1")]
    [InlineData("broker_2.eu")]
    [InlineData("Z.9_-")]
    public void Letters_digits_dashes_underscores_and_dots_starting_with_a_letter_or_digit_make_a_name(string name) =>
        Assert.True(BrokerGroups.IsValidName(name));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("-eu")]
    [InlineData(".eu")]
    [InlineData("_eu")]
    [InlineData("eu west")]
    [InlineData(" eu")]
    [InlineData("eu/west")]
    [InlineData("eu:west")]
    [InlineData("eu__west\t")]
    [InlineData("région")]
    public void Anything_else_is_not_a_name(string? name) =>
        Assert.False(BrokerGroups.IsValidName(name));

    [Fact]
    public void A_name_may_have_63_characters_but_not_64()
    {
        // Given
        var longest = "g" + new string('1', BrokerGroups.MaxNameLength - 1);

        // Then
        Assert.Equal(63, longest.Length);
        Assert.True(BrokerGroups.IsValidName(longest));
        Assert.False(BrokerGroups.IsValidName(longest + "1"));
    }
}
