# VMs in host processes of their own: they outlive the pwsh that made them, every pwsh of the user sees them, and a
# host that dies (or leaves its socket behind) is reported as such, never taken for a live VM.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'PvhVm.TestHelpers.psm1') -Force
    Import-BuiltPvhVm
    $spin = Get-TestGuestPath spin
    $echo = Get-TestGuestPath echo
    $modulePath = Join-Path $env:PVHVM_MODULE_PATH 'PvhVm.psd1'
    $pwsh = Join-Path $PSHOME 'pwsh'

    # A separate pwsh process (same user, same runtime directory) running a script; its output lines go to a file.
    function Start-Pwsh([string] $Script, [string] $Output) {
        Start-Process -FilePath $pwsh -ArgumentList '-NoProfile', '-NonInteractive', '-Command', "Import-Module '$modulePath'; $Script" `
            -PassThru -RedirectStandardOutput $Output -RedirectStandardError "$Output.err"
    }

    # A pwsh starting under the load of this shared machine can take tens of seconds.
    function Wait-File([string] $Path, [string] $Pattern, [int] $Seconds = 120) {
        $deadline = [DateTime]::UtcNow.AddSeconds($Seconds)
        while (-not ((Test-Path $Path) -and (Get-Content $Path) -match $Pattern)) {
            if ([DateTime]::UtcNow -gt $deadline) { throw "No '$Pattern' in $Path after $Seconds s: $(Get-Content -Raw $Path -ErrorAction SilentlyContinue) $(Get-Content -Raw "$Path.err" -ErrorAction SilentlyContinue)" }
            Start-Sleep -Milliseconds 50
        }
    }

    # The fields of /proc/<pid>/stat after the command name: [0] is the state (field 3), [1] the parent (field 4), [2] the
    # process group (field 5), [49] a zombie's wait status (field 52); empty for a process that has been reaped.
    function Get-StatField([int] $ProcessId, [int] $Index) { ((Get-Content "/proc/$ProcessId/stat" -ErrorAction Ignore) -replace '^.*\) ', '' -split ' ')[$Index] }

    # The process group, which the monitor shell leads (setsid).
    function Get-ProcessGroup([int] $ProcessId) { [int](Get-StatField $ProcessId 2) }

    # Gone, or a zombie nobody reaps (its monitor shell died with it, and PID 1 here may not reap orphans).
    function Wait-ProcessEnd([int] $ProcessId) {
        $deadline = [DateTime]::UtcNow.AddSeconds(10)
        while ((Test-Path "/proc/$ProcessId") -and (Get-StatField $ProcessId 0) -ne 'Z') {
            if ([DateTime]::UtcNow -gt $deadline) { throw "process $ProcessId still alive" }
            Start-Sleep -Milliseconds 20
        }
    }
}

Describe 'Host-process VMs' {
    AfterEach { Clear-PvhVm }

    It 'run in a host process of their own, in a folder of the runtime directory that only this user can enter' {
        $vm = New-PvhVm -Name hp-private -KernelPath $echo -MemoryMB 16 | Start-PvhVm -PassThru
        $vm.Hosting | Should -Be 'HostProcess'
        $vm.HostProcessId | Should -Not -Be $PID
        (Get-Content "/proc/$($vm.HostProcessId)/comm") | Should -Be 'pvhvm-host'
        (Get-Item $env:PVHVM_RUNTIME_DIR).UnixMode | Should -Be 'drwx------'
        $folder = Join-Path $env:PVHVM_RUNTIME_DIR 'hp-private'
        (Get-Item $folder).UnixMode | Should -Be 'drwx------'
        # What the owner reaches with curl, another user cannot: the folder's mode keeps it from the socket.
        (& curl -s --unix-socket "$folder/api.sock" http://localhost/vm | ConvertFrom-Json).status.state | Should -Be 'Running'
        & setpriv --reuid=65534 --regid=65534 --clear-groups curl -s --unix-socket "$folder/api.sock" http://localhost/vm
        $LASTEXITCODE | Should -Be 7 -Because 'curl exits 7 when it cannot connect'
        $vm.State | Should -Be 'Running'
    }

    It 'show a host killed with SIGKILL as Failed with the signal, its console from disk, and leave the other VMs alone' {
        $victim = New-PvhVm -Name hp-victim -KernelPath $echo -MemoryMB 16 | Start-PvhVm -PassThru
        $bystander = New-PvhVm -Name hp-bystander -KernelPath $echo -MemoryMB 16 | Start-PvhVm -PassThru
        $victim | Wait-PvhVm -ConsolePattern 'echo ready' -Timeout 30
        Stop-Process -Id $victim.HostProcessId -Force
        $victim | Wait-PvhVm -Timeout 10
        $victim.State | Should -Be 'Failed'
        $victim.ExitReason | Should -Be 'Fault'
        $victim.Fault.Message | Should -Match 'killed by signal 9 \(SIGKILL\)'
        (Get-PvhVm hp-victim).State | Should -Be 'Failed'
        (Get-PvhConsole hp-victim -Pattern 'echo ready').Text | Should -Be 'echo ready'
        { Send-PvhConsole hp-victim 'x' -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidVmState*'
        $bystander.State | Should -Be 'Running'
        Send-PvhConsole -VM $bystander -Text 'ping' -Line
        $bystander | Wait-PvhVm -ConsolePattern '^ping$' -Timeout 30
        Remove-PvhVm hp-victim -Confirm:$false
        Test-Path (Join-Path $env:PVHVM_RUNTIME_DIR 'hp-victim') | Should -BeFalse
        Get-PvhVm hp-victim -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'never take a folder whose host is gone, socket left behind, for a live VM' {
        $vm = New-PvhVm -Name hp-stale -KernelPath $spin -MemoryMB 16 | Start-PvhVm -PassThru
        $folder = Join-Path $env:PVHVM_RUNTIME_DIR 'hp-stale'
        # The host and its monitor shell at once: nobody records how the host ended, and api.sock stays.
        & kill -s KILL -- "-$(Get-ProcessGroup $vm.HostProcessId)"
        Wait-ProcessEnd $vm.HostProcessId
        Test-Path "$folder/api.sock" | Should -BeTrue
        Test-Path "$folder/host.exit" | Should -BeFalse
        $stale = Get-PvhVm hp-stale
        $stale.State | Should -Be 'Failed'
        $stale.Fault.Message | Should -Match 'no exit status was recorded'
        { Start-PvhVm hp-stale -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidVmState*'
        { Stop-PvhVm hp-stale -Force -ErrorAction Stop -Verbose } | Should -Not -Throw
        Remove-PvhVm hp-stale -Confirm:$false
        Test-Path $folder | Should -BeFalse
    }

    It 'give a new VM of a removed one''s name a folder that nothing of the old host writes into or removes from' {
        $folder = Join-Path $env:PVHVM_RUNTIME_DIR 'hp-reused'
        foreach ($round in 1..5) {
            $old = New-PvhVm -Name hp-reused -KernelPath $spin -MemoryMB 16 | Start-PvhVm -PassThru
            # The old monitor shell held until the new VM runs: its exit record must not land in the new folder. (The
            # old host's own exit, which once unlinked the new host's socket by path, races the new host's start.)
            $oldHost = $old.HostProcessId
            $oldMonitor = [int](Get-StatField $oldHost 1)
            & kill -s STOP $oldMonitor
            try {
                Remove-PvhVm hp-reused -Force -Confirm:$false
                $new = New-PvhVm -Name hp-reused -KernelPath $spin -MemoryMB 16 | Start-PvhVm -PassThru
                # Unreaped while its monitor is held, the old host's wait status shows it exited 0, not killed (by
                # the seccomp filter, say) on its way out.
                Wait-ProcessEnd $oldHost
                Get-StatField $oldHost 49 | Should -Be '0' -Because "round ${round}, the exit_code field of /proc/$oldHost/stat"
            } finally {
                & kill -s CONT $oldMonitor
            }
            Wait-ProcessEnd $oldMonitor
            Wait-ProcessEnd $oldHost
            Test-Path "$folder/host.exit" | Should -BeFalse -Because "round $round"
            Test-Path "$folder/api.sock" | Should -BeTrue -Because "round $round"
            (Get-PvhVm hp-reused).State | Should -Be 'Running' -Because "round $round"
            $new.HostProcessId | Should -Not -Be $oldHost
            Remove-PvhVm hp-reused -Force -Confirm:$false
        }
    }

    It 'never take a recycled process id for the host: the state names the process by its start time too' {
        $null = New-PvhVm -Name hp-recycled -KernelPath $spin -MemoryMB 16 | Start-PvhVm
        $folder = Join-Path $env:PVHVM_RUNTIME_DIR 'hp-recycled'
        $vm = Get-PvhVm hp-recycled
        & kill -s KILL -- "-$(Get-ProcessGroup $vm.HostProcessId)"
        Wait-ProcessEnd $vm.HostProcessId
        # As if the host's pid now belonged to this pwsh: alive, but not the process that wrote the state.
        $state = Get-Content -Raw "$folder/state.json" | ConvertFrom-Json
        $state.processId = $PID
        $state | ConvertTo-Json -Depth 10 | Set-Content "$folder/state.json"
        Clear-PvhVm
        Test-Path $folder | Should -BeFalse -Because 'Get-PvhVm saw the VM as Failed and Remove-PvhVm -Force cleaned its folder'
    }

    It 'keep running when the pwsh that made them is killed, and another pwsh finds them' {
        $out = Join-Path $TestDrive 'creator.txt'
        $creator = Start-Pwsh "New-PvhVm -Name hp-orphan -KernelPath '$echo' -MemoryMB 16 | Start-PvhVm; 'started'; Start-Sleep 600" $out
        try { Wait-File $out '^started$' } finally { Stop-Process -Id $creator.Id -Force }
        $creator.WaitForExit(10000) | Should -BeTrue
        $creator.ExitCode | Should -Be 137 -Because 'SIGKILL'
        $vm = Get-PvhVm hp-orphan
        $vm.State | Should -Be 'Running'
        $vm | Wait-PvhVm -ConsolePattern 'echo ready' -Timeout 30
        # A third pwsh sees it too, and talks to its guest.
        $seen = Join-Path $TestDrive 'seer.txt'
        $seer = Start-Pwsh "Send-PvhConsole hp-orphan 'hello' -Line; Wait-PvhVm hp-orphan -ConsolePattern '^hello$' -Timeout 30; (Get-PvhVm hp-orphan).State" $seen
        $seer.WaitForExit(60000) | Should -BeTrue
        Get-Content $seen | Should -Be 'Running'
        (Get-PvhConsole hp-orphan -Pattern '^hello$').Text | Should -Be 'hello'
    }

    It 'let one of two pwsh processes stopping the same VM stop it, and give the other a clean error or nothing to do' {
        $vm = New-PvhVm -Name hp-contested -KernelPath $spin -MemoryMB 16 | Start-PvhVm -PassThru
        $go = Join-Path $TestDrive 'go'
        $racers = foreach ($n in 1, 2) {
            $out = Join-Path $TestDrive "racer$n.txt"
            $script = "'ready'; while (-not (Test-Path '$go')) { Start-Sleep -Milliseconds 5 }; " +
                "`$r = Stop-PvhVm hp-contested -Force -PassThru -ErrorVariable e -ErrorAction SilentlyContinue; " +
                "if (`$e) { `$e.FullyQualifiedErrorId } else { 'stopped:' + `$r.ExitReason }"
            [pscustomobject]@{ Process = Start-Pwsh $script $out; Output = $out }
        }
        foreach ($racer in $racers) { Wait-File $racer.Output '^ready$' }
        New-Item $go | Out-Null
        foreach ($racer in $racers) { $racer.Process.WaitForExit(60000) | Should -BeTrue }
        $outcomes = $racers | ForEach-Object { (Get-Content $_.Output)[-1] }
        @($outcomes -eq 'stopped:Stopped').Count | Should -BeGreaterOrEqual 1
        $outcomes | ForEach-Object { $_ | Should -BeIn 'stopped:Stopped', 'InvalidVmState,PvhVm.Module.Commands.StopPvhVmCommand' }
        $vm.State | Should -Be 'Stopped'
        $vm.ExitReason | Should -Be 'Stopped'
    }

    It 'keep running when the module is removed, and are found again when it is imported' {
        $vm = New-PvhVm -Name hp-module -KernelPath $spin -MemoryMB 16 | Start-PvhVm -PassThru
        Remove-Module PvhVm
        try {
            (Get-Content "/proc/$($vm.HostProcessId)/comm") | Should -Be 'pvhvm-host'
        }
        finally { Import-BuiltPvhVm }
        (Get-PvhVm hp-module).State | Should -Be 'Running'
    }

    It 'refuse a name that a host-process VM has, in this pwsh or another, whatever the case' {
        $null = New-PvhVm -Name hp-Taken -MemoryMB 16
        { New-PvhVm -Name HP-TAKEN -MemoryMB 16 -ErrorAction Stop } | Should -Throw -ErrorId 'VmNameTaken*'
        { New-PvhVm -Name hp-taken -MemoryMB 16 -InProcess -ErrorAction Stop } | Should -Throw -ErrorId 'VmNameTaken*'
        $null = New-PvhVm -Name hp-inproc -MemoryMB 16 -InProcess
        { New-PvhVm -Name hp-inproc -MemoryMB 16 -ErrorAction Stop } | Should -Throw -ErrorId 'VmNameTaken*'
        (Get-PvhVm hp-*).Hosting | Should -Be 'InProcess', 'HostProcess'
    }
}
