using System.Runtime.InteropServices;

namespace PvhVm.Core.Kvm;

/// <summary>The two ioctls that fill a kvm_cpuid2 table: KVM_GET_SUPPORTED_CPUID (system) and KVM_GET_CPUID2 (vCPU).</summary>
internal static class KvmCpuidReader
{
    /// <summary>More CPUID leaves than any host reports; both ioctls fail with E2BIG below the count they hold.</summary>
    public const int MaxEntries = 256;

    public static unsafe KvmCpuidEntry2[] ReadCpuid(this KvmFileDescriptor fd, nuint request, string name)
    {
        var size = 8 + (MaxEntries * sizeof(KvmCpuidEntry2));
        var buffer = (byte*)NativeMemory.AllocZeroed((nuint)size);
        try
        {
            *(uint*)buffer = MaxEntries;
            fd.Ioctl(request, buffer, name);
            var count = (int)Math.Min(*(uint*)buffer, MaxEntries);
            return new ReadOnlySpan<KvmCpuidEntry2>(buffer + 8, count).ToArray();
        }
        finally
        {
            NativeMemory.Free(buffer);
        }
    }
}
