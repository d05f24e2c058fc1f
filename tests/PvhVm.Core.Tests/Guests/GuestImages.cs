namespace PvhVm.Core.Tests.Guests;

/// <summary>
/// The probe guests that build/Guests.targets assembles next to the test assembly, as guests/&lt;name&gt;.elf.
/// Their output contracts are in tests/guests/README.md.
/// </summary>
public static class GuestImages
{
    /// <summary>Every guest built for the tests; probe32 is probe.S built as ELF32, virtio is C built as ELF32.</summary>
    public static readonly IReadOnlyList<string> Names =
        ["probe", "probe32", "acpi", "smp", "echo", "spin", "triplefault", "halt", "flood", "ports", "ioflood", "mmioflood", "sleep", "notes", "poweroff", "virtio"];

    /// <summary>The guests built as ELF32 (the rest are ELF64).</summary>
    public static readonly IReadOnlyList<string> Elf32 = ["probe32", "virtio"];

    public static string Directory => Path.Combine(AppContext.BaseDirectory, "guests");

    public static string PathOf(string name) => Path.Combine(Directory, name + ".elf");
}
