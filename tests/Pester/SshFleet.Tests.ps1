# A fleet across hosts over PowerShell remoting, for real: two network namespaces on this machine act as two hosts,
# each with its own sshd (pwsh as the powershell subsystem, key authentication) and its own PvhVm runtime directory.
# One pwsh creates VMs on both, the connections end, and a new connection finds them running.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'PvhVm.TestHelpers.psm1') -Force
    Import-Module (Join-Path $PSScriptRoot 'PvhVm.SshFleet.psm1') -Force
    # Deserialized VMs are shown with this pwsh's views: the module's format data must be loaded here.
    Import-BuiltPvhVm
    $module = Join-Path $env:PVHVM_MODULE_PATH 'PvhVm.psd1'
    $sleep = Get-TestGuestPath sleep
    # The hosts' sessions find the built module as an installed one (out/PvhVm/<version> is a module folder).
    $fleet = New-SshFleet -HostCount 2 -ModulePath (Split-Path (Split-Path $env:PVHVM_MODULE_PATH))
    $connection = $fleet.Connection
    $first, $second = $fleet.HostNames
}

AfterAll {
    if ($fleet) {
        # The way an admin removes them (the fixture would end the host processes anyway), then the hosts themselves.
        Invoke-Command -HostName $fleet.HostNames @connection -ArgumentList $module -ErrorAction Continue {
            param($module)
            Import-Module $module
            Get-PvhVm | Remove-PvhVm -Force -Confirm:$false
        }
        Remove-SshFleet $fleet
    }
}

Describe 'Fleets across hosts over SSH remoting' {
    BeforeAll {
        $created = Invoke-Command -HostName $fleet.HostNames @connection -ArgumentList $module, $sleep {
            param($module, $sleep)
            Import-Module $module
            'fleet-a', 'fleet-b' | ForEach-Object { New-PvhVm -Name $_ -KernelPath $sleep -MemoryMB 16 -MemoryLimitMB 48 | Start-PvhVm -PassThru }
        }
        # Invoke-Command -HostName closes its connections when it returns: each host's session pwsh ends.
        $deadline = [DateTime]::UtcNow.AddSeconds(10)
        while ((Get-SshFleetProcess $fleet | Where-Object Name -EQ 'pwsh') -and [DateTime]::UtcNow -lt $deadline) {
            Start-Sleep -Milliseconds 50
        }
        $sessionsLeft = @(Get-SshFleetProcess $fleet | Where-Object Name -EQ 'pwsh')
        # As an admin would, later: the module loads on first use. A name taken on that host is refused there.
        $seen = Invoke-Command -HostName $first @connection -ErrorVariable remoteErrors -ErrorAction SilentlyContinue {
            Get-PvhVm
            Get-PvhConsole -Name fleet-a
            New-PvhVm -Name fleet-a
        }
    }

    It 'creates and starts VMs on both hosts from one pwsh' {
        $created | Should -HaveCount 4
        $created.State | Select-Object -Unique | Should -Be 'Running'
        $created.Hosting | Select-Object -Unique | Should -Be 'HostProcess'
        foreach ($address in $fleet.HostNames) {
            ($created | Where-Object PSComputerName -EQ $address).Name | Sort-Object | Should -Be 'fleet-a', 'fleet-b'
        }
        # The same names on both hosts are different VMs: each host has its own runtime directory.
        ($created.Id | Select-Object -Unique) | Should -HaveCount 4
    }

    It 'leaves the VMs running after the connections end' {
        $sessionsLeft | Should -BeNullOrEmpty
        $hostProcesses = Get-SshFleetProcess $fleet | Where-Object Name -EQ 'pvhvm-host'
        $hostProcesses | Should -HaveCount 4
        $hostProcesses.Id | Sort-Object | Should -Be ($created.HostProcessId | Sort-Object)
        # Each in its memory cgroup with the limit given remotely (the hosts see the machine's memory hierarchy).
        foreach ($process in $hostProcesses) {
            $cgroup = Get-CgroupDirectory $process.Id memory
            $cgroup | Should -Match '/pvhvm/fleet-[ab]-[0-9a-f]{8}$'
            Get-Content "$cgroup/memory.limit_in_bytes" | Should -Be (48MB).ToString()
        }
    }

    It 'finds the running VMs of a host from a new connection' {
        $vms = $seen | Where-Object { $_.PSObject.TypeNames -match 'PvhVm.Vm$' }
        $vms.Name | Sort-Object | Should -Be 'fleet-a', 'fleet-b'
        $vms.State | Select-Object -Unique | Should -Be 'Running'
        $vms.PSComputerName | Select-Object -Unique | Should -Be $first
        $vms.Id | Sort-Object | Should -Be (($created | Where-Object PSComputerName -EQ $first).Id | Sort-Object)
        ($seen | Where-Object { $_.PSObject.TypeNames -match 'PvhVm.ConsoleLine$' }).Text | Should -Be 'sleeping'
    }

    It 'brings a remote error back with its error id and the host it came from' {
        $remoteErrors | Should -HaveCount 1
        $remoteErrors[0].FullyQualifiedErrorId | Should -Be 'VmNameTaken,PvhVm.Module.Commands.NewPvhVmCommand'
        $remoteErrors[0].OriginInfo.PSComputerName | Should -Be $first
    }

    It 'shows the deserialized VMs in the VM table, with the host each runs on' {
        $table = ($created | Sort-Object PSComputerName, Name | Out-String -Width 200) -split "`n" | Where-Object { $_.Trim() }
        $table[0] | Should -Match '^Name\s+State\s+CPUs\s+Memory\s+Uptime\s+.*PSComputerName\s*$'
        $rows = $table | Select-Object -Skip 2
        $rows | Should -HaveCount 4
        $rows[0] | Should -Match "^fleet-a\s+Running\s+1\s+16 MB\s.*\s$([regex]::Escape($first))\s*$"
        $rows[3] | Should -Match "^fleet-b\s+Running\s+1\s+16 MB\s.*\s$([regex]::Escape($second))\s*$"
    }
}
