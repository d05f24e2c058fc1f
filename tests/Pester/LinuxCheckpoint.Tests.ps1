BeforeDiscovery { Import-Module (Join-Path $PSScriptRoot 'PvhVm.TestHelpers.psm1') -Force }

# The test kernel checkpointed once its /init's command reader says ready (tests/kernel/init.c, pvhtest.shell=1) and
# restored twice from the pipeline, each clone on a copy of the disk as the checkpoint saw it. One Linux boot per hosting
# (30-70 s on an emulating host); the restores take milliseconds.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'PvhVm.TestHelpers.psm1') -Force
    Import-BuiltPvhVm
}

Describe 'Restored Linux shells (<Hosting>)' -ForEach (Get-PvhVmHostingCase) {
    BeforeAll {
        Use-PvhVmHosting $Hosting
        $kernel = Get-TestKernel
        $vmlinux, $initramfs = $kernel.Vmlinux, $kernel.Initramfs
        $commandLine = "$($kernel.CommandLine) pvhtest.action=poweroff pvhtest.shell=1"

        # init.c's disk-write puts its text and a newline at 5 MiB of /dev/vda: what each image holds there.
        function Get-ShellDiskLine([string] $Image) {
            $file = [IO.File]::OpenRead($Image)
            try {
                $page = [byte[]]::new(4096)
                $file.Position = 5MB
                $file.ReadExactly($page)
                ([Text.Encoding]::ASCII.GetString($page) -split "[`n`0]")[0]
            }
            finally { $file.Dispose() }
        }

        function Send-ShellCommand([string] $Name, [string] $Command, [string] $Answer) {
            Send-PvhConsole -Name $Name -Text $Command -Line
            Wait-PvhVm -Name $Name -ConsolePattern $Answer -Timeout 120 -ErrorAction Stop
        }
    }

    AfterEach { Clear-PvhVm }

    It 'each clone answers its own command, and a disk write in one reaches neither the other nor the checkpointed image' {
        $base = (New-PvhDisk -Path (Join-Path $TestDrive 'base.img') -SizeMB 8).FullName
        $vm = New-PvhVm -Name 'linux' -KernelPath $vmlinux -InitrdPath $initramfs -CommandLine $commandLine -MemoryMB 128 -DiskPath $base |
            Start-PvhVm -PassThru
        $vm.Hosting | Should -Be $Hosting
        $vm | Wait-PvhVm -ConsolePattern '^pvhtest: ready$' -Timeout 300 -ErrorAction Stop
        Send-ShellCommand 'linux' 'disk-write before the checkpoint' '^pvhtest: disk_wrote=ok$'

        $folder = Join-Path $TestDrive 'linux'
        $checkpoint = $vm | Suspend-PvhVm -PassThru | Checkpoint-PvhVm -Path $folder
        # The clones' images are copies of the disk as the checkpoint saw it: made while the VM is paused.
        foreach ($n in 1, 2) { Copy-Item $base (Join-Path $TestDrive "linux-$n.img") }
        $vm | Stop-PvhVm
        $checkpoint.Devices | Should -Contain "virtio-blk vda $base"

        $clones = Restore-PvhVm -Path $folder -Clone -Count 2 -DiskPath (Join-Path $TestDrive '{0}.img')
        $clones.Name | Should -Be 'linux-1', 'linux-2'
        $clones.Hosting | Should -Be $Hosting, $Hosting
        foreach ($clone in $clones) {
            Send-ShellCommand $clone.Name "echo from $($clone.Name)" "^pvhtest: echo=from $($clone.Name)$"
        }
        foreach ($clone in $clones) {
            (Get-PvhConsole -Name $clone.Name -Pattern '^pvhtest: echo=').Text | Should -BeExactly "pvhtest: echo=from $($clone.Name)"
        }

        Send-ShellCommand 'linux-1' 'disk-write written by linux-1' '^pvhtest: disk_wrote=ok$'
        Send-ShellCommand 'linux-1' 'disk-read' '^pvhtest: disk_read=written by linux-1$'
        Send-ShellCommand 'linux-2' 'disk-read' '^pvhtest: disk_read=before the checkpoint$'
        (Get-PvhVm -Name 'linux-1', 'linux-2').State | Should -Be 'Running', 'Running'
        $clones | Stop-PvhVm
        # The guest's page cache could answer disk-read from memory: the images say what reached each disk.
        Get-ShellDiskLine (Join-Path $TestDrive 'linux-1.img') | Should -BeExactly 'written by linux-1'
        Get-ShellDiskLine (Join-Path $TestDrive 'linux-2.img') | Should -BeExactly 'before the checkpoint'
        Get-ShellDiskLine $base | Should -BeExactly 'before the checkpoint'
    }
}
