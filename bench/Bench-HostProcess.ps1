# Host-process VMs (issue 13), dot-sourced by Invoke-Bench.ps1, whose Get-Stats, Invoke-Tool, Get-GuestRssKiB,
# $qemuProbe, $qemuBase, $probe, $echoGuest and $Rounds it uses. Measure-HostProcess returns the section of results.json
# that Write-BenchReport.ps1 renders as "Host-process VMs".

# A process's memory in KiB: VmRSS, its anonymous part (RssAnon: what this process alone holds; the rest is the binary
# and libc, file pages shared by every host) and its proportional share (Pss). Zeros once it has gone.
function Get-ProcessMemoryKiB([int] $ProcessId) {
    $status = Get-Content "/proc/$ProcessId/status" -ErrorAction SilentlyContinue
    $rollup = Get-Content "/proc/$ProcessId/smaps_rollup" -ErrorAction SilentlyContinue
    $field = { param($lines, $name) [long](($lines | Where-Object { $_ -like "${name}:*" } | Select-Object -First 1) -replace '\D', '') }
    [pscustomobject]@{ Rss = & $field $status 'VmRSS'; Anonymous = & $field $status 'RssAnon'; Pss = & $field $rollup 'Pss' }
}

# New-PvhVm | Start-PvhVm until the guest's first console line, then Remove-PvhVm: the milliseconds of each phase.
function Measure-FirstLine([string] $Name, [switch] $InProcess) {
    $sw = [Diagnostics.Stopwatch]::StartNew()
    $vm = New-PvhVm -Name $Name -InProcess:$InProcess
    $created = $sw.Elapsed.TotalMilliseconds
    $null = $vm | Start-PvhVm
    $started = $sw.Elapsed.TotalMilliseconds
    $vm | Wait-PvhVm -ConsolePattern '.' -Timeout 30
    $firstLine = $sw.Elapsed.TotalMilliseconds
    $vm | Wait-PvhVm -Timeout 30
    Remove-PvhVm -Name $Name -Force
    [pscustomobject]@{ newMs = $created; startMs = $started - $created; firstLineMs = $firstLine; totalMs = $sw.Elapsed.TotalMilliseconds }
}

function Measure-HostProcess {
    Write-Host "$(Get-Date -Format T) host-process VMs: first console line ($Rounds interleaved rounds), 100 alive at once"
    $null = Measure-FirstLine 'hp-warmup'; $null = Measure-FirstLine 'ip-warmup' -InProcess
    $hosted = [Collections.Generic.List[object]]::new()
    $inProcess = [Collections.Generic.List[object]]::new()
    $qemu = [Collections.Generic.List[double]]::new()
    for ($round = 0; $round -lt $Rounds; $round++) {
        for ($i = 0; $i -lt 3; $i++) {
            $hosted.Add((Measure-FirstLine "hp-first$i"))
            $inProcess.Add((Measure-FirstLine "ip-first$i" -InProcess))
        }
        Invoke-Tool process-console 10 'PVH probe' @qemuProbe | ForEach-Object { $qemu.Add($_.firstByteMs) }
    }

    # 100 idle VMs, each in its host process, alive at once: the sleep guest halts with nothing to wake it, so the hosts'
    # own cost is what is left (an echo guest would poll its UART on a 1 ms timer: 100 of them saturate this machine).
    $sleepGuest = Join-Path (Split-Path $echoGuest) 'sleep.elf'
    $clientBefore = Get-RssKiB
    $sw = [Diagnostics.Stopwatch]::StartNew()
    $fleet = 1..100 | ForEach-Object { New-PvhVm -Name "hp-alive$_" -KernelPath $sleepGuest -MemoryMB 64 -InProcess:$false }
    $createdMs = $sw.Elapsed.TotalMilliseconds
    $fleet | Start-PvhVm
    Wait-PvhVm -Name 'hp-alive*' -ConsolePattern '^sleeping$' -Timeout 300
    $readyMs = $sw.Elapsed.TotalMilliseconds
    Start-Sleep -Seconds 2
    $perHost = foreach ($vm in $fleet) {
        $memory = Get-ProcessMemoryKiB $vm.HostProcessId
        $guest = Get-GuestRssKiB 64 $vm.HostProcessId
        [pscustomobject]@{ rssKiB = $memory.Rss; guestKiB = $guest; overheadKiB = $memory.Rss - $guest
            anonymousOverheadKiB = $memory.Anonymous - $guest; pssKiB = $memory.Pss }
    }
    $clientAfter = Get-RssKiB
    $sw.Restart()
    $listed = @(Get-PvhVm -Name 'hp-alive*')
    $listMs = $sw.Elapsed.TotalMilliseconds
    $running = @($listed | Where-Object State -eq 'Running').Count
    $sw.Restart()
    Stop-PvhVm -Name 'hp-alive*' -Force
    $exitReasons = Get-PvhVm -Name 'hp-alive*' | Group-Object ExitReason | ForEach-Object { "$($_.Name)=$($_.Count)" }
    Remove-PvhVm -Name 'hp-alive*' -Confirm:$false
    $stopRemoveMs = $sw.Elapsed.TotalMilliseconds

    # QEMU's process idling on the same guest, for scale.
    $qemuEcho = Start-Process $qemuBase[0] -ArgumentList ($qemuBase[1..($qemuBase.Count - 1)] + @('-serial', 'null', '-monitor', 'none', '-device', 'i8042', '-kernel', $sleepGuest)) `
        -PassThru -RedirectStandardInput /dev/null -RedirectStandardOutput (Join-Path $work 'qemu-echo.txt')
    Start-Sleep -Seconds 2
    $qemuRss = (Get-ProcessMemoryKiB $qemuEcho.Id).Rss
    $qemuGuest = Get-GuestRssKiB 256 $qemuEcho.Id
    Stop-Process -Id $qemuEcho.Id -Force

    [ordered]@{
        # When, and how loaded: the section can be run alone (Invoke-Bench.ps1 -Section HostProcess).
        measured = [ordered]@{ date = [DateTimeOffset]::UtcNow.ToString('u'); loadAverage = (Get-Content /proc/loadavg) }
        firstLine = [ordered]@{
            hostProcess = Get-Stats $hosted.firstLineMs; hostProcessNew = Get-Stats $hosted.newMs; hostProcessStart = Get-Stats $hosted.startMs
            hostProcessRoundTrip = Get-Stats $hosted.totalMs
            inProcess = Get-Stats $inProcess.firstLineMs; inProcessNew = Get-Stats $inProcess.newMs; inProcessStart = Get-Stats $inProcess.startMs
            inProcessRoundTrip = Get-Stats $inProcess.totalMs
            qemuProcess = Get-Stats $qemu
        }
        alive = [ordered]@{
            vms = 100; running = $running; createMs = [math]::Round($createdMs, 1); readyMs = [math]::Round($readyMs, 1)
            hostRssKiB = Get-Stats $perHost.rssKiB; guestPagesKiB = Get-Stats $perHost.guestKiB; hostOverheadKiB = Get-Stats $perHost.overheadKiB
            hostAnonymousOverheadKiB = Get-Stats $perHost.anonymousOverheadKiB; hostPssKiB = Get-Stats $perHost.pssKiB
            clientGrowthPerVmKiB = [math]::Round(($clientAfter - $clientBefore) / 100, 1)
            getPvhVmMs = [math]::Round($listMs, 1); stopAndRemoveMs = [math]::Round($stopRemoveMs, 1); exitReasons = $exitReasons -join ', '
            qemuRssKiB = $qemuRss; qemuGuestPagesKiB = $qemuGuest
        }
    }
}
