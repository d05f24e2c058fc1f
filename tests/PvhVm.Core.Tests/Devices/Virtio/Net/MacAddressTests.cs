using PvhVm.Core.Devices.Virtio.Net;

namespace PvhVm.Core.Tests.Devices.Virtio.Net;

public sealed class MacAddressTests
{
    [Fact]
    public void A_derived_address_is_stable_per_seed_unicast_and_locally_administered()
    {
        var first = MacAddress.Derive("vm-1/0");
        Assert.Equal(first, MacAddress.Derive("vm-1/0"));
        Assert.NotEqual(first, MacAddress.Derive("vm-1/1"));
        var bytes = new byte[6];
        first.WriteTo(bytes);
        Assert.Equal(0x02, bytes[0] & 0x03);
    }

    [Theory]
    [InlineData("02:00:00:00:00:01", true)]
    [InlineData("52-54-00-12-34-56", true)]
    [InlineData("01:00:5e:00:00:01", false)]
    [InlineData("00:00:00:00:00:00", false)]
    [InlineData("02:00:00:00:00", false)]
    [InlineData("02:00:00:00:00:zz", false)]
    public void Parses_six_hex_pairs_of_a_unicast_address(string text, bool valid)
    {
        Assert.Equal(valid, MacAddress.TryParse(text, out var address));
        if (valid)
        {
            Assert.Equal(text.Replace('-', ':'), address.ToString());
        }
    }
}
