BeforeDiscovery { Import-Module (Join-Path $PSScriptRoot 'PvhVm.TestHelpers.psm1') -Force }

# Linux to userspace through the module: the test kernel from scripts/build-test-kernel.sh (built before the tests
# by build.ps1) runs its /init, which reports what it was given and powers off through ACPI. About 40 s per boot on
# an emulating host, so it runs with build.ps1 -Task SlowTest.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'PvhVm.TestHelpers.psm1') -Force
    Import-BuiltPvhVm
}

Describe 'The test kernel through the module (<Hosting>)' -Tag Slow -ForEach (Get-PvhVmHostingCase) {
    BeforeAll {
        Use-PvhVmHosting $Hosting
        $vmlinux, $initramfs, $marker = & bash (Join-Path $PSScriptRoot '../../scripts/build-test-kernel.sh')
        if ($LASTEXITCODE -ne 0) { throw "scripts/build-test-kernel.sh failed ($LASTEXITCODE)" }
        # The same extras as TestKernelFixture: only a host whose KVM emulates (kvm_pvm) needs them.
        $extras = if (Test-Path /sys/module/kvm_pvm) {
            ' noxsave nopti mitigations=off nokaslr no_timer_check no_int3_selftest clearcpuid=308,151,59,534,141 nofsgsbase noinvpcid nopcid pvm_native_fixup'
        } else { '' }
        $commandLine = "console=ttyS0 panic=-1 rdinit=/init$extras pvhtest.action=poweroff"
    }

    AfterEach { Clear-PvhVm }

    It 'reaches /init, which reports the command line and the initramfs marker, and powers off' {
        $vm = New-PvhVm -Name 'linux' -KernelPath $vmlinux -InitrdPath $initramfs -CommandLine $commandLine -MemoryMB 128 |
            Start-PvhVm -Wait -Timeout 300 -PassThru
        $vm.State | Should -Be 'Stopped'
        $vm.ExitReason | Should -Be 'PowerOff'
        ($vm | Get-PvhConsole -Pattern '^pvhtest: cmdline=').Text | Should -Be "pvhtest: cmdline=$commandLine"
        ($vm | Get-PvhConsole -Pattern '^pvhtest: marker=').Text | Should -Be "pvhtest: marker=$marker"
        ($vm | Get-PvhConsole -Pattern '^pvhtest: cpus=').Text | Should -Be 'pvhtest: cpus=1'
    }
}
