namespace PvhVm.Core.Kernel;

/// <summary>The container an image came in.</summary>
public enum KernelFormat
{
    Elf64,
    Elf32,

    /// <summary>An x86 boot-protocol image whose payload is a compressed ELF vmlinux.</summary>
    BzImage,
}
