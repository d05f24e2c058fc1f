BeforeDiscovery { Import-Module (Join-Path $PSScriptRoot 'PvhVm.TestHelpers.psm1') -Force }

# Network adapters and the vsock channel through the cmdlets: configuration before start, what a running VM owns on
# the host (its tap, its private socket directory), and the error ids a script sees.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'PvhVm.TestHelpers.psm1') -Force
    Import-BuiltPvhVm
    Clear-PvhVm
    $sleep = Get-TestGuestPath sleep
    # Tap names are global to the host: unique per run.
    $suffix = '{0:x6}' -f (Get-Random -Maximum 0xffffff)
}

AfterAll { Clear-PvhVm }

Describe 'Add-, Get-, Remove-PvhVmNetworkAdapter (<Hosting>)' -ForEach (Get-PvhVmHostingCase) {
    BeforeAll { Use-PvhVmHosting $Hosting }
    AfterEach { Clear-PvhVm }

    It 'adds adapters in order with a derived MAC, or the one given, and removes them by tap or by object' {
        $vm = New-PvhVm -Name 'nic' -KernelPath $sleep -MemoryMB 16 -TapName "pa$suffix"
        $added = Add-PvhVmNetworkAdapter -Name 'nic' -TapName "pb$suffix" -MacAddress '52-54-00-12-34-56' -PassThru
        $added.PSTypeNames | Should -Contain 'PvhVm.NetworkAdapter'
        $added.MacAddress | Should -BeExactly '52:54:00:12:34:56'

        $adapters = Get-PvhVmNetworkAdapter -VMName 'nic'
        $adapters.TapName | Should -Be @("pa$suffix", "pb$suffix")
        $adapters[0].MacAddress | Should -Match '^[0-9a-f][26ae](:[0-9a-f]{2}){5}$'
        $adapters[0].PacketsIn + $adapters[0].DroppedOut | Should -Be 0
        (Get-PvhVmNetworkAdapter 'nic')[0].MacAddress | Should -BeExactly $adapters[0].MacAddress

        $adapters[1] | Remove-PvhVmNetworkAdapter
        Remove-PvhVmNetworkAdapter -Name 'nic' -TapName "pa$suffix"
        Get-PvhVmNetworkAdapter -VM $vm | Should -BeNullOrEmpty
    }

    It 'reports <Id> for <Case>' -ForEach @(
        @{ Case = 'a tap name Linux cannot take'; Tap = 'a/b'; Id = 'TapNameInvalid' }
        @{ Case = 'a second adapter on one tap'; Tap = 'same'; Id = 'NetworkAdapterAlreadyAttached' }
        @{ Case = 'a multicast MAC address'; Tap = 'other'; Mac = '01:00:5e:00:00:01'; Id = 'InvalidVmConfig' }
    ) {
        $null = New-PvhVm -Name 'nic-bad' -KernelPath $sleep -MemoryMB 16 -TapName "psame$suffix"
        $tap = if ($Tap -eq 'same') { "psame$suffix" } elseif ($Tap -eq 'other') { "po$suffix" } else { $Tap }
        $arguments = @{ Name = 'nic-bad'; TapName = $tap }
        if ($Mac) { $arguments.MacAddress = $Mac }
        { Add-PvhVmNetworkAdapter @arguments -ErrorAction Stop } | Should -Throw -ErrorId "$Id,PvhVm.Module.Commands.AddPvhVmNetworkAdapterCommand"
    }

    It 'changes adapters only before start, and names a tap the VM does not have' {
        $null = New-PvhVm -Name 'nic-run' -KernelPath $sleep -MemoryMB 16 | Start-PvhVm
        { Add-PvhVmNetworkAdapter -Name 'nic-run' -TapName "pr$suffix" -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidVmState,PvhVm.Module.Commands.AddPvhVmNetworkAdapterCommand'
        { Remove-PvhVmNetworkAdapter -Name 'nic-run' -TapName "pr$suffix" -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidVmState,PvhVm.Module.Commands.RemovePvhVmNetworkAdapterCommand'
        $null = New-PvhVm -Name 'nic-none' -KernelPath $sleep -MemoryMB 16
        { Remove-PvhVmNetworkAdapter -Name 'nic-none' -TapName 'absent' -ErrorAction Stop } |
            Should -Throw -ErrorId 'NetworkAdapterNotFound,PvhVm.Module.Commands.RemovePvhVmNetworkAdapterCommand'
    }

    It 'creates the tap when the VM starts and removes it when the VM goes' {
        $tap = "pt$suffix"
        $null = New-PvhVm -Name 'nic-tap' -KernelPath $sleep -MemoryMB 16 -TapName $tap
        ip link show $tap 2>$null | Should -BeNullOrEmpty
        Start-PvhVm -Name 'nic-tap'
        ip -br link show $tap | Should -Match "^$tap\s"
        Remove-PvhVm -Name 'nic-tap' -Force
        ip link show $tap 2>$null | Should -BeNullOrEmpty
    }
}

Describe 'New-PvhVm vsock, Invoke-PvhVsock and Connect-PvhVsock (<Hosting>)' -ForEach (Get-PvhVmHostingCase) {
    BeforeAll { Use-PvhVmHosting $Hosting }
    AfterEach { Clear-PvhVm }

    It 'gives a VM its CID and a socket in a private directory that exists while it runs' {
        $vm = New-PvhVm -Name 'vs' -KernelPath $sleep -MemoryMB 16 -VsockCid 4321
        $vm.VsockCid | Should -Be 4321
        $directory = Split-Path $vm.VsockPath
        Test-Path $directory | Should -BeFalse
        $vm | Start-PvhVm
        (Get-Item $directory).UnixFileMode | Should -Be ([IO.UnixFileMode]'UserRead, UserWrite, UserExecute')
        Test-Path $vm.VsockPath | Should -BeTrue
        $vm | Remove-PvhVm -Force
        Test-Path $directory | Should -BeFalse
    }

    It 'allocates distinct CIDs and refuses one another VM holds' {
        $first = New-PvhVm -Name 'vs1' -KernelPath $sleep -MemoryMB 16 -EnableVsock
        $second = New-PvhVm -Name 'vs2' -KernelPath $sleep -MemoryMB 16 -EnableVsock
        $first.VsockCid | Should -Not -Be $second.VsockCid
        { New-PvhVm -Name 'vs3' -KernelPath $sleep -MemoryMB 16 -VsockCid $first.VsockCid -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidVmConfig,PvhVm.Module.Commands.NewPvhVmCommand'
    }

    Context 'with the C virtio guest, which connects to host port 5001 and then echoes on its port 5000' {
        BeforeEach {
            $virtio = Get-TestGuestPath virtio
            $socketDirectory = New-Item -ItemType Directory (Join-Path $TestDrive "vs-$(Get-Random)")
            $socketPath = Join-Path $socketDirectory 'vsock'
            $listener = [Net.Sockets.Socket]::new('Unix', 'Stream', 'Unspecified')
            $listener.Bind([Net.Sockets.UnixDomainSocketEndPoint]::new("${socketPath}_5001"))
            $listener.Listen(1)
            $null = New-PvhVm -Name 'vs-echo' -KernelPath $virtio -MemoryMB 64 -VsockPath $socketPath | Start-PvhVm -ErrorAction Stop
            $fromGuest = Wait-SocketConnection -Listener $listener -Seconds 30
            $hello = [IO.StreamReader]::new([Net.Sockets.NetworkStream]::new($fromGuest, $true)).ReadLine()
            $null = Wait-PvhVm -Name 'vs-echo' -ConsolePattern '^vsock listening on port 5000$' -Timeout 30
        }

        AfterEach {
            $fromGuest.Dispose()
            $listener.Dispose()
        }

        It 'Invoke-PvhVsock sends the input lines and returns the guest''s reply lines' {
            $hello | Should -BeExactly 'hello from the guest'
            $reply = 'ping', 'second line' | Invoke-PvhVsock -Name 'vs-echo' -Port 5000
            $reply | Should -Be @('ping', 'second line')
            Wait-PvhVm -Name 'vs-echo' -Timeout 30
            (Get-PvhConsole -Name 'vs-echo' -Pattern 'echoed').Text | Should -BeExactly 'vsock echoed 17 bytes on port 5000'
        }

        It 'Connect-PvhVsock returns a stream for a conversation' {
            $stream = Connect-PvhVsock -Name 'vs-echo' -Port 5000
            $stream | Should -BeOfType ([Net.Sockets.NetworkStream])
            $writer = [IO.StreamWriter]::new($stream); $writer.AutoFlush = $true
            $reader = [IO.StreamReader]::new($stream)
            $writer.WriteLine('one'); $reader.ReadLine() | Should -BeExactly 'one'
            $writer.WriteLine('two'); $reader.ReadLine() | Should -BeExactly 'two'
            $stream.Dispose()
            Wait-PvhVm -Name 'vs-echo' -Timeout 30
            (Get-PvhVm -Name 'vs-echo').ExitReason | Should -Be 'GuestReset'
        }
    }

    It 'reports VsockNotEnabled, VsockNotRunning and VsockConnectionRefused' {
        $null = New-PvhVm -Name 'vs-none' -KernelPath $sleep -MemoryMB 16
        { 'ping' | Invoke-PvhVsock -Name 'vs-none' -Port 5000 -ErrorAction Stop } |
            Should -Throw -ErrorId 'VsockNotEnabled,PvhVm.Module.Commands.InvokePvhVsockCommand'
        $null = New-PvhVm -Name 'vs-idle' -KernelPath $sleep -MemoryMB 16 -EnableVsock
        { Connect-PvhVsock -Name 'vs-idle' -Port 5000 -ErrorAction Stop } |
            Should -Throw -ErrorId 'VsockNotRunning,PvhVm.Module.Commands.ConnectPvhVsockCommand'
        # A guest without a vsock driver: the device ends the host's connection at once.
        Start-PvhVm -Name 'vs-idle'
        { 'ping' | Invoke-PvhVsock -Name 'vs-idle' -Port 5000 -ErrorAction Stop } |
            Should -Throw -ErrorId 'VsockConnectionRefused,PvhVm.Module.Commands.InvokePvhVsockCommand'
        { Invoke-PvhVsock -Name 'absent' -Port 1 -ErrorAction Stop } |
            Should -Throw -ErrorId 'VmNotFound,PvhVm.Module.Commands.InvokePvhVsockCommand'
    }
}
