
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'aws-runas' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'aws-runas'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'aws-runas' {
            aws-runas __profiles 2>$null | ForEach-Object { $text = if ($_ -match '[^\w./:@+=,-]') { "'" + ($_ -replace "'", "''") + "'" } else { $_ }; [CompletionResult]::new($text, $_, [CompletionResultType]::ParameterValue, 'profile') }
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'Duration of the session token credentials (default 12h)')
            [CompletionResult]::new('--duration', '--duration', [CompletionResultType]::ParameterName, 'Duration of the session token credentials (default 12h)')
            [CompletionResult]::new('-a', '-a', [CompletionResultType]::ParameterName, 'Duration of the assume-role credentials (default 1h)')
            [CompletionResult]::new('--role-duration', '--role-duration', [CompletionResultType]::ParameterName, 'Duration of the assume-role credentials (default 1h)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'MFA token code')
            [CompletionResult]::new('--otp', '--otp', [CompletionResultType]::ParameterName, 'MFA token code')
            [CompletionResult]::new('-M', '-M ', [CompletionResultType]::ParameterName, 'Serial number (or ARN) of the MFA device')
            [CompletionResult]::new('--mfa-serial', '--mfa-serial', [CompletionResultType]::ParameterName, 'Serial number (or ARN) of the MFA device')
            [CompletionResult]::new('-X', '-X ', [CompletionResultType]::ParameterName, 'External ID to use with AssumeRole')
            [CompletionResult]::new('--external-id', '--external-id', [CompletionResultType]::ParameterName, 'External ID to use with AssumeRole')
            [CompletionResult]::new('-O', '-O ', [CompletionResultType]::ParameterName, 'Credential output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Credential output format')
            [CompletionResult]::new('-S', '-S ', [CompletionResultType]::ParameterName, 'URL of the SAML authentication endpoint')
            [CompletionResult]::new('--saml-url', '--saml-url', [CompletionResultType]::ParameterName, 'URL of the SAML authentication endpoint')
            [CompletionResult]::new('-W', '-W ', [CompletionResultType]::ParameterName, 'URL of the OpenID provider (issuer) for web identity sign-in')
            [CompletionResult]::new('--web-url', '--web-url', [CompletionResultType]::ParameterName, 'URL of the OpenID provider (issuer) for web identity sign-in')
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Client id registered at the OpenID provider')
            [CompletionResult]::new('--web-client', '--web-client', [CompletionResultType]::ParameterName, 'Client id registered at the OpenID provider')
            [CompletionResult]::new('-T', '-T ', [CompletionResultType]::ParameterName, 'Redirect URI registered for the OpenID client')
            [CompletionResult]::new('--web-redirect', '--web-redirect', [CompletionResultType]::ParameterName, 'Redirect URI registered for the OpenID client')
            [CompletionResult]::new('-U', '-U ', [CompletionResultType]::ParameterName, 'Username for SAML or web identity sign-in [env: RUNAS_USERNAME, SAML_USERNAME, WEB_USERNAME]')
            [CompletionResult]::new('--username', '--username', [CompletionResultType]::ParameterName, 'Username for SAML or web identity sign-in [env: RUNAS_USERNAME, SAML_USERNAME, WEB_USERNAME]')
            [CompletionResult]::new('-P', '-P ', [CompletionResultType]::ParameterName, 'Password for SAML or web identity sign-in [env: RUNAS_PASSWORD, SAML_PASSWORD, WEB_PASSWORD]')
            [CompletionResult]::new('--password', '--password', [CompletionResultType]::ParameterName, 'Password for SAML or web identity sign-in [env: RUNAS_PASSWORD, SAML_PASSWORD, WEB_PASSWORD]')
            [CompletionResult]::new('-R', '-R ', [CompletionResultType]::ParameterName, 'Identity provider client: auto, form (keycloak, simplesamlphp, lemonldap), okta, onelogin, forgerock, azuread, browser (SAML only) [env: RUNAS_PROVIDER, SAML_PROVIDER, WEB_PROVIDER]')
            [CompletionResult]::new('--provider', '--provider', [CompletionResultType]::ParameterName, 'Identity provider client: auto, form (keycloak, simplesamlphp, lemonldap), okta, onelogin, forgerock, azuread, browser (SAML only) [env: RUNAS_PROVIDER, SAML_PROVIDER, WEB_PROVIDER]')
            [CompletionResult]::new('-J', '-J ', [CompletionResultType]::ParameterName, 'ARN of the ''jump role'' to assume with SAML or the web identity token before the profile''s role')
            [CompletionResult]::new('--jump-role', '--jump-role', [CompletionResultType]::ParameterName, 'ARN of the ''jump role'' to assume with SAML or the web identity token before the profile''s role')
            [CompletionResult]::new('-E', '-E ', [CompletionResultType]::ParameterName, 'Pass credentials to the command as environment variables, instead of a local endpoint')
            [CompletionResult]::new('--env', '--env', [CompletionResultType]::ParameterName, 'Pass credentials to the command as environment variables, instead of a local endpoint')
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'Use session token credentials instead of role credentials')
            [CompletionResult]::new('--session', '--session', [CompletionResultType]::ParameterName, 'Use session token credentials instead of role credentials')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Force a refresh of the cached credentials')
            [CompletionResult]::new('--refresh', '--refresh', [CompletionResultType]::ParameterName, 'Force a refresh of the cached credentials')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'Show the credentials'' expiration time')
            [CompletionResult]::new('--expiration', '--expiration', [CompletionResultType]::ParameterName, 'Show the credentials'' expiration time')
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'Print the AWS identity of the profile''s credentials')
            [CompletionResult]::new('--whoami', '--whoami', [CompletionResultType]::ParameterName, 'Print the AWS identity of the profile''s credentials')
            [CompletionResult]::new('-l', '-l', [CompletionResultType]::ParameterName, 'List the role ARNs you are able to assume')
            [CompletionResult]::new('--list-roles', '--list-roles', [CompletionResultType]::ParameterName, 'List the role ARNs you are able to assume')
            [CompletionResult]::new('-m', '-m', [CompletionResultType]::ParameterName, 'List the MFA devices of your IAM user')
            [CompletionResult]::new('--list-mfa', '--list-mfa', [CompletionResultType]::ParameterName, 'List the MFA devices of your IAM user')
            [CompletionResult]::new('-D', '-D ', [CompletionResultType]::ParameterName, 'Run diagnostics on the profile''s configuration and environment')
            [CompletionResult]::new('--diagnose', '--diagnose', [CompletionResultType]::ParameterName, 'Run diagnostics on the profile''s configuration and environment')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Also write the credentials to a [PROFILE-awsrunas] section of the credentials file')
            [CompletionResult]::new('--write-credentials', '--write-credentials', [CompletionResultType]::ParameterName, 'Also write the credentials to a [PROFILE-awsrunas] section of the credentials file')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'Check whether a newer version is available')
            [CompletionResult]::new('--update', '--update', [CompletionResultType]::ParameterName, 'Check whether a newer version is available')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log what happens to stderr (secrets redacted); twice for AWS SDK tracing [env: RUNAS_VERBOSE]')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log what happens to stderr (secrets redacted); twice for AWS SDK tracing [env: RUNAS_VERBOSE]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'Show the IAM roles you may assume, or your MFA devices')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'Show the IAM roles you may assume, or your MFA devices')
            [CompletionResult]::new('diagnose', 'diagnose', [CompletionResultType]::ParameterValue, 'Check a profile''s configuration and environment, and say what to fix')
            [CompletionResult]::new('diag', 'diag', [CompletionResultType]::ParameterValue, 'Check a profile''s configuration and environment, and say what to fix')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Serve credentials from a local endpoint: ECS-container or EC2-metadata style')
            [CompletionResult]::new('srv', 'srv', [CompletionResultType]::ParameterValue, 'Serve credentials from a local endpoint: ECS-container or EC2-metadata style')
            [CompletionResult]::new('ssm', 'ssm', [CompletionResultType]::ParameterValue, 'Shortcuts for SSM sessions: shell, port forwarding, ssh')
            [CompletionResult]::new('console', 'console', [CompletionResultType]::ParameterValue, 'Sign in to the AWS console in the browser with a profile''s credentials')
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Print the shell integration to load from your shell''s rc file')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a completion script (profile names included)')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Write the man pages into a directory')
            [CompletionResult]::new('password', 'password', [CompletionResultType]::ParameterValue, 'Set or update the stored password for an external identity provider (in the OS keyring)')
            [CompletionResult]::new('passwd', 'passwd', [CompletionResultType]::ParameterValue, 'Set or update the stored password for an external identity provider (in the OS keyring)')
            [CompletionResult]::new('pw', 'pw', [CompletionResultType]::ParameterValue, 'Set or update the stored password for an external identity provider (in the OS keyring)')
            [CompletionResult]::new('sso', 'sso', [CompletionResultType]::ParameterValue, 'Sign in to IAM Identity Center (the token is shared with the AWS CLI v2 and the SDKs)')
            [CompletionResult]::new('keys', 'keys', [CompletionResultType]::ParameterValue, 'Keep a profile''s access keys in the OS keyring instead of the credentials file')
            [CompletionResult]::new('pick', 'pick', [CompletionResultType]::ParameterValue, 'Choose a profile from a fuzzy list on the terminal and print its name')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'aws-runas;list' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('roles', 'roles', [CompletionResultType]::ParameterValue, 'Role ARNs your IAM user may assume (its and its groups'' policies); -v adds profiles to paste')
            [CompletionResult]::new('mfa', 'mfa', [CompletionResultType]::ParameterValue, 'The MFA devices of your IAM user')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'aws-runas;ls' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('roles', 'roles', [CompletionResultType]::ParameterValue, 'Role ARNs your IAM user may assume (its and its groups'' policies); -v adds profiles to paste')
            [CompletionResult]::new('mfa', 'mfa', [CompletionResultType]::ParameterValue, 'The MFA devices of your IAM user')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'aws-runas;list;roles' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'aws-runas;ls;roles' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'aws-runas;list;mfa' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'aws-runas;ls;mfa' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'aws-runas;list;help' {
            [CompletionResult]::new('roles', 'roles', [CompletionResultType]::ParameterValue, 'Role ARNs your IAM user may assume (its and its groups'' policies); -v adds profiles to paste')
            [CompletionResult]::new('mfa', 'mfa', [CompletionResultType]::ParameterValue, 'The MFA devices of your IAM user')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'aws-runas;list;help;roles' {
            break
        }
        'aws-runas;list;help;mfa' {
            break
        }
        'aws-runas;list;help;help' {
            break
        }
        'aws-runas;ls;help' {
            [CompletionResult]::new('roles', 'roles', [CompletionResultType]::ParameterValue, 'Role ARNs your IAM user may assume (its and its groups'' policies); -v adds profiles to paste')
            [CompletionResult]::new('mfa', 'mfa', [CompletionResultType]::ParameterValue, 'The MFA devices of your IAM user')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'aws-runas;ls;help;roles' {
            break
        }
        'aws-runas;ls;help;mfa' {
            break
        }
        'aws-runas;ls;help;help' {
            break
        }
        'aws-runas;diagnose' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'aws-runas;diag' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'aws-runas;serve' {
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Port to listen on (default: a free one; 80 with --metadata-ip)')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'Port to listen on (default: a free one; 80 with --metadata-ip)')
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'Ask for MFA codes on this terminal instead of on the profile page')
            [CompletionResult]::new('--headless', '--headless', [CompletionResultType]::ParameterName, 'Ask for MFA codes on this terminal instead of on the profile page')
            [CompletionResult]::new('--imdsv1', '--imdsv1', [CompletionResultType]::ParameterName, 'ec2: also answer requests without an IMDSv2 token')
            [CompletionResult]::new('--metadata-ip', '--metadata-ip', [CompletionResultType]::ParameterName, 'ec2: listen on 169.254.169.254, as the real service (the address must first be added to an interface, and port 80 needs privileges)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'aws-runas;srv' {
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Port to listen on (default: a free one; 80 with --metadata-ip)')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'Port to listen on (default: a free one; 80 with --metadata-ip)')
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'Ask for MFA codes on this terminal instead of on the profile page')
            [CompletionResult]::new('--headless', '--headless', [CompletionResultType]::ParameterName, 'Ask for MFA codes on this terminal instead of on the profile page')
            [CompletionResult]::new('--imdsv1', '--imdsv1', [CompletionResultType]::ParameterName, 'ec2: also answer requests without an IMDSv2 token')
            [CompletionResult]::new('--metadata-ip', '--metadata-ip', [CompletionResultType]::ParameterName, 'ec2: listen on 169.254.169.254, as the real service (the address must first be added to an interface, and port 80 needs privileges)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'aws-runas;ssm' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('shell', 'shell', [CompletionResultType]::ParameterValue, 'Start an SSM shell session on TARGET (an instance id, TAG_KEY:VALUE, an instance''s IP address or DNS name, or a DNS name whose TXT record holds an instance id)')
            [CompletionResult]::new('sh', 'sh', [CompletionResultType]::ParameterValue, 'Start an SSM shell session on TARGET (an instance id, TAG_KEY:VALUE, an instance''s IP address or DNS name, or a DNS name whose TXT record holds an instance id)')
            [CompletionResult]::new('forward', 'forward', [CompletionResultType]::ParameterValue, 'Forward a local port to TARGET:PORT through an SSM session')
            [CompletionResult]::new('fwd', 'fwd', [CompletionResultType]::ParameterValue, 'Forward a local port to TARGET:PORT through an SSM session')
            [CompletionResult]::new('ssh', 'ssh', [CompletionResultType]::ParameterValue, 'SSH over an SSM session, for ssh''s config: ProxyCommand aws-runas ssm ssh PROFILE %r@%h:%p')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'aws-runas;ssm;shell' {
            [CompletionResult]::new('-P', '-P ', [CompletionResultType]::ParameterName, 'Use AWS''s session-manager-plugin instead of the built-in client')
            [CompletionResult]::new('--plugin', '--plugin', [CompletionResultType]::ParameterName, 'Use AWS''s session-manager-plugin instead of the built-in client')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'aws-runas;ssm;sh' {
            [CompletionResult]::new('-P', '-P ', [CompletionResultType]::ParameterName, 'Use AWS''s session-manager-plugin instead of the built-in client')
            [CompletionResult]::new('--plugin', '--plugin', [CompletionResultType]::ParameterName, 'Use AWS''s session-manager-plugin instead of the built-in client')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'aws-runas;ssm;forward' {
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'The local port to listen on (default: a free one)')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'The local port to listen on (default: a free one)')
            [CompletionResult]::new('-P', '-P ', [CompletionResultType]::ParameterName, 'Use AWS''s session-manager-plugin instead of the built-in client')
            [CompletionResult]::new('--plugin', '--plugin', [CompletionResultType]::ParameterName, 'Use AWS''s session-manager-plugin instead of the built-in client')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'aws-runas;ssm;fwd' {
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'The local port to listen on (default: a free one)')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'The local port to listen on (default: a free one)')
            [CompletionResult]::new('-P', '-P ', [CompletionResultType]::ParameterName, 'Use AWS''s session-manager-plugin instead of the built-in client')
            [CompletionResult]::new('--plugin', '--plugin', [CompletionResultType]::ParameterName, 'Use AWS''s session-manager-plugin instead of the built-in client')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'aws-runas;ssm;ssh' {
            [CompletionResult]::new('--ec2ic', '--ec2ic', [CompletionResultType]::ParameterName, 'Push your SSH public key to the instance with EC2 Instance Connect first (for USER, ec2-user by default)')
            [CompletionResult]::new('-P', '-P ', [CompletionResultType]::ParameterName, 'Use AWS''s session-manager-plugin instead of the built-in client')
            [CompletionResult]::new('--plugin', '--plugin', [CompletionResultType]::ParameterName, 'Use AWS''s session-manager-plugin instead of the built-in client')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'aws-runas;ssm;help' {
            [CompletionResult]::new('shell', 'shell', [CompletionResultType]::ParameterValue, 'Start an SSM shell session on TARGET (an instance id, TAG_KEY:VALUE, an instance''s IP address or DNS name, or a DNS name whose TXT record holds an instance id)')
            [CompletionResult]::new('forward', 'forward', [CompletionResultType]::ParameterValue, 'Forward a local port to TARGET:PORT through an SSM session')
            [CompletionResult]::new('ssh', 'ssh', [CompletionResultType]::ParameterValue, 'SSH over an SSM session, for ssh''s config: ProxyCommand aws-runas ssm ssh PROFILE %r@%h:%p')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'aws-runas;ssm;help;shell' {
            break
        }
        'aws-runas;ssm;help;forward' {
            break
        }
        'aws-runas;ssm;help;ssh' {
            break
        }
        'aws-runas;ssm;help;help' {
            break
        }
        'aws-runas;console' {
            [CompletionResult]::new('--service', '--service', [CompletionResultType]::ParameterName, 'Open this service''s console page (s3, ec2, iam...) instead of the home page')
            [CompletionResult]::new('--destination', '--destination', [CompletionResultType]::ParameterName, 'Open this console URL (https) after signing in')
            [CompletionResult]::new('--print', '--print', [CompletionResultType]::ParameterName, 'Print the sign-in URL instead of opening a browser')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'aws-runas;init' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'aws-runas;completions' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'aws-runas;man' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'aws-runas;password' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'aws-runas;passwd' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'aws-runas;pw' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'aws-runas;sso' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('login', 'login', [CompletionResultType]::ParameterValue, 'Sign in for an SSO profile''s session, whatever the token cache holds: in the browser (PKCE) where one can be opened, else with a code to confirm on any device')
            [CompletionResult]::new('logout', 'logout', [CompletionResultType]::ParameterValue, 'Remove the session''s cached token (signing out of aws-runas, the AWS CLI and the SDKs)')
            [CompletionResult]::new('profiles', 'profiles', [CompletionResultType]::ParameterValue, 'Write one profile per account and role the session is assigned into the config file, in a block of its own that each run replaces')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'aws-runas;sso;login' {
            [CompletionResult]::new('--sso-session', '--sso-session', [CompletionResultType]::ParameterName, 'Sign in to this [sso-session NAME] section, whatever profile uses it')
            [CompletionResult]::new('--use-device-code', '--use-device-code', [CompletionResultType]::ParameterName, 'Sign in with a code confirmed on any device, instead of a browser here')
            [CompletionResult]::new('--no-browser', '--no-browser', [CompletionResultType]::ParameterName, 'Print the sign-in URL without opening a browser')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'aws-runas;sso;logout' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'aws-runas;sso;profiles' {
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Profile name template: {account_name}, {account_id}, {role_name}, {session}')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'Region of the profiles (default: the session''s sso_region)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the change to the config file as a diff, writing nothing')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'aws-runas;sso;help' {
            [CompletionResult]::new('login', 'login', [CompletionResultType]::ParameterValue, 'Sign in for an SSO profile''s session, whatever the token cache holds: in the browser (PKCE) where one can be opened, else with a code to confirm on any device')
            [CompletionResult]::new('logout', 'logout', [CompletionResultType]::ParameterValue, 'Remove the session''s cached token (signing out of aws-runas, the AWS CLI and the SDKs)')
            [CompletionResult]::new('profiles', 'profiles', [CompletionResultType]::ParameterValue, 'Write one profile per account and role the session is assigned into the config file, in a block of its own that each run replaces')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'aws-runas;sso;help;login' {
            break
        }
        'aws-runas;sso;help;logout' {
            break
        }
        'aws-runas;sso;help;profiles' {
            break
        }
        'aws-runas;sso;help;help' {
            break
        }
        'aws-runas;keys' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Store a profile''s keys in the OS keyring: from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY when both are set, else asked for on the terminal')
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Move a profile''s keys from the credentials file into the OS keyring')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the profiles with keys in the OS keyring, and their key ids')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List the profiles with keys in the OS keyring, and their key ids')
            [CompletionResult]::new('remove', 'remove', [CompletionResultType]::ParameterValue, 'Remove a profile''s keys from the OS keyring')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Remove a profile''s keys from the OS keyring')
            [CompletionResult]::new('rotate', 'rotate', [CompletionResultType]::ParameterValue, 'Replace a profile''s access key (in the keyring or the credentials file) with a new one, then delete the old one')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'aws-runas;keys;add' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'aws-runas;keys;import' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'aws-runas;keys;list' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'aws-runas;keys;ls' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'aws-runas;keys;remove' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'aws-runas;keys;rm' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'aws-runas;keys;rotate' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'aws-runas;keys;help' {
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Store a profile''s keys in the OS keyring: from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY when both are set, else asked for on the terminal')
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Move a profile''s keys from the credentials file into the OS keyring')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the profiles with keys in the OS keyring, and their key ids')
            [CompletionResult]::new('remove', 'remove', [CompletionResultType]::ParameterValue, 'Remove a profile''s keys from the OS keyring')
            [CompletionResult]::new('rotate', 'rotate', [CompletionResultType]::ParameterValue, 'Replace a profile''s access key (in the keyring or the credentials file) with a new one, then delete the old one')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'aws-runas;keys;help;add' {
            break
        }
        'aws-runas;keys;help;import' {
            break
        }
        'aws-runas;keys;help;list' {
            break
        }
        'aws-runas;keys;help;remove' {
            break
        }
        'aws-runas;keys;help;rotate' {
            break
        }
        'aws-runas;keys;help;help' {
            break
        }
        'aws-runas;pick' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'aws-runas;help' {
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'Show the IAM roles you may assume, or your MFA devices')
            [CompletionResult]::new('diagnose', 'diagnose', [CompletionResultType]::ParameterValue, 'Check a profile''s configuration and environment, and say what to fix')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Serve credentials from a local endpoint: ECS-container or EC2-metadata style')
            [CompletionResult]::new('ssm', 'ssm', [CompletionResultType]::ParameterValue, 'Shortcuts for SSM sessions: shell, port forwarding, ssh')
            [CompletionResult]::new('console', 'console', [CompletionResultType]::ParameterValue, 'Sign in to the AWS console in the browser with a profile''s credentials')
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Print the shell integration to load from your shell''s rc file')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a completion script (profile names included)')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Write the man pages into a directory')
            [CompletionResult]::new('password', 'password', [CompletionResultType]::ParameterValue, 'Set or update the stored password for an external identity provider (in the OS keyring)')
            [CompletionResult]::new('sso', 'sso', [CompletionResultType]::ParameterValue, 'Sign in to IAM Identity Center (the token is shared with the AWS CLI v2 and the SDKs)')
            [CompletionResult]::new('keys', 'keys', [CompletionResultType]::ParameterValue, 'Keep a profile''s access keys in the OS keyring instead of the credentials file')
            [CompletionResult]::new('pick', 'pick', [CompletionResultType]::ParameterValue, 'Choose a profile from a fuzzy list on the terminal and print its name')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'aws-runas;help;list' {
            [CompletionResult]::new('roles', 'roles', [CompletionResultType]::ParameterValue, 'Role ARNs your IAM user may assume (its and its groups'' policies); -v adds profiles to paste')
            [CompletionResult]::new('mfa', 'mfa', [CompletionResultType]::ParameterValue, 'The MFA devices of your IAM user')
            break
        }
        'aws-runas;help;list;roles' {
            break
        }
        'aws-runas;help;list;mfa' {
            break
        }
        'aws-runas;help;diagnose' {
            break
        }
        'aws-runas;help;serve' {
            break
        }
        'aws-runas;help;ssm' {
            [CompletionResult]::new('shell', 'shell', [CompletionResultType]::ParameterValue, 'Start an SSM shell session on TARGET (an instance id, TAG_KEY:VALUE, an instance''s IP address or DNS name, or a DNS name whose TXT record holds an instance id)')
            [CompletionResult]::new('forward', 'forward', [CompletionResultType]::ParameterValue, 'Forward a local port to TARGET:PORT through an SSM session')
            [CompletionResult]::new('ssh', 'ssh', [CompletionResultType]::ParameterValue, 'SSH over an SSM session, for ssh''s config: ProxyCommand aws-runas ssm ssh PROFILE %r@%h:%p')
            break
        }
        'aws-runas;help;ssm;shell' {
            break
        }
        'aws-runas;help;ssm;forward' {
            break
        }
        'aws-runas;help;ssm;ssh' {
            break
        }
        'aws-runas;help;console' {
            break
        }
        'aws-runas;help;init' {
            break
        }
        'aws-runas;help;completions' {
            break
        }
        'aws-runas;help;man' {
            break
        }
        'aws-runas;help;password' {
            break
        }
        'aws-runas;help;sso' {
            [CompletionResult]::new('login', 'login', [CompletionResultType]::ParameterValue, 'Sign in for an SSO profile''s session, whatever the token cache holds: in the browser (PKCE) where one can be opened, else with a code to confirm on any device')
            [CompletionResult]::new('logout', 'logout', [CompletionResultType]::ParameterValue, 'Remove the session''s cached token (signing out of aws-runas, the AWS CLI and the SDKs)')
            [CompletionResult]::new('profiles', 'profiles', [CompletionResultType]::ParameterValue, 'Write one profile per account and role the session is assigned into the config file, in a block of its own that each run replaces')
            break
        }
        'aws-runas;help;sso;login' {
            break
        }
        'aws-runas;help;sso;logout' {
            break
        }
        'aws-runas;help;sso;profiles' {
            break
        }
        'aws-runas;help;keys' {
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Store a profile''s keys in the OS keyring: from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY when both are set, else asked for on the terminal')
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Move a profile''s keys from the credentials file into the OS keyring')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the profiles with keys in the OS keyring, and their key ids')
            [CompletionResult]::new('remove', 'remove', [CompletionResultType]::ParameterValue, 'Remove a profile''s keys from the OS keyring')
            [CompletionResult]::new('rotate', 'rotate', [CompletionResultType]::ParameterValue, 'Replace a profile''s access key (in the keyring or the credentials file) with a new one, then delete the old one')
            break
        }
        'aws-runas;help;keys;add' {
            break
        }
        'aws-runas;help;keys;import' {
            break
        }
        'aws-runas;help;keys;list' {
            break
        }
        'aws-runas;help;keys;remove' {
            break
        }
        'aws-runas;help;keys;rotate' {
            break
        }
        'aws-runas;help;pick' {
            break
        }
        'aws-runas;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
