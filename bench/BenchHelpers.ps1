# What the bench scripts share, dot-sourced by each of them: running a tool (native or the PvhVm.Bench sub-commands),
# medians and stats of timings, and the Markdown cells of the reports.

# Runs a native command and returns its output; a non-zero exit is an error. Always an array: splatting a lone string
# would pass its characters.
function Invoke-Checked {
    $command = $args[0]
    $arguments = @($args | Select-Object -Skip 1)
    $output = & $command @arguments
    if ($LASTEXITCODE -ne 0) { throw "'$command $($arguments -join ' ')' failed with exit code $LASTEXITCODE." }
    $output
}

# Runs a sub-command of the bench tool (the PvhVm.Bench.dll at the first argument); returns its JSON lines as objects.
function Invoke-BenchTool { Invoke-Checked dotnet @args | ForEach-Object { $_ | ConvertFrom-Json } }

# The median of the values; null when there are none.
function Get-Median([double[]] $values) {
    $sorted = @($values | Sort-Object)
    if (-not $sorted) { return $null }
    $n = $sorted.Count
    if ($n % 2) { $sorted[($n - 1) / 2] } else { ($sorted[$n / 2 - 1] + $sorted[$n / 2]) / 2 }
}

# n, median, min, p90 and max of the values, as results.json holds them.
function Get-Stats([double[]] $values) {
    if (-not $values) { return [ordered]@{ n = 0 } }
    $sorted = @($values | Sort-Object)
    $n = $sorted.Count
    [ordered]@{ n = $n; median = [math]::Round((Get-Median $sorted), 3); min = [math]::Round($sorted[0], 3)
        p90 = [math]::Round($sorted[[math]::Min($n - 1, [int][math]::Floor($n * 0.9))], 3); max = [math]::Round($sorted[-1], 3) }
}

# Markdown cells of the reports.
function Row { '| ' + ($args -join ' | ') + ' |' }
function Ratio([double] $a, [double] $b) { '{0:N2}x' -f ($a / $b) }
function Goal([bool] $met) { if ($met) { 'met' } else { '**not met**' } }
