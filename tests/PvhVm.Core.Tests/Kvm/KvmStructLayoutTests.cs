using System.Runtime.CompilerServices;
using PvhVm.Core.Kvm;

namespace PvhVm.Core.Tests.Kvm;

/// <summary>The ABI structs must match linux/kvm.h byte for byte: the ioctl numbers encode these sizes.</summary>
public sealed class KvmStructLayoutTests
{
    [Fact]
    public void SizesMatchTheKernelHeaders()
    {
        Assert.Equal(144, Unsafe.SizeOf<KvmRegs>());
        Assert.Equal(24, Unsafe.SizeOf<KvmSegment>());
        Assert.Equal(16, Unsafe.SizeOf<KvmDtable>());
        Assert.Equal(312, Unsafe.SizeOf<KvmSregs>());
        Assert.Equal(32, Unsafe.SizeOf<KvmUserspaceMemoryRegion>());
        Assert.Equal(40, Unsafe.SizeOf<KvmCpuidEntry2>());
        Assert.Equal(16, Unsafe.SizeOf<KvmMsrEntry>());
    }

    [Fact]
    public void FieldOffsetsMatchTheKernelHeaders()
    {
        var sregs = default(KvmSregs);
        Assert.Equal(192, OffsetOf(ref sregs, ref sregs.Gdt));
        Assert.Equal(224, OffsetOf(ref sregs, ref sregs.Cr0));
        Assert.Equal(264, OffsetOf(ref sregs, ref sregs.Efer));
        Assert.Equal(280, OffsetOf(ref sregs, ref Unsafe.As<KvmSregs.InterruptBitmap, ulong>(ref sregs.Interrupts)));
        var regs = default(KvmRegs);
        Assert.Equal(128, OffsetOf(ref regs, ref regs.Rip));
    }

    private static int OffsetOf<TStruct, TField>(ref TStruct owner, ref TField field)
        => (int)Unsafe.ByteOffset(ref Unsafe.As<TStruct, byte>(ref owner), ref Unsafe.As<TField, byte>(ref field));
}
