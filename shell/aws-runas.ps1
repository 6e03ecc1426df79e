# aws-runas shell integration for PowerShell. Load it from $PROFILE with:
#   Invoke-Expression (& aws-runas init powershell | Out-String)
#
# runas use PROFILE [flags]  set PROFILE's credentials in this session
# runas use                  what is in use, and until when
# runas off                  remove everything `runas use` set
# runas prompt               the prompt segment ("dev 42m")
# runas ARGS...              aws-runas ARGS...
#
# The existing prompt function is wrapped: before each prompt the credentials are kept fresh.
# While they are fresh that costs one comparison; once the refresh window is reached they are
# refreshed in the background through the shared cache and set at the next prompt. It never asks
# for an MFA code. Written to hold under Set-StrictMode -Version Latest.

$global:__runas_bin = 'aws-runas'
# Tells aws-runas diagnose, run from this shell, that the integration is loaded.
$env:AWSRUNAS_SHELL = 'powershell'

function global:__runas_now {
    [DateTimeOffset]::UtcNow.ToUnixTimeSeconds()
}

function global:__runas_var([string] $Name) {
    $v = Get-Variable -Name $Name -Scope Global -ErrorAction SilentlyContinue
    if ($null -ne $v) { $v.Value } else { $null }
}

function global:__runas_notice([string] $Message) {
    [Console]::Error.WriteLine("aws-runas: $Message")
}

function global:__runas_segment([long] $Now) {
    $expires = __runas_var '__RUNAS_EXPIRES'
    if (-not $env:AWSRUNAS_PROFILE -or $null -eq $expires) { return '' }
    $left = [long] $expires - $Now
    if ((__runas_var '__RUNAS_EXPIRED') -or $left -le 0) { return "$env:AWSRUNAS_PROFILE expired" }
    # Minutes rounded up, so "1m" shows until the very end.
    $minutes = [long] [math]::Floor(($left + 59) / 60)
    if ($minutes -lt 60) { return "$env:AWSRUNAS_PROFILE ${minutes}m" }
    $hours = [long] [math]::Floor($minutes / 60)
    if ($minutes % 60 -eq 0) { return "$env:AWSRUNAS_PROFILE ${hours}h" }
    return "$env:AWSRUNAS_PROFILE ${hours}h$($minutes % 60)m"
}

function global:__runas_expire {
    if (__runas_var '__RUNAS_EXPIRED') { return }
    foreach ($name in 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_SECURITY_TOKEN') {
        Remove-Item -Path "Env:$name" -ErrorAction SilentlyContinue
    }
    $global:__RUNAS_EXPIRED = 1
    __runas_notice "credentials of $env:AWSRUNAS_PROFILE expired and were removed; run: runas use $env:AWSRUNAS_PROFILE"
}

function global:__runas_due([long] $Now) {
    $state = __runas_var '__RUNAS_STATE'
    if ($state -and (Test-Path -LiteralPath $state) -and (Get-Item -LiteralPath $state).Length -gt 0) {
        $code = Get-Content -LiteralPath $state -Raw
        Set-Content -LiteralPath $state -Value $null -NoNewline
        Invoke-Expression $code
        return
    }
    if (-not (__runas_var '__RUNAS_EXPIRED') -and $Now -ge [long] (__runas_var '__RUNAS_EXPIRES')) {
        __runas_expire
    }
    $refreshAt = __runas_var '__RUNAS_REFRESH_AT'
    if ($null -ne $refreshAt -and $Now -ge [long] $refreshAt) {
        $pending = __runas_var '__RUNAS_PENDING'
        if ($null -eq $pending -or $Now - [long] $pending -gt 60) {
            $global:__RUNAS_PENDING = $Now
            $arguments = @('__export', 'powershell', '--refresh', $state, '--') + @(__runas_var '__RUNAS_ARGS')
            Start-Process -FilePath $global:__runas_bin -ArgumentList $arguments -WindowStyle Hidden -ErrorAction SilentlyContinue | Out-Null
        }
    }
}

function global:__runas_hook {
    if ($null -eq (__runas_var '__RUNAS_EXPIRES')) { return }
    $now = __runas_now
    $refreshAt = __runas_var '__RUNAS_REFRESH_AT'
    $expired = (-not (__runas_var '__RUNAS_EXPIRED')) -and $now -ge [long] (__runas_var '__RUNAS_EXPIRES')
    if ((__runas_var '__RUNAS_PENDING') -or ($null -ne $refreshAt -and $now -ge [long] $refreshAt) -or $expired) {
        __runas_due $now
    }
}

function global:__runas_off {
    foreach ($name in ([string] $env:AWSRUNAS_VARS).Split(' ', [StringSplitOptions]::RemoveEmptyEntries)) {
        Remove-Item -Path "Env:$name" -ErrorAction SilentlyContinue
    }
    Remove-Item -Path Env:AWSRUNAS_VARS -ErrorAction SilentlyContinue
    foreach ($name in '__RUNAS_EXPIRES', '__RUNAS_REFRESH_AT', '__RUNAS_ARGS', '__RUNAS_PENDING', '__RUNAS_EXPIRED') {
        Remove-Variable -Name $name -Scope Global -ErrorAction SilentlyContinue
    }
}

function global:runas {
    $verb = if ($args.Count -gt 0) { [string] $args[0] } else { '' }
    switch ($verb) {
        'use' {
            if ($args.Count -eq 1) {
                if (-not $env:AWSRUNAS_PROFILE) { 'no profile in use' }
                else { "$(__runas_segment (__runas_now)) (expires $env:AWS_CREDENTIAL_EXPIRATION)" }
                return
            }
            $env:__RUNAS_STATE = [string] (__runas_var '__RUNAS_STATE')
            $code = & $global:__runas_bin __export powershell -- @($args[1..($args.Count - 1)]) | Out-String
            $ok = $?
            Remove-Item -Path Env:__RUNAS_STATE -ErrorAction SilentlyContinue
            if ($ok -and $code) { Invoke-Expression $code }
        }
        'pick' {
            # Backed out (Esc): the shell stays as it was.
            $choice = & $global:__runas_bin pick
            if ($? -and $choice) { runas use ([string] $choice) }
        }
        'off' { __runas_off }
        'prompt' { __runas_segment (__runas_now) }
        default { & $global:__runas_bin @args }
    }
}

Register-ArgumentCompleter -CommandName runas -Native -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)
    $words = @($commandAst.CommandElements | ForEach-Object { $_.ToString() })
    if ($words.Count -le 2 -and -not ($words.Count -eq 2 -and $wordToComplete -eq '')) {
        $candidates = 'use', 'pick', 'off', 'prompt'
    } elseif ($words[1] -eq 'use' -and -not $wordToComplete.StartsWith('-')) {
        $candidates = & $global:__runas_bin __profiles 2>$null
    } else {
        $candidates = @()
    }
    $candidates | Where-Object { $_.StartsWith($wordToComplete) } | ForEach-Object {
        # A name with characters PowerShell would interpret is inserted single-quoted.
        $text = if ($_ -match '[^\w./:@+=,-]') { "'" + ($_ -replace "'", "''") + "'" } else { $_ }
        [System.Management.Automation.CompletionResult]::new($text, $_, 'ParameterValue', $_)
    }
}

# Wrap the prompt once: loading twice must not wrap the wrapper.
if (-not (Get-Variable -Name __runas_inner_prompt -Scope Global -ErrorAction SilentlyContinue)) {
    $global:__runas_inner_prompt = $function:prompt
    function global:prompt {
        $ok = $?
        __runas_hook
        if (-not $ok) { Write-Error '' -ErrorAction Ignore }
        & $global:__runas_inner_prompt
    }
}
