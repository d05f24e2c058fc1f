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
        $kernel = Get-TestKernel
        $vmlinux, $initramfs, $marker = $kernel.Vmlinux, $kernel.Initramfs, $kernel.Marker
        $commandLine = "$($kernel.CommandLine) pvhtest.action=poweroff"
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

    It 'answers Invoke-PvhVsock and Connect-PvhVsock from Linux''s vsock driver, after reaching a host listener itself' {
        # init.c's pvhtest.vsock=1: connect to host port 5001 and send a line, then echo two connections on port 5000.
        $socketPath = Join-Path (New-Item -ItemType Directory (Join-Path $TestDrive "linux-vsock-$(Get-Random)")) 'vsock'
        $listener = [Net.Sockets.Socket]::new('Unix', 'Stream', 'Unspecified')
        try {
            $listener.Bind([Net.Sockets.UnixDomainSocketEndPoint]::new("${socketPath}_5001"))
            $listener.Listen(1)
            $vm = New-PvhVm -Name 'linux-vsock' -KernelPath $vmlinux -InitrdPath $initramfs -CommandLine "$commandLine pvhtest.vsock=1" `
                -MemoryMB 128 -VsockCid 61 -VsockPath $socketPath | Start-PvhVm -PassThru
            $fromGuest = Wait-SocketConnection -Listener $listener -Seconds 300
            [IO.StreamReader]::new([Net.Sockets.NetworkStream]::new($fromGuest, $true)).ReadLine() | Should -BeExactly 'hello from linux'
            $null = $vm | Wait-PvhVm -ConsolePattern '^pvhtest: vsock_listening=5000$' -Timeout 300

            'ping', 'second line' | Invoke-PvhVsock -Name 'linux-vsock' -Port 5000 | Should -Be @('ping', 'second line')
            $stream = Connect-PvhVsock -Name 'linux-vsock' -Port 5000
            $writer = [IO.StreamWriter]::new($stream); $writer.AutoFlush = $true
            $reader = [IO.StreamReader]::new($stream)
            $writer.WriteLine('one'); $reader.ReadLine() | Should -BeExactly 'one'
            $writer.WriteLine('two'); $reader.ReadLine() | Should -BeExactly 'two'
            $stream.Dispose()

            $vm = $vm | Wait-PvhVm -Timeout 120 -PassThru
            $vm.ExitReason | Should -Be 'PowerOff'
            ($vm | Get-PvhConsole -Pattern '^pvhtest: vsock_(cid|connect|echoed)=').Text |
                Should -Be @('pvhtest: vsock_connect=ok', 'pvhtest: vsock_cid=61', 'pvhtest: vsock_echoed=17', 'pvhtest: vsock_echoed=8')
        }
        finally {
            if ($fromGuest) { $fromGuest.Dispose() }
            $listener.Dispose()
        }
    }
}
