using System.Globalization;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using PvhVm.Core.Boot;
using PvhVm.Core.Kernel;
using PvhVm.Core.Memory;
using PvhVm.Core.Tests.Guests;

namespace PvhVm.Core.Tests.Reliability.Security;

/// <summary>
/// What docs/SECURITY.md promises about the host process, checked on the real mappings in /proc/self/maps and on
/// the engine's own metadata: guest RAM is never executable in the host, kernel images are mapped read-only, and the
/// engine never starts a process.
/// </summary>
public sealed class SecurityPostureTests
{
    [Fact]
    public void GuestRamIsMappedReadWriteButNeverExecutable()
    {
        using var memory = GuestMemory.Allocate(64UL << 20);
        var region = Assert.Single(memory.Regions);
        var mapping = MappingAt(region.HostAddress);
        Assert.Equal("rw-p", mapping.Permissions);
        Assert.True(mapping.End - mapping.Start >= region.Size);
    }

    [Fact]
    public void KernelImagesAreMappedReadOnly()
    {
        var path = GuestImages.PathOf("probe");
        using var image = KernelImage.Open(path);
        var mappings = File.ReadLines("/proc/self/maps").Where(l => l.EndsWith(path, StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(mappings);
        Assert.All(mappings, line => Assert.StartsWith("r--", line.Split(' ')[1], StringComparison.Ordinal));
    }

    [Fact]
    public void TheEngineReferencesNoProcessApi()
    {
        using var stream = File.OpenRead(typeof(KernelImage).Assembly.Location);
        using var pe = new PEReader(stream);
        var metadata = pe.GetMetadataReader();
        var referenced = metadata.TypeReferences
            .Select(handle => metadata.GetTypeReference(handle))
            .Select(type => $"{metadata.GetString(type.Namespace)}.{metadata.GetString(type.Name)}")
            .ToList();
        Assert.Contains("System.IO.FileStream", referenced);   // the scan sees real references
        Assert.DoesNotContain("System.Diagnostics.Process", referenced);
        Assert.DoesNotContain("System.Diagnostics.ProcessStartInfo", referenced);
    }

    private static (ulong Start, ulong End, string Permissions) MappingAt(nint address)
    {
        foreach (var line in File.ReadLines("/proc/self/maps"))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var range = fields[0].Split('-');
            ulong start = ulong.Parse(range[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            ulong end = ulong.Parse(range[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            if ((ulong)address >= start && (ulong)address < end)
            {
                return (start, end, fields[1]);
            }
        }

        throw new InvalidOperationException($"no mapping holds 0x{address:x}");
    }
}
