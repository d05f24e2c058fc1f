using System.Runtime.InteropServices;

namespace PvhVm.Core.Kvm;

/// <summary>struct kvm_ioeventfd (64 bytes): a guest write to <see cref="Address"/> signals an eventfd instead of exiting.</summary>
[StructLayout(LayoutKind.Sequential, Size = 64)]
internal struct KvmIoeventfd
{
    /// <summary>Only a write of this value signals (with <see cref="FlagDatamatch"/>); other writes exit as before.</summary>
    public const uint FlagDatamatch = 1 << 0;

    public ulong Datamatch;
    public ulong Address;
    public uint Length;
    public int Fd;
    public uint Flags;
}
