#Requires -Version 7.4
<#
.SYNOPSIS
    PvhVm side by side with QEMU (and a minimal C VMM, the floor) on the same guests, interleaved.
.DESCRIPTION
    Called by build.ps1 -Task Bench after the Release build. Writes bench/results.json (raw numbers),
    bench/RESULTS.md (tables) and bench/fleet.png. Timings on shared machines are noisy: every figure
    is a median over interleaved runs, and comparisons are ratios.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $ModuleDir,
    [string] $Root = (Split-Path $PSScriptRoot),
    [int] $Rounds = 10,
    [int] $KernelRuns = 3,
    # The kernel prints its banner after ~15 s of emulated early boot here; QEMU's bzImage path never gets there.
    [int] $KernelTimeout = 40,
    # HostProcess or Checkpoint: only that section (Bench-HostProcess.ps1, Bench-Checkpoint.ps1), merged into the
    # committed results.json; the other sections keep the numbers of their last run.
    [ValidateSet('All', 'HostProcess', 'Checkpoint')] [string] $Section = 'All'
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

$benchDir = $PSScriptRoot
$work = Join-Path $Root 'out/bench'
New-Item -ItemType Directory -Force $work | Out-Null

. (Join-Path $benchDir 'BenchHelpers.ps1')

# --- tools -------------------------------------------------------------------------------------------
if (-not (Get-Command qemu-system-x86_64 -ErrorAction SilentlyContinue)) {
    throw 'qemu-system-x86_64 is not installed: run scripts/install-prerequisites.sh (build.ps1 -Task Bench runs it first).'
}
$floor = Join-Path $work 'pvhfloor'
Invoke-Checked gcc -O2 -Wall -Wextra -Werror -o $floor (Join-Path $benchDir 'floor/pvhfloor.c')
$benchProject = Join-Path $benchDir 'PvhVm.Bench/PvhVm.Bench.csproj'
$benchOut = Join-Path $work 'tool'
Invoke-Checked dotnet build $benchProject -c Release -o $benchOut --nologo -v quiet | Out-Null
$tool = Join-Path $benchOut 'PvhVm.Bench.dll'
$guests = Join-Path $benchOut 'guests'
$probe = Join-Path $ModuleDir 'guests/probe.elf'
$echoGuest = Join-Path $guests 'echo.elf'
$floodGuest = Join-Path $guests 'flood.elf'

$vmlinuz, $kernelVersion = Invoke-Checked bash (Join-Path $Root 'scripts/get-test-kernel.sh')
$release = (Split-Path $vmlinuz -Leaf) -replace '^vmlinuz-', ''
$vmlinux = Join-Path (Split-Path $vmlinuz) "vmlinux-$release"
if (-not (Test-Path $vmlinux)) { Invoke-Checked dotnet $tool extract-elf $vmlinuz $vmlinux | Out-Null }

# Runs a bench sub-command; returns its JSON lines as objects.
function Invoke-Tool { Invoke-BenchTool $tool @args }

function Get-RssKiB {
    [long]((Get-Content "/proc/$PID/status" | Where-Object { $_ -like 'VmRSS:*' }) -replace '\D', '')
}

# Resident KiB of the guest-RAM mappings (of this pwsh, or of a host process): anonymous read/write mappings of at
# least one guest's size. The kernel merges adjacent guest mappings into one VMA, so a few neighbouring pages may count
# too (an upper bound).
function Get-GuestRssKiB([int] $GuestMiB, [int] $ProcessId = $PID) {
    $total = 0L; $anonymousRw = $false; $inGuest = $false
    foreach ($line in [IO.File]::ReadLines("/proc/$ProcessId/smaps")) {
        if ($line -match '^[0-9a-f]+-[0-9a-f]+ ') { $anonymousRw = $line -match ' rw-p 00000000 00:00 0\s*$' }
        elseif ($line -match '^Size:\s+(\d+) kB') { $inGuest = $anonymousRw -and [long]$Matches[1] -ge $GuestMiB * 1024 }
        elseif ($inGuest -and $line -match '^Rss:\s+(\d+) kB') { $total += [long]$Matches[1] }
    }
    $total
}

$qemuBase = @('qemu-system-x86_64', '-M', 'microvm,accel=kvm', '-cpu', 'host,-arch-capabilities', '-nodefaults', '-no-user-config',
    '-nographic', '-no-reboot', '-m', '256')
# microvm has no i8042 of its own: the probe's reset (0xFE to port 0x64) needs -device i8042 to end QEMU under -no-reboot.
$qemuProbe = $qemuBase + @('-serial', 'stdio', '-device', 'i8042', '-kernel', $probe)
$results = [ordered]@{}

Import-Module (Join-Path $ModuleDir 'PvhVm.psd1') -Force
if ($Section -ne 'All') {
    # The checkpoint section's host-process rows use Bench-HostProcess.ps1's helpers.
    . (Join-Path $benchDir 'Bench-HostProcess.ps1')
    $saved = Get-Content (Join-Path $benchDir 'results.json') -Raw | ConvertFrom-Json -AsHashtable
    if ($Section -eq 'HostProcess') {
        $saved.hostProcess = Measure-HostProcess
    } else {
        . (Join-Path $benchDir 'Bench-Checkpoint.ps1')
        $saved.checkpoint = Measure-Checkpoint $echoGuest $work $Rounds
    }
    $saved | ConvertTo-Json -Depth 6 | Set-Content (Join-Path $benchDir 'results.json')
    & (Join-Path $benchDir 'Write-BenchReport.ps1') -Results (Join-Path $benchDir 'results.json') -OutFile (Join-Path $benchDir 'RESULTS.md')
    return
}
# The sections below measure the engine in this pwsh; the host-process rows (Bench-HostProcess.ps1) ask for theirs.
$PSDefaultParameterValues['New-PvhVm:InProcess'] = $true

# --- 1. probe round trip, warm, interleaved --------------------------------------------------------
Write-Host "$(Get-Date -Format T) 1/6 probe round trip ($Rounds interleaved rounds)"
$pwshTimes = [Collections.Generic.List[double]]::new()
$engine = [Collections.Generic.List[object]]::new()
$qemuTimes = [Collections.Generic.List[double]]::new()
$floorIn = [Collections.Generic.List[object]]::new()
$floorProcess = [Collections.Generic.List[double]]::new()
$floorCoalesced = [Collections.Generic.List[object]]::new()
New-PvhVm -Name warmup | Start-PvhVm -Wait; Remove-PvhVm -Name warmup -Confirm:$false
for ($round = 0; $round -lt $Rounds; $round++) {
    for ($i = 0; $i -lt 5; $i++) {
        $sw = [Diagnostics.Stopwatch]::StartNew()
        New-PvhVm -Name "rt$i" | Start-PvhVm -Wait
        Remove-PvhVm -Name "rt$i" -Confirm:$false
        $pwshTimes.Add($sw.Elapsed.TotalMilliseconds)
    }
    Invoke-Tool engine $probe 5 | ForEach-Object { $engine.Add($_) }
    Invoke-Tool process 2 @qemuProbe | ForEach-Object { if ($_.exitCode -ne 0) { throw "QEMU: $($_.stderr)" }; $qemuTimes.Add($_.ms) }
    Invoke-Checked $floor $probe 5 | ForEach-Object { $ms, $exits, $bytes = $_ -split ' '; $floorIn.Add([pscustomobject]@{ ms = [double]$ms; exits = [int]$exits }) }
    Invoke-Tool process 1 $floor $probe | ForEach-Object { $floorProcess.Add($_.ms) }
    Invoke-Checked $floor $probe 5 256 coalesce | ForEach-Object { $ms, $exits, $bytes = $_ -split ' '; $floorCoalesced.Add([pscustomobject]@{ ms = [double]$ms; exits = [int]$exits }) }
}
$results.roundTrip = [ordered]@{
    pwshWarm = Get-Stats $pwshTimes
    engine = Get-Stats $engine.totalMs
    enginePhases = [ordered]@{
        construct = Get-Stats $engine.constructMs; start = Get-Stats $engine.startMs
        startToFirstLine = Get-Stats ($engine | Where-Object firstLineMs -ne $null).firstLineMs
        startToExit = Get-Stats $engine.runMs; dispose = Get-Stats $engine.disposeMs
    }
    qemuProcess = Get-Stats $qemuTimes
    floorInProcess = Get-Stats $floorIn.ms
    floorExits = $floorIn[0].exits
    floorProcess = Get-Stats $floorProcess
    floorCoalescedPio = Get-Stats $floorCoalesced.ms
    floorCoalescedExits = $floorCoalesced[0].exits
}

# --- 2. cold: a pwsh process per VM ----------------------------------------------------------------
Write-Host "$(Get-Date -Format T) 2/6 cold start"
$manifest = Join-Path $ModuleDir 'PvhVm.psd1'
$cold = @{ full = @(); qemu = @(); bare = @(); import = @() }
for ($round = 0; $round -lt 5; $round++) {
    $cold.full += (Invoke-Tool process 1 dotnet pwsh -NoProfile -c "Import-Module '$manifest'; New-PvhVm cold -InProcess | Start-PvhVm -Wait").ms
    $cold.qemu += (Invoke-Tool process 1 @qemuProbe).ms
    $cold.bare += (Invoke-Tool process 1 dotnet pwsh -NoProfile -c 'exit').ms
    $cold.import += [double](Invoke-Checked dotnet pwsh -NoProfile -c "`$s = [Diagnostics.Stopwatch]::StartNew(); Import-Module '$manifest'; `$i = `$s.Elapsed.TotalMilliseconds; `$s.Restart(); New-PvhVm cold -InProcess | Start-PvhVm -Wait; '{0} {1}' -f `$i, `$s.Elapsed.TotalMilliseconds" | Select-Object -Last 1).Split(' ')[0]
}
$results.cold = [ordered]@{
    pwshProcess = Get-Stats $cold.full; qemuProcess = Get-Stats $cold.qemu
    pwshBare = Get-Stats $cold.bare; importModule = Get-Stats $cold.import
}

# --- 3. fleet ------------------------------------------------------------------------------------------
Write-Host "$(Get-Date -Format T) 3/6 fleet of 100"
[GC]::Collect(); [GC]::WaitForPendingFinalizers()
$rssBefore = Get-RssKiB
$t0 = [DateTimeOffset]::Now
$sw = [Diagnostics.Stopwatch]::StartNew()
1..100 | ForEach-Object { New-PvhVm -Name "fleet$_" } | Start-PvhVm -Wait
$fleetMs = $sw.Elapsed.TotalMilliseconds
$vms = Get-PvhVm -Name 'fleet*'
$rssExited = Get-RssKiB
$timeline = foreach ($vm in $vms) {
    [ordered]@{ name = $vm.Name; startMs = ($vm.StartTime - $t0).TotalMilliseconds; exitMs = ($vm.StopTime - $t0).TotalMilliseconds
        roundTripMs = ($vm.StopTime - $vm.StartTime).TotalMilliseconds; exitReason = "$($vm.ExitReason)" }
}
$badExits = @($timeline | Where-Object exitReason -ne 'GuestReset').Count
Remove-PvhVm -Name 'fleet*' -Confirm:$false
[GC]::Collect(); [GC]::WaitForPendingFinalizers()
$rssRemoved = Get-RssKiB

# 100 echo VMs alive at once: each waits for "exit" on its console.
$rssAliveBefore = Get-RssKiB
$sw.Restart()
1..100 | ForEach-Object { New-PvhVm -Name "alive$_" -KernelPath $echoGuest } | Start-PvhVm
Wait-PvhVm -Name 'alive*' -ConsolePattern 'echo ready' -Timeout 120
$aliveReadyMs = $sw.Elapsed.TotalMilliseconds
$rssAlive = Get-RssKiB
$guestAlive = Get-GuestRssKiB 256
$aliveRunning = @(Get-PvhVm -Name 'alive*' | Where-Object State -eq 'Running').Count
Send-PvhConsole -Name 'alive*' -Text 'exit' -Line
Wait-PvhVm -Name 'alive*' -Timeout 120
$aliveExitReasons = Get-PvhVm -Name 'alive*' | Group-Object ExitReason | ForEach-Object { "$($_.Name)=$($_.Count)" }
Remove-PvhVm -Name 'alive*' -Confirm:$false

# The floor for the same fleet: the C VMM, 100 VMs over two workers (one per core), each VM in turn.
$floorFleet = Invoke-Tool process 3 bash -c "'$floor' '$probe' 50 > /dev/null & '$floor' '$probe' 50 > /dev/null & wait"

$results.fleet = [ordered]@{
    vms = 100; wallMs = [math]::Round($fleetMs, 1); vmsPerSecond = [math]::Round(100000 / $fleetMs, 1)
    nonResetExits = $badExits; floorTwoWorkersMs = Get-Stats $floorFleet.ms
    slowestRoundTripMs = [math]::Round(($timeline.roundTripMs | Measure-Object -Maximum).Maximum, 1)
    slowestExitSincePipelineStartMs = [math]::Round(($timeline.exitMs | Measure-Object -Maximum).Maximum, 1)
    roundTrip = Get-Stats $timeline.roundTripMs
    rssKiB = [ordered]@{ before = $rssBefore; allExited = $rssExited; removed = $rssRemoved }
    rssGrowthPerExitedVmKiB = [math]::Round(($rssExited - $rssBefore) / 100, 1)
    alive = [ordered]@{ running = $aliveRunning; readyMs = [math]::Round($aliveReadyMs, 1); rssBeforeKiB = $rssAliveBefore; rssAliveKiB = $rssAlive
        guestPagesKiB = $guestAlive; hostGrowthPerVmKiB = [math]::Round(($rssAlive - $rssAliveBefore - $guestAlive) / 100, 1)
        guestPagesPerVmKiB = [math]::Round($guestAlive / 100, 1); exitReasons = $aliveExitReasons -join ', ' }
    timeline = $timeline
}
[ordered]@{ title = "100 probe VMs from one pipeline: $([math]::Round($fleetMs)) ms"; vms = $timeline } | ConvertTo-Json -Depth 4 |
    Set-Content (Join-Path $work 'fleet.json')
Invoke-Tool chart (Join-Path $work 'fleet.json') (Join-Path $benchDir 'fleet.png') | Out-Null

# --- 4. real kernel ------------------------------------------------------------------------------------
Write-Host "$(Get-Date -Format T) 4/6 Debian kernel to its banner"
$cmdline = 'console=ttyS0 earlyprintk=ttyS0'
$kernel = [ordered]@{}
foreach ($image in @(@{ key = 'elf'; path = $vmlinux }, @{ key = 'bzImage'; path = $vmlinuz })) {
    $pvh = @(); $qemu = @()
    for ($i = 0; $i -lt $KernelRuns; $i++) {
        $pvh += Invoke-Tool engine-kernel $image.path 256 $cmdline $KernelTimeout
        $qemu += Invoke-Tool process-console $KernelTimeout 'Linux version' @($qemuBase + @('-serial', 'stdio', '-kernel', $image.path, '-append', $cmdline))
    }
    $kernel[$image.key] = [ordered]@{
        path = $image.path; timeoutSeconds = $KernelTimeout
        pvhFirstByte = Get-Stats $pvh.firstByteMs; pvhConstruct = Get-Stats $pvh.constructMs
        pvhBanner = Get-Stats @($pvh.bannerMs | Where-Object { $null -ne $_ }); pvhBannerReached = @($pvh.bannerMs | Where-Object { $null -ne $_ }).Count
        qemuFirstByte = Get-Stats $qemu.firstByteMs
        qemuBanner = Get-Stats @($qemu.matchMs | Where-Object { $null -ne $_ }); qemuBannerReached = @($qemu.matchMs | Where-Object { $null -ne $_ }).Count
        runs = $KernelRuns
    }
}
$results.kernel = $kernel

# --- 5. console throughput ----------------------------------------------------------------------------
Write-Host "$(Get-Date -Format T) 5/6 console throughput"
$pvhRates = @(); $qemuRates = @()
$serialFile = Join-Path $work 'qemu-flood.txt'
for ($i = 0; $i -lt 3; $i++) {
    $pvhRates += (Invoke-Tool engine-flood $floodGuest 3).bytesPerSecond
    $qemuRates += (Invoke-Tool process-file-rate $serialFile 3 @($qemuBase + @('-serial', "file:$serialFile", '-kernel', $floodGuest))).bytesPerSecond
}
$results.console = [ordered]@{ pvhBytesPerSecond = Get-Stats $pvhRates; qemuFileBytesPerSecond = Get-Stats $qemuRates }

# --- network and vsock (bench/Bench-Net.ps1), side by side with QEMU microvm on the C guest -----------------
$results.net = & (Join-Path $benchDir 'Bench-Net.ps1') -Tool $tool -Guest (Join-Path $guests 'virtio.elf')

# --- 6. image inspection ------------------------------------------------------------------------------
Write-Host "$(Get-Date -Format T) 6/6 image inspection"
$header = (Get-PvhBootInfo $vmlinuz).SetupHeader
$payload = Join-Path $work 'payload.lz4'
$stream = [IO.File]::OpenRead($vmlinuz)
try {
    $bytes = [byte[]]::new($header.PayloadLength)
    $stream.Position = ($header.SetupSectors + 1) * 512 + $header.PayloadOffset
    $stream.ReadExactly($bytes, 0, $bytes.Length)
    [IO.File]::WriteAllBytes($payload, $bytes)
}
finally { $stream.Dispose() }
$inspect = [ordered]@{}
foreach ($image in @(@{ key = 'elf'; path = $vmlinux }, @{ key = 'bzImage'; path = $vmlinuz })) {
    $cmdlet = 1..6 | ForEach-Object { (Measure-Command { Get-PvhBootInfo $image.path | Out-Null }).TotalMilliseconds } | Select-Object -Skip 1
    $inspect[$image.key] = [ordered]@{ getPvhBootInfo = Get-Stats $cmdlet; engine = Get-Stats (Invoke-Tool inspect $image.path 5).ms }
}
$decompressed = Join-Path $work 'vmlinux.from-lz4'
$inspect.elf.readelfNotes = Get-Stats (Invoke-Tool process 5 sh -c "readelf -n '$vmlinux' > /dev/null").ms
# lz4 exits 1 on the 4-byte size the kernel appends to its payload, after writing the whole ELF; hence the ';'.
$inspect.bzImage.lz4ThenReadelf = Get-Stats (Invoke-Tool process 5 sh -c "lz4 -dc '$payload' > '$decompressed'; readelf -n '$decompressed' > /dev/null").ms
$inspect.bzImage.lz4Only = Get-Stats (Invoke-Tool process 5 sh -c "lz4 -dc '$payload' > /dev/null; true").ms
$results.inspect = $inspect

# --- 7. disk (bench/Bench-Disk.ps1) ----------------------------------------------------------------------
$results.disk = & (Join-Path $benchDir 'Bench-Disk.ps1') -Tool $tool -Work $work

# --- 8. checkpoints and clones (bench/Bench-Checkpoint.ps1; its host-process rows use Bench-HostProcess.ps1's helpers) ---
. (Join-Path $benchDir 'Bench-HostProcess.ps1')
Write-Host "$(Get-Date -Format T) checkpoints and clones"; . (Join-Path $benchDir 'Bench-Checkpoint.ps1'); $results.checkpoint = Measure-Checkpoint $echoGuest $work $Rounds

$results.hostProcess = Measure-HostProcess

# --- report -------------------------------------------------------------------------------------------
$results.machine = [ordered]@{
    date = [DateTimeOffset]::UtcNow.ToString('u'); nproc = [int](Invoke-Checked nproc); kernel = (Invoke-Checked uname -r)
    cpu = ((Get-Content /proc/cpuinfo | Where-Object { $_ -like 'model name*' } | Select-Object -First 1) -split ':\s*', 2)[1]
    memory = (Invoke-Checked free -m) -join "`n"; loadAverage = (Get-Content /proc/loadavg)
    qemu = (Invoke-Checked qemu-system-x86_64 --version | Select-Object -First 1); kernelImage = "$release ($kernelVersion)"
    pwsh = "$($PSVersionTable.PSVersion)"; dotnet = (Invoke-Checked dotnet --version)
}
$results | ConvertTo-Json -Depth 6 | Set-Content (Join-Path $benchDir 'results.json')
& (Join-Path $benchDir 'Write-BenchReport.ps1') -Results (Join-Path $benchDir 'results.json') -OutFile (Join-Path $benchDir 'RESULTS.md')
Write-Host "Wrote $(Join-Path $benchDir 'RESULTS.md'), results.json, fleet.png"
