using System.Buffers.Binary;
using PvhVm.Core.Boot;
using PvhVm.Core.Machine;
using PvhVm.Core.Memory;

namespace PvhVm.Core.Tests.Boot;

/// <summary>Sizes and helpers shared by the boot tests.</summary>
internal static class BootTestSupport
{
    public const ulong MiB = 1024 * 1024;
    public const ulong GiB = 1024 * MiB;

    public static BootParameters Parameters(string commandLine = "console=ttyS0 earlyprintk=ttyS0", string? initrd = null, int cpus = 1)
        => new(commandLine, initrd, cpus, [DeviceManager.Com1Dsdt]);

    public static ulong ReadU64(GuestMemory memory, ulong address) => BinaryPrimitives.ReadUInt64LittleEndian(memory.GetSpan(address, 8));

    public static uint ReadU32(GuestMemory memory, ulong address) => BinaryPrimitives.ReadUInt32LittleEndian(memory.GetSpan(address, 4));

    /// <summary>A temporary file removed on dispose.</summary>
    public sealed class TempFile : IDisposable
    {
        public TempFile(byte[]? content = null)
        {
            Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"pvhvm-boot-{Guid.NewGuid():N}");
            if (content is not null)
            {
                File.WriteAllBytes(Path, content);
            }
        }

        public string Path { get; }

        public void Dispose()
        {
            if (Directory.Exists(Path))
            {
                Directory.Delete(Path);
            }
            else
            {
                File.Delete(Path);
            }
        }
    }
}
