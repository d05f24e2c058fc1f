namespace PvhVm.Core.Tests;

/// <summary>Polls for a condition that another thread (a device's, a VM's, the host kernel) makes true.</summary>
internal static class Eventually
{
    public static void True(Func<bool> condition, TimeSpan bound, string what = "condition")
    {
        var deadline = DateTime.UtcNow + bound;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"{what} not reached within {bound}");
            Thread.Sleep(5);
        }
    }
}
