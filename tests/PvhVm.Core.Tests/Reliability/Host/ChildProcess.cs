using System.Text.RegularExpressions;
using PvhVm.Core.Kvm;
using PvhVm.Core.Machine;

namespace PvhVm.Core.Tests.Reliability.Host;

/// <summary>
/// The test assembly's entry point, for host-fault tests that need a process of their own: another user, a lower
/// file-descriptor limit, or exhausted descriptors. `dotnet PvhVm.Core.Tests.dll &lt;mode&gt; ...` prints one
/// "key=value" line per fact for the test to check. (The test runner never calls Main.)
/// </summary>
internal static class ChildProcess
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    public static int Main(string[] args)
    {
        // The console and the regex engine load lazily and need descriptors of their own: get them while there are some.
        Console.WriteLine($"mode={string.Join(' ', args)}");
        _ = new Regex("^warm$").IsMatch("warm");
        foreach (var name in typeof(VirtualMachine).Assembly.GetReferencedAssemblies())
        {
            System.Reflection.Assembly.Load(name);
        }

        switch (args)
        {
            case ["probe"]:
                var host = KvmHost.Probe();
                Console.WriteLine($"usable={host.IsUsable}");
                Console.WriteLine($"problem={host.Problem}");
                Console.WriteLine($"remedy={host.Remedy}");
                return 0;
            case ["start", var kernel]:
                return Start(kernel);
            case ["exhaust", var kernel, var maximum]:
                return Exhaust(kernel, int.Parse(maximum, System.Globalization.CultureInfo.InvariantCulture));
            case ["squeeze", var kernel]:
                return Squeeze(kernel);
            case ["open-disk", var image]:
                return OpenDisk(image);
            default:
                Console.Error.WriteLine("usage: probe | start <kernel> | exhaust <kernel> <max> | squeeze <kernel> | open-disk <image>");
                return 2;
        }
    }

    /// <summary>Opens a disk image writable, as a second VMM process would.</summary>
    private static int OpenDisk(string image)
    {
        try
        {
            using var disk = Core.Devices.Virtio.Block.DiskImage.Open(image, readOnly: false);
            Console.WriteLine("result=opened");
            return 0;
        }
        catch (Core.Devices.Virtio.Block.DiskImageException e)
        {
            Console.WriteLine($"problem={e.Problem}");
            return 3;
        }
    }

    private static int Start(string kernel)
    {
        using var vm = new VirtualMachine(new VmConfig("child", kernel, MemoryMB: 4));
        try
        {
            vm.Start();
            Console.WriteLine($"started state={vm.State}");
            return 0;
        }
        catch (KvmException e)
        {
            Console.WriteLine($"error={e.GetType().Name}");
            Console.WriteLine($"errno={e.Errno}");
            Console.WriteLine($"host-unavailable={e.IsHostUnavailable}");
            Console.WriteLine($"remedy={KvmHost.DescribeRemedy(e)}");
            Console.WriteLine($"message={e.Message}");
            Console.WriteLine($"state={vm.State}");
            return 3;
        }
    }

    /// <summary>Starts sleeping VMs until the host refuses one (or <paramref name="maximum"/>), then checks the rest.</summary>
    private static int Exhaust(string kernel, int maximum)
    {
        var running = new List<VirtualMachine>();
        var refusals = new List<string>();
        for (int i = 0; i < maximum && refusals.Count < 3; i++)
        {
            var vm = new VirtualMachine(new VmConfig($"vm{i}", kernel, MemoryMB: 4));
            try
            {
                vm.Start();
                running.Add(vm);
            }
            catch (Exception e)
            {
                refusals.Add($"{e.GetType().Name}: {e.Message} (state {vm.State})");
                vm.Dispose();
            }
        }

        Console.WriteLine($"started={running.Count}");
        refusals.ForEach(r => Console.WriteLine($"refused={r}"));
        // Every VM that did start is still alive and printing its line.
        int alive = running.Count(vm => vm.Console.WaitFor(new Regex("^sleeping$"), Bound) is not null && vm.State == VmState.Running);
        Console.WriteLine($"alive={alive}");
        foreach (var vm in running)
        {
            vm.Stop();
            vm.Dispose();
        }

        Console.WriteLine($"stopped={running.Count(vm => vm.State == VmState.Stopped)}");
        using var after = new VirtualMachine(new VmConfig("after", kernel, MemoryMB: 4));
        after.Start();
        Console.WriteLine($"after-release={(after.Console.WaitFor(new Regex("^sleeping$"), Bound) is null ? "silent" : "running")}");
        after.Stop();
        return 0;
    }

    /// <summary>Uses up all but one descriptor before the first VM of the process, then frees more and tries again.</summary>
    private static int Squeeze(string kernel)
    {
        var held = new List<FileStream>();
        try
        {
            while (true)
            {
                held.Add(new FileStream("/dev/null", FileMode.Open, FileAccess.Read));
            }
        }
        catch (IOException)
        {
            // EMFILE: the table is full.
        }

        // One descriptor free: enough to read the kernel image, not enough to open /dev/kvm as well.
        held[^1].Dispose();
        held.RemoveAt(held.Count - 1);
        Console.WriteLine($"held={held.Count}");
        Console.WriteLine($"squeezed={TryStart(kernel, "squeezed")}");
        foreach (var stream in held.Take(64))
        {
            stream.Dispose();
        }

        Console.WriteLine($"retry={TryStart(kernel, "retry")}");
        return 0;
    }

    /// <summary>Creates, starts and stops one VM: "running", or the exception that refused it.</summary>
    private static string TryStart(string kernel, string name)
    {
        try
        {
            using var vm = new VirtualMachine(new VmConfig(name, kernel, MemoryMB: 4));
            vm.Start();
            var result = vm.Console.WaitFor(new Regex("^sleeping$"), Bound) is null ? "silent" : "running";
            vm.Stop();
            return result;
        }
        catch (Exception e)
        {
            return $"{e.GetType().Name}: {e.Message}";
        }
    }
}
