using Provisioning.Worker.Devices;

namespace Provisioning.Worker.Tests.Devices;

public class DeviceIdentityTests
{
    [Theory]
    [InlineData("a")]
    [InlineData("acme")]
    [InlineData("Tenant_01-x")]
    [InlineData("0123456789012345678901234567890123456789012345678901234567890123")]
    public void Valid_ids_have_no_problem(string id) => Assert.Null(DeviceIdentity.Problem("deviceId", id));

    [Theory]
    [InlineData(null, "deviceId is missing")]
    [InlineData("", "deviceId is empty")]
    [InlineData("01234567890123456789012345678901234567890123456789012345678901234", "65 characters")]
    [InlineData("a:b", "contains ':'")]
    [InlineData("a.b", "contains '.'")]
    [InlineData("a/b", "contains '/'")]
    [InlineData("a b", "contains ' '")]
    [InlineData("a\nb", "contains '\\u000A'")]
    [InlineData("a\0b", "contains '\\u0000'")]
    [InlineData("аcme", "contains '\\u0430'")] // Cyrillic а, a look-alike of Latin a
    public void Invalid_ids_are_explained_with_the_field_and_the_offending_character(string? id, string expected)
    {
        var problem = DeviceIdentity.Problem("deviceId", id);

        Assert.NotNull(problem);
        Assert.Contains("deviceId", problem, StringComparison.Ordinal);
        Assert.Contains(expected, problem, StringComparison.Ordinal);
    }

    [Fact]
    public void The_username_joins_tenant_and_device_with_a_slash_so_percent_u_gives_their_topic_levels() =>
        Assert.Equal("acme/sensor-1", DeviceIdentity.Username("acme", "sensor-1"));

    [Theory]
    [InlineData("acme/sensor-1", "acme", "sensor-1", false)]
    [InlineData("acme.sensor-1", "acme", "sensor-1", true)]
    public void Both_username_forms_name_their_device(string username, string tenantId, string deviceId, bool legacy)
    {
        Assert.True(DeviceIdentity.TryParseUsername(username, out var parsed));
        Assert.Equal(new DeviceUsername(tenantId, deviceId, legacy), parsed);
        Assert.Equal("acme/sensor-1", DeviceIdentity.CanonicalUsername(username));
    }

    [Theory]
    [InlineData("acme/sensor-1", true)]
    [InlineData("acme.sensor-1", true)]
    [InlineData("a/b/c", false)]
    [InlineData("a/b.c", false)]
    [InlineData("a.b/c", false)]
    [InlineData("/b", false)]
    [InlineData("a/", false)]
    [InlineData("acme", false)]
    [InlineData("service-pulse", false)]
    [InlineData("a.b.c", false)]
    [InlineData(".b", false)]
    [InlineData("a.", false)]
    [InlineData("provisioning-worker-probe", false)]
    public void Device_usernames_are_recognised_so_operator_accounts_are_never_mistaken_for_them(string username, bool expected) =>
        Assert.Equal(expected, DeviceIdentity.IsDeviceUsername(username));

    [Fact]
    public void Generated_passwords_are_43_base64url_characters_and_differ()
    {
        var first = CredentialGenerator.NewPassword();
        var second = CredentialGenerator.NewPassword();

        Assert.Equal(43, first.Length);
        Assert.Matches("^[A-Za-z0-9_-]{43}$", first);
        Assert.NotEqual(first, second);
    }
}
