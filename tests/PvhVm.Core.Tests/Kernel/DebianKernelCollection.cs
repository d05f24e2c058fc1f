namespace PvhVm.Core.Tests.Kernel;

/// <summary>The xunit collection that shares one <see cref="DebianKernelFixture"/>.</summary>
[CollectionDefinition(Name)]
public sealed class DebianKernelCollection : ICollectionFixture<DebianKernelFixture>
{
    public const string Name = "DebianKernel";
}
