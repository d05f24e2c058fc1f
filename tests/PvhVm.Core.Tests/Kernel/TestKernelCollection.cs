namespace PvhVm.Core.Tests.Kernel;

/// <summary>
/// The xunit collection that shares one <see cref="TestKernelFixture"/>. Its boots run one after another: each is a
/// minute of emulated Linux on this 2-core host, and boots side by side starved each other past their bound.
/// </summary>
[CollectionDefinition(Name)]
public sealed class TestKernelCollection : ICollectionFixture<TestKernelFixture>
{
    public const string Name = "TestKernel";
}
