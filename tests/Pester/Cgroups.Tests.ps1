# New-PvhVm and Restore-PvhVm -MemoryLimitMB / -CpuQuotaPercent: the host process runs in cgroups of its own that carry the limits, read
# back from the kernel through the process's /proc/<pid>/cgroup; where cgroups cannot be written, a clear error.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'PvhVm.TestHelpers.psm1') -Force
    Import-BuiltPvhVm
    $sleep = Get-TestGuestPath sleep

    # Runs a script in a child pwsh inside a mount namespace of its own, after a shell command has changed its mounts.
    function Invoke-InMountNamespace([string] $Mounts, [string] $Script) {
        $pwsh = Join-Path $PSHOME 'pwsh'
        $command = "Import-Module '$(Join-Path $env:PVHVM_MODULE_PATH 'PvhVm.psd1')'; $Script"
        & unshare --mount --propagation private /bin/sh -c "$Mounts && exec `"`$0`" -NoProfile -NonInteractive -Command `"`$1`"" $pwsh $command 2>&1 |
            ForEach-Object { "$_" }
    }
}

Describe 'Host-process limits through cgroups' {
    AfterEach { Clear-PvhVm }

    It 'runs the host in cgroups carrying the limits, nested in this session''s, and removes them with the VM' {
        $vm = New-PvhVm -Name limited -KernelPath $sleep -MemoryMB 16 -MemoryLimitMB 48 -CpuQuotaPercent 25 | Start-PvhVm -PassThru
        $memory = Get-CgroupDirectory $vm.HostProcessId memory
        $cpu = Get-CgroupDirectory $vm.HostProcessId cpu
        Get-Content "$memory/memory.limit_in_bytes" | Should -Be (48MB).ToString()
        Get-Content "$cpu/cpu.cfs_quota_us" | Should -Be '25000'
        Get-Content "$cpu/cpu.cfs_period_us" | Should -Be '100000'
        # The VM object shows its limits, in this pwsh and in any other.
        $vm.MemoryLimitMB, $vm.CpuQuotaPercent | Should -Be 48, 25
        $pwsh = Join-Path $PSHOME 'pwsh'
        $seen = & $pwsh -NoProfile -NonInteractive -Command "Import-Module '$(Join-Path $env:PVHVM_MODULE_PATH 'PvhVm.psd1')'; Get-PvhVm -Name limited | ForEach-Object { `"`$(`$_.MemoryLimitMB) `$(`$_.CpuQuotaPercent)`" }; (Get-PvhVm -Name limited | Format-List | Out-String) -match 'MemoryLimitMB\s*:\s*48'"
        $seen | Should -Be '48 25', 'True'
        Split-Path $memory -Parent | Should -Be "$(Get-CgroupDirectory $PID memory)/pvhvm"
        # The host's pages are charged there: it ran in the cgroup from its start.
        [long](Get-Content "$memory/memory.usage_in_bytes") | Should -BeGreaterThan 1MB

        $vm | Remove-PvhVm -Force
        $deadline = [DateTime]::UtcNow.AddSeconds(10)
        while (((Test-Path $memory) -or (Test-Path $cpu)) -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 20 }
        $memory | Should -Not -Exist
        $cpu | Should -Not -Exist
    }

    It 'puts each host-process clone of Restore-PvhVm in cgroups of its own carrying the limits; refuses them with -InProcess' {
        $source = New-PvhVm -Name limit-source -KernelPath $sleep -MemoryMB 16 -InProcess | Start-PvhVm -PassThru
        $folder = Join-Path $TestDrive 'limit-source'
        $null = $source | Suspend-PvhVm -PassThru | Checkpoint-PvhVm -Path $folder
        $source | Stop-PvhVm

        $clones = Restore-PvhVm -Path $folder -Clone -Count 2 -MemoryLimitMB 48 -CpuQuotaPercent 30
        $clones.State | Should -Be 'Running', 'Running'
        $memories = foreach ($clone in $clones) {
            $clone.MemoryLimitMB, $clone.CpuQuotaPercent | Should -Be 48, 30
            $memory = Get-CgroupDirectory $clone.HostProcessId memory
            Get-Content "$memory/memory.limit_in_bytes" | Should -Be (48MB).ToString()
            Get-Content "$(Get-CgroupDirectory $clone.HostProcessId cpu)/cpu.cfs_quota_us" | Should -Be '30000'
            $memory
        }
        ($memories | Sort-Object -Unique).Count | Should -Be 2 -Because 'each clone''s host has cgroups of its own'

        Restore-PvhVm -Path $folder -Name limited-inproc -InProcess -MemoryLimitMB 48 -ErrorAction SilentlyContinue -ErrorVariable refused
        $refused[0].FullyQualifiedErrorId | Should -Be 'InvalidVmConfig,PvhVm.Module.Commands.RestorePvhVmCommand'
        Get-PvhVm -Name limited-inproc -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'fails with HostMemoryLimitTooLow, creating no VM, when the host is OOM-killed before it is ready' {
        New-PvhVm -Name oom-launch -KernelPath $sleep -MemoryMB 16 -MemoryLimitMB 2 -ErrorAction SilentlyContinue -ErrorVariable e | Should -BeNullOrEmpty
        $e[0].FullyQualifiedErrorId | Should -Be 'HostMemoryLimitTooLow,PvhVm.Module.Commands.NewPvhVmCommand'
        $e[0].CategoryInfo.Category | Should -Be 'LimitsExceeded'
        $e[0].Exception.Message | Should -Match "OOM killer before it was ready: its memory limit of 2 MiB"
        $e[0].ErrorDetails.RecommendedAction | Should -Match 'Raise -MemoryLimitMB'
        Get-PvhVm -Name oom-launch -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'refuses limits with -InProcess, and takes them with -InProcess:$false' {
        { New-PvhVm -Name inproc-limited -InProcess -MemoryLimitMB 64 -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidVmConfig,PvhVm.Module.Commands.NewPvhVmCommand'
        Get-PvhVm -Name inproc-limited -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        (New-PvhVm -Name host-limited -InProcess:$false -CpuQuotaPercent 80).Hosting | Should -Be 'HostProcess'
    }

    It 'fails with CgroupNotWritable, creating no VM, where the hierarchy is read-only or not mounted' {
        $readOnly = Invoke-InMountNamespace 'mount --bind -o ro /sys/fs/cgroup/memory /sys/fs/cgroup/memory' `
            "New-PvhVm -Name cg-readonly -MemoryLimitMB 64 -ErrorAction SilentlyContinue -ErrorVariable e; `$e.FullyQualifiedErrorId; `$e.Exception.Message; `$e.ErrorDetails.RecommendedAction; @(Get-PvhVm -Name cg-readonly -ErrorAction SilentlyContinue).Count"
        $readOnly[0] | Should -Be 'CgroupNotWritable,PvhVm.Module.Commands.NewPvhVmCommand'
        $readOnly[1] | Should -Match 'Read-only file system'
        $readOnly[2] | Should -Match 'without -MemoryLimitMB and -CpuQuotaPercent'
        $readOnly[3] | Should -Be '0'

        $unmounted = Invoke-InMountNamespace 'mount -t tmpfs tmpfs /sys/fs/cgroup' `
            "New-PvhVm -Name cg-unmounted -CpuQuotaPercent 50 -ErrorAction SilentlyContinue -ErrorVariable e; `$e.FullyQualifiedErrorId; `$e.Exception.Message"
        $unmounted[0] | Should -Be 'CgroupNotWritable,PvhVm.Module.Commands.NewPvhVmCommand'
        $unmounted[1] | Should -Match 'No cgroup v1 hierarchy with the cpu controller is mounted'
    }
}
