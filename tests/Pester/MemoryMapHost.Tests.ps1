BeforeDiscovery { Import-Module (Join-Path $PSScriptRoot 'PvhVm.TestHelpers.psm1') -Force }

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'PvhVm.TestHelpers.psm1') -Force
    Import-BuiltPvhVm
}

Describe 'Get-PvhMemoryMap (<Hosting>)' -ForEach (Get-PvhVmHostingCase) {
    BeforeAll {
        Use-PvhVmHosting $Hosting
        Clear-PvhVm
        $vm = New-PvhVm -Name 'map' -MemoryMB 128 -CommandLine 'map=1' | Start-PvhVm -Wait -Timeout 30 -PassThru
        $regions = $vm | Get-PvhMemoryMap
    }
    AfterAll { Clear-PvhVm }

    It 'returns PvhVm.MemoryRegion objects tagged with the VM, in address order, without overlaps' {
        $regions[0].PSTypeNames[0] | Should -Be 'PvhVm.MemoryRegion'
        $regions.VmName | Select-Object -Unique | Should -Be 'map'
        for ($i = 0; $i -lt $regions.Count; $i++) {
            $regions[$i].End | Should -Be ($regions[$i].Start + $regions[$i].Size)
            if ($i -gt 0) { $regions[$i].Start | Should -BeGreaterOrEqual $regions[$i - 1].End }
        }
    }

    It 'says what the engine placed where' {
        $regions.Usage | Should -Contain 'KernelSegment'
        $regions.Usage | Should -Contain 'StartInfo'
        $regions.Usage | Should -Contain 'CommandLine'
        $regions.Usage | Should -Contain 'FreeRam'
        ($regions | Where-Object Usage -eq 'StartInfo').Start | Should -Be ([Convert]::ToUInt64(((Get-PvhConsole map -Pattern '^PVH probe').Text -replace '.*0x'), 16))
    }

    It 'agrees with the e820 map the guest received: the same RAM in total' {
        $guestRam = Get-PvhConsole -Name 'map' -Pattern '^memmap\[' | Where-Object Text -match 'size=0x([0-9a-f]+) type=1$' |
            ForEach-Object { [Convert]::ToUInt64(($_.Text -replace '.*size=0x([0-9a-f]+).*', '$1'), 16) } | Measure-Object -Sum
        $hostRam = $regions | Where-Object Type -eq 'Ram' | ForEach-Object { [double]$_.Size } | Measure-Object -Sum
        $hostRam.Sum | Should -Be $guestRam.Sum
        $guestRam.Sum | Should -BeLessOrEqual (128MB)
    }

    It 'returns nothing for a VM that has not started' {
        $null = New-PvhVm -Name 'map-created'
        Get-PvhMemoryMap -Name 'map-created' | Should -BeNullOrEmpty
    }
}

Describe 'Test-PvhHost' {
    It 'describes this host''s usable /dev/kvm' {
        $info = Test-PvhHost
        $info.PSTypeNames | Should -Contain 'PvhVm.HostInfo'
        $info.DevicePath | Should -Be '/dev/kvm'
        $info.IsUsable | Should -BeTrue
        $info.Problem | Should -BeNullOrEmpty
        $info.ApiVersion | Should -Be 12
        $info.MaxVcpus | Should -BeGreaterThan 0
        $info.Capabilities.Count | Should -BeGreaterThan 0
    }

    It 'returns only a bool with -Quiet' {
        Test-PvhHost -Quiet | Should -BeExactly $true
        Test-PvhHost -DevicePath (Join-Path $TestDrive 'kvm') -Quiet | Should -BeExactly $false
    }

    It 'resolves -DevicePath through the provider: relative to the current location, from ~ and PSDrives' {
        Push-Location /dev
        try {
            $info = Test-PvhHost -DevicePath kvm
            $info.DevicePath | Should -Be '/dev/kvm'
            $info.IsUsable | Should -BeTrue
        }
        finally { Pop-Location }
        (Test-PvhHost -DevicePath '~/pvhvm-no-kvm').DevicePath | Should -Be (Join-Path $HOME 'pvhvm-no-kvm')
        (Test-PvhHost -DevicePath 'TestDrive:/kvm').DevicePath | Should -Be (Join-Path $TestDrive 'kvm')
    }

    It 'refuses a -DevicePath of a provider that holds no files, as PathNotFound' {
        Test-PvhHost -DevicePath 'env:HOME' -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -Be 'PathNotFound,PvhVm.Module.Commands.TestPvhHostCommand'
        $err[0].Exception.Message | Should -BeLike '*Environment provider*'
    }

    It 'explains a missing device' {
        $info = Test-PvhHost -DevicePath (Join-Path $TestDrive 'kvm')
        $info.IsUsable | Should -BeFalse
        $info.Problem | Should -Not -BeNullOrEmpty
        $info.Remedy | Should -Not -BeNullOrEmpty
    }

    It 'explains a device the user may not open, and Start-PvhVm reports it as KvmUnavailable with the kvm group as the fix' {
        # A real EACCES: in a private mount namespace, /dev/kvm is replaced by a mode-000 node of the same device,
        # and the child pwsh runs without the capability that lets root ignore file modes.
        $kvm = Get-Item /dev/kvm
        $node = Join-Path $TestDrive 'kvm-no-access'
        & mknod $node c ([Convert]::ToInt32((& stat -c %t /dev/kvm), 16)) ([Convert]::ToInt32((& stat -c %T /dev/kvm), 16))
        & chmod 000 $node
        $script = Join-Path $TestDrive 'denied.ps1'
        Set-Content $script @"
Import-Module '$(Join-Path $env:PVHVM_MODULE_PATH 'PvhVm.psd1')'
`$info = Test-PvhHost
`$vm = New-PvhVm -Name denied
`$vm | Start-PvhVm -ErrorVariable e -ErrorAction SilentlyContinue
[pscustomobject]@{
    IsUsable = `$info.IsUsable; Problem = `$info.Problem; Remedy = `$info.Remedy
    ErrorId = `$e[0].FullyQualifiedErrorId; Category = "`$(`$e[0].CategoryInfo.Category)"
    RecommendedAction = `$e[0].ErrorDetails.RecommendedAction; State = "`$(`$vm.State)"
} | ConvertTo-Json
`$vm | Remove-PvhVm -Force
"@
        $pwsh = Join-Path $PSHOME 'pwsh'
        $caps = '-dac_override,-dac_read_search'
        $json = & unshare --mount -- sh -c "mount --bind '$node' /dev/kvm && exec setpriv --inh-caps=$caps --bounding-set=$caps -- '$pwsh' -NoProfile -NonInteractive -File '$script'"
        $LASTEXITCODE | Should -Be 0
        $result = $json | ConvertFrom-Json
        $result.IsUsable | Should -BeFalse
        $result.Problem | Should -Match 'Permission denied'
        $result.Remedy | Should -Match 'kvm'
        $result.ErrorId | Should -Be 'KvmUnavailable,PvhVm.Module.Commands.StartPvhVmCommand'
        $result.Category | Should -Be 'PermissionDenied'
        $result.RecommendedAction | Should -Match 'kvm'
        $result.State | Should -Be 'Failed'
        $kvm.Mode | Should -Be (Get-Item /dev/kvm).Mode
    }
}

