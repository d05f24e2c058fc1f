BeforeDiscovery { Import-Module (Join-Path $PSScriptRoot 'PvhVm.TestHelpers.psm1') -Force }

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'PvhVm.TestHelpers.psm1') -Force
    Import-BuiltPvhVm
    $module = Join-Path $env:PVHVM_MODULE_PATH 'PvhVm.psd1'
}

Describe 'Fleets under ForEach-Object -Parallel (<Hosting>)' -ForEach (Get-PvhVmHostingCase) {
    BeforeAll { Use-PvhVmHosting $Hosting }
    AfterEach { Clear-PvhVm }

    It 'creates and boots 10 VMs in parallel runspaces; every runspace and the caller see them all' {
        $seen = 1..10 | ForEach-Object -ThrottleLimit 5 -Parallel {
            Import-Module $using:module
            $PSDefaultParameterValues['New-PvhVm:InProcess'] = $using:Hosting -eq 'InProcess'
            $null = New-PvhVm -Name "fleet-$_" -CommandLine "node=$_" -MemoryMB 32 | Start-PvhVm -Wait -Timeout 60
            (Get-PvhVm -Name 'fleet-*').Count
        }
        $seen | Should -HaveCount 10
        ($seen | Measure-Object -Maximum).Maximum | Should -Be 10
        $fleet = Get-PvhVm -Name 'fleet-*'
        $fleet | Should -HaveCount 10
        $fleet.State | Select-Object -Unique | Should -Be 'Stopped'
        $fleet.ExitReason | Select-Object -Unique | Should -Be 'GuestReset'
        foreach ($n in 1..10) {
            (Get-PvhConsole -Name "fleet-$n" -Pattern '^cmdline=').Text | Should -Be "cmdline=node=$n"
        }
    }

    It 'lets exactly one runspace win a name' {
        $errors = 1..6 | ForEach-Object -ThrottleLimit 6 -Parallel {
            Import-Module $using:module
            $PSDefaultParameterValues['New-PvhVm:InProcess'] = $using:Hosting -eq 'InProcess'
            $null = New-PvhVm -Name 'contested' -ErrorVariable err -ErrorAction SilentlyContinue
            $err | ForEach-Object FullyQualifiedErrorId
        }
        @(Get-PvhVm -Name 'contested') | Should -HaveCount 1
        $errors | Should -HaveCount 5
        $errors | ForEach-Object { $_ | Should -BeLike 'VmNameTaken,*' }
    }
}
