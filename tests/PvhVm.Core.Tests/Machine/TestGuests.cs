namespace PvhVm.Core.Tests.Machine;

/// <summary>The probe guests of tests/guests, assembled by the build next to the test assembly.</summary>
internal static class TestGuests
{
    public static string PathOf(string name)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "guests", name + ".elf");
        Assert.True(File.Exists(path), $"Guest {path} was not built.");
        return path;
    }
}
