#Requires -Version 7.4
<#
.SYNOPSIS
    The disk rows: sequential read throughput and 4 KiB random-read IOPS from the C virtio guest
    (tests/guests/virtio.c, virtio.seq= / virtio.rand=), PvhVm both ways (ioeventfd + I/O thread, and
    served on the vCPU thread) against QEMU microvm's virtio-blk-device on the same image, the host's own
    reads of that image (the ceiling), exits per request and host memory per disk.
.DESCRIPTION
    Invoke-Bench.ps1 calls it with its built bench tool and stores what it returns as results.disk.
    Alone (`dotnet pwsh bench/Bench-Disk.ps1`), it builds the tool itself, writes out/bench/disk.json and
    prints the report section (Write-DiskReport.ps1).
#>
[CmdletBinding()]
param(
    [string] $Tool,
    [string] $Work = (Join-Path (Split-Path $PSScriptRoot) 'out/bench'),
    [int] $Rounds = 5,
    # 4000 x 128 KiB = 500 MiB through a 64 MiB image, wrapping; 10000 random 4 KiB reads.
    [int] $SequentialReads = 4000,
    [int] $RandomReads = 10000
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
New-Item -ItemType Directory -Force $Work | Out-Null
$alone = -not $Tool
if ($alone) {
    $Tool = Join-Path $Work 'tool/PvhVm.Bench.dll'
    dotnet build (Join-Path $PSScriptRoot 'PvhVm.Bench/PvhVm.Bench.csproj') -c Release -o (Split-Path $Tool) --nologo -v quiet | Out-Null
    if ($LASTEXITCODE -ne 0) { throw 'building the bench tool failed' }
}

$guest = Join-Path (Split-Path $Tool) 'guests/virtio.elf'
$halt = Join-Path (Split-Path $Tool) 'guests/halt.elf'
. (Join-Path $PSScriptRoot 'BenchHelpers.ps1')
function Invoke-DiskTool { Invoke-BenchTool $Tool @args }

# 64 MiB of random bytes (no sparse holes to read for free); every reader goes through the same warm page cache.
$image = Join-Path $Work 'disk.img'
$bytes = [byte[]]::new(64MB)
[Security.Cryptography.RandomNumberGenerator]::Fill($bytes)
[IO.File]::WriteAllBytes($image, $bytes)
$bytes = $null

$qemu = @('qemu-system-x86_64', '-M', 'microvm,accel=kvm,acpi=off', '-cpu', 'host,-arch-capabilities', '-nodefaults', '-no-user-config',
    '-display', 'none', '-serial', 'stdio', '-no-reboot', '-m', '64', '-global', 'virtio-mmio.force-legacy=false',
    '-device', 'virtio-blk-device,drive=d', '-drive', "id=d,file=$image,format=raw,if=none", '-kernel', $guest)
$loops = [ordered]@{ sequential = "virtio.seq=$SequentialReads"; random = "virtio.rand=$RandomReads" }
$runs = @{}
foreach ($key in 'sequential', 'random') { foreach ($runner in 'eventFds', 'vcpuThread', 'qemu', 'host') { $runs["$key.$runner"] = @() } }
$baseline = @{ eventFds = @(); vcpuThread = @() }
$exitsPerRequest = @{ eventFds = @(); vcpuThread = @() }

for ($round = 0; $round -lt $Rounds; $round++) {
    Write-Host "$(Get-Date -Format T)   disk round $($round + 1)/$Rounds"
    foreach ($mode in @(@{ key = 'eventFds'; flag = 'true' }, @{ key = 'vcpuThread'; flag = 'false' })) {
        # The guest's fixed work (boot, 5 requests, its lines) without a loop: subtracted from the loops' exits.
        $base = Invoke-DiskTool disk-engine $guest $image '' $mode.flag
        if ("$($base.eventFds)" -ne $mode.flag) { throw "asked for eventfds=$($mode.flag), the VM ran with $($base.eventFds)" }
        foreach ($key in $loops.Keys) {
            $run = Invoke-DiskTool disk-engine $guest $image $loops[$key] $mode.flag
            $runs["$key.$($mode.key)"] += $run.loopMs
            $exitsPerRequest[$mode.key] += ($run.exits - $base.exits) / ($run.requests - $base.requests)
        }
    }
    foreach ($key in $loops.Keys) { $runs["$key.qemu"] += (Invoke-DiskTool disk-qemu @qemu -append $loops[$key]).loopMs }
    $hostRun = Invoke-DiskTool disk-host $image $SequentialReads $RandomReads
    $runs['sequential.host'] += $hostRun.sequentialMs
    $runs['random.host'] += $hostRun.randomMs
}

$sequentialMiB = $SequentialReads * 128KB / 1MB
$disk = [ordered]@{
    imageMiB = 64; rounds = $Rounds; sequentialReads = $SequentialReads; sequentialRequestBytes = 128KB; randomReads = $RandomReads; randomRequestBytes = 4KB
    queueDepth = 1
    sequentialMiBPerSecond = [ordered]@{}; randomIops = [ordered]@{}; loopMs = [ordered]@{}
    exitsPerRequest = [ordered]@{ eventFds = [math]::Round((Get-Median $exitsPerRequest.eventFds), 2); vcpuThread = [math]::Round((Get-Median $exitsPerRequest.vcpuThread), 2) }
    memoryPerDisk = [ordered]@{}
    qemu = ($qemu -join ' ') -replace [regex]::Escape($Work), 'out/bench'
}
foreach ($runner in 'eventFds', 'vcpuThread', 'qemu', 'host') {
    $seq = Get-Median $runs["sequential.$runner"]
    $rand = Get-Median $runs["random.$runner"]
    $disk.loopMs[$runner] = [ordered]@{ sequential = @($runs["sequential.$runner"] | ForEach-Object { [math]::Round($_, 1) }); random = @($runs["random.$runner"] | ForEach-Object { [math]::Round($_, 1) }) }
    $disk.sequentialMiBPerSecond[$runner] = [math]::Round($sequentialMiB / ($seq / 1000), 1)
    $disk.randomIops[$runner] = [math]::Round($RandomReads / ($rand / 1000), 0)
}
$memory = @(Invoke-DiskTool disk-memory $halt $Work 3)
$disk.memoryPerDisk = [ordered]@{
    managedBytes = [math]::Round((Get-Median $memory.managedBytesPerDisk), 0)
    residentKiB = [math]::Round((Get-Median $memory.residentKiBPerDisk), 1)
    descriptors = Get-Median $memory.descriptorsPerDisk
}
Remove-Item $image, (Join-Path $Work 'memory-*.img')

if ($alone) {
    $disk | ConvertTo-Json -Depth 5 | Set-Content (Join-Path $Work 'disk.json')
    & (Join-Path $PSScriptRoot 'Write-DiskReport.ps1') -Disk ($disk | ConvertTo-Json -Depth 5 | ConvertFrom-Json)
}
else {
    $disk
}
