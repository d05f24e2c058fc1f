using PvhVm.Bench;

// Sub-commands of the benchmark; bench/Invoke-Bench.ps1 calls them and collects their JSON lines.
return args.FirstOrDefault() switch
{
    "engine" => EngineRuns.RoundTrips(args[1], int.Parse(args[2])),
    "engine-kernel" => EngineRuns.KernelBoot(args[1], int.Parse(args[2]), args[3], double.Parse(args[4])),
    "engine-flood" => EngineRuns.Flood(args[1], double.Parse(args[2])),
    "net-tx" => NetRuns.Transmit(args[1], args[2], args[3], int.Parse(args[4]), int.Parse(args[5])),
    "net-rx" => NetRuns.Receive(args[1], args[2], args[3], double.Parse(args[4]), int.Parse(args[5])),
    "vsock" => VsockRuns.ThroughGuest(args[1], int.Parse(args[2]), int.Parse(args[3]), int.Parse(args[4])),
    "vsock-pair" => VsockRuns.SocketPair(int.Parse(args[1]), int.Parse(args[2]), int.Parse(args[3])),
    "inspect" => EngineRuns.Inspect(args[1], int.Parse(args[2])),
    "process" => ProcessRuns.Time(int.Parse(args[1]), args[2..]),
    "process-file-rate" => ProcessRuns.FileRate(args[1], double.Parse(args[2]), args[3..]),
    "process-console" => ProcessRuns.Console(double.Parse(args[1]), args[2], args[3..]),
    "disk-engine" => DiskRuns.Engine(args[1], args[2], args[3], bool.Parse(args[4])),
    "disk-qemu" => DiskRuns.Qemu(args[1..]),
    "disk-host" => DiskRuns.Host(args[1], int.Parse(args[2]), int.Parse(args[3])),
    "disk-memory" => DiskRuns.Memory(args[1], args[2], int.Parse(args[3])),
    "chart" => FleetChart.Render(args[1], args[2]),
    "checkpoint" => CheckpointRuns.Run(args[1], int.Parse(args[2]), int.Parse(args[3]), args[4]),
    "extract-elf" => ExtractElf(args[1], args[2]),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("""
        usage: PvhVm.Bench <command> ...
          engine <elf> <runs>                          probe round trips through the Core API, one JSON line each
          engine-kernel <kernel> <MiB> <cmdline> <s>   Start -> first console byte -> 'Linux version', one JSON line
          engine-flood <elf> <seconds>                 console bytes/s captured, from 1 s after Start
          net-tx <pvh|qemu> <elf> <tap> <n> <size>      the C guest sends n UDP datagrams to the host (run inside the netns)
          net-rx <pvh|qemu> <elf> <tap> <s> <size>      the host sends UDP datagrams to the C guest for s seconds
          vsock <elf> <round trips> <echoes> <MiB>      vsock to the C guest's echo: round trips, 4000-byte echoes, a stream
          vsock-pair <round trips> <echoes> <MiB>       the same over a Unix socket pair (the ceiling)
          inspect <kernel> <runs>                      KernelInspector.Inspect timings
          process <runs> <command> [args...]           wall time of a process, spawn to exit
          process-console <s> <regex> <command> ...    spawn -> first stdout byte -> first line matching regex
          process-file-rate <file> <s> <command> ...  bytes/s a process appends to a file, from 1 s after spawn
          disk-engine <elf> <image> <cmdline> <eventfds>  the C virtio guest's timed read loop on PvhVm, requests, exits
          disk-qemu <command> ...                      the same guest under QEMU: its timed read loop
          disk-host <image> <seq> <rand>               the host reading the image in the guest's patterns
          disk-memory <halt.elf> <dir> <runs>          managed bytes, RSS and descriptors per extra disk of a running VM
          chart <fleet.json> <out.png>                 started/exited-over-time chart of a fleet run
          checkpoint <echo.elf> <rounds> <clones> <dir> cold boot vs restore, a fleet of clones, checkpoint write speed
          extract-elf <vmlinuz> <out>                  the ELF inside a bzImage, by the engine's own decompressor
        """);
    return 2;
}

static int ExtractElf(string bzImage, string output)
{
    using var kernel = PvhVm.Core.Kernel.KernelImage.Open(bzImage);
    using var file = File.Create(output);
    kernel.CopyElfTo(file);
    return 0;
}
