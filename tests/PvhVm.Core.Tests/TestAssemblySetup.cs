using System.Runtime.CompilerServices;

namespace PvhVm.Core.Tests;

internal static class TestAssemblySetup
{
    /// <summary>
    /// xunit runs test classes in parallel on the thread pool and many tests block a pool thread while a VM runs; on a
    /// two-core host the pool then adds threads slowly and timer callbacks (CancellationTokenSource timeouts) wait
    /// seconds for one. Enough threads up front keep the timing the tests print about the engine, not the pool.
    /// </summary>
    [ModuleInitializer]
    internal static void GiveThePoolEnoughThreads() => ThreadPool.SetMinThreads(64, 64);
}
