# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_aws_runas_global_optspecs
    string join \n d/duration= a/role-duration= o/otp= M/mfa-serial= X/external-id= E/env O/output= s/session r/refresh e/expiration w/whoami l/list-roles m/list-mfa D/diagnose c/write-credentials u/update S/saml-url= W/web-url= C/web-client= T/web-redirect= U/username= P/password= R/provider= J/jump-role= v/verbose h/help V/version
end

function __fish_aws_runas_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_aws_runas_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_aws_runas_using_subcommand
    set -l cmd (__fish_aws_runas_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c aws-runas -n "__fish_aws_runas_needs_command" -s d -l duration -d 'Duration of the session token credentials (default 12h)' -r
complete -c aws-runas -n "__fish_aws_runas_needs_command" -s a -l role-duration -d 'Duration of the assume-role credentials (default 1h)' -r
complete -c aws-runas -n "__fish_aws_runas_needs_command" -s o -l otp -d 'MFA token code' -r
complete -c aws-runas -n "__fish_aws_runas_needs_command" -s M -l mfa-serial -d 'Serial number (or ARN) of the MFA device' -r
complete -c aws-runas -n "__fish_aws_runas_needs_command" -s X -l external-id -d 'External ID to use with AssumeRole' -r
complete -c aws-runas -n "__fish_aws_runas_needs_command" -s O -l output -d 'Credential output format' -r -f -a "env\t'POSIX `export` statements (bash, zsh, sh)'
json\t'credential_process JSON'
fish\t'fish `set -gx` statements'
powershell\t'PowerShell `$Env:` assignments'"
complete -c aws-runas -n "__fish_aws_runas_needs_command" -s S -l saml-url -d 'URL of the SAML authentication endpoint' -r
complete -c aws-runas -n "__fish_aws_runas_needs_command" -s W -l web-url -d 'URL of the OpenID provider (issuer) for web identity sign-in' -r
complete -c aws-runas -n "__fish_aws_runas_needs_command" -s C -l web-client -d 'Client id registered at the OpenID provider' -r
complete -c aws-runas -n "__fish_aws_runas_needs_command" -s T -l web-redirect -d 'Redirect URI registered for the OpenID client' -r
complete -c aws-runas -n "__fish_aws_runas_needs_command" -s U -l username -d 'Username for SAML or web identity sign-in [env: RUNAS_USERNAME, SAML_USERNAME, WEB_USERNAME]' -r
complete -c aws-runas -n "__fish_aws_runas_needs_command" -s P -l password -d 'Password for SAML or web identity sign-in [env: RUNAS_PASSWORD, SAML_PASSWORD, WEB_PASSWORD]' -r
complete -c aws-runas -n "__fish_aws_runas_needs_command" -s R -l provider -d 'Identity provider client: auto, form (keycloak, simplesamlphp, lemonldap), okta, onelogin, forgerock, azuread, browser (SAML only) [env: RUNAS_PROVIDER, SAML_PROVIDER, WEB_PROVIDER]' -r
complete -c aws-runas -n "__fish_aws_runas_needs_command" -s J -l jump-role -d 'ARN of the \'jump role\' to assume with SAML or the web identity token before the profile\'s role' -r
complete -c aws-runas -n "__fish_aws_runas_needs_command" -s E -l env -d 'Pass credentials to the command as environment variables, instead of a local endpoint'
complete -c aws-runas -n "__fish_aws_runas_needs_command" -s s -l session -d 'Use session token credentials instead of role credentials'
complete -c aws-runas -n "__fish_aws_runas_needs_command" -s r -l refresh -d 'Force a refresh of the cached credentials'
complete -c aws-runas -n "__fish_aws_runas_needs_command" -s e -l expiration -d 'Show the credentials\' expiration time'
complete -c aws-runas -n "__fish_aws_runas_needs_command" -s w -l whoami -d 'Print the AWS identity of the profile\'s credentials'
complete -c aws-runas -n "__fish_aws_runas_needs_command" -s l -l list-roles -d 'List the role ARNs you are able to assume'
complete -c aws-runas -n "__fish_aws_runas_needs_command" -s m -l list-mfa -d 'List the MFA devices of your IAM user'
complete -c aws-runas -n "__fish_aws_runas_needs_command" -s D -l diagnose -d 'Run diagnostics on the profile\'s configuration and environment'
complete -c aws-runas -n "__fish_aws_runas_needs_command" -s c -l write-credentials -d 'Also write the credentials to a [PROFILE-awsrunas] section of the credentials file'
complete -c aws-runas -n "__fish_aws_runas_needs_command" -s u -l update -d 'Check whether a newer version is available'
complete -c aws-runas -n "__fish_aws_runas_needs_command" -s v -l verbose -d 'Log what happens to stderr (secrets redacted); twice for AWS SDK tracing [env: RUNAS_VERBOSE]'
complete -c aws-runas -n "__fish_aws_runas_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c aws-runas -n "__fish_aws_runas_needs_command" -s V -l version -d 'Print version'
complete -c aws-runas -n "__fish_aws_runas_needs_command" -a "list" -d 'Show the IAM roles you may assume, or your MFA devices'
complete -c aws-runas -n "__fish_aws_runas_needs_command" -a "ls" -d 'Show the IAM roles you may assume, or your MFA devices'
complete -c aws-runas -n "__fish_aws_runas_needs_command" -a "diagnose" -d 'Check a profile\'s configuration and environment, and say what to fix'
complete -c aws-runas -n "__fish_aws_runas_needs_command" -a "diag" -d 'Check a profile\'s configuration and environment, and say what to fix'
complete -c aws-runas -n "__fish_aws_runas_needs_command" -a "serve" -d 'Serve credentials from a local endpoint: ECS-container or EC2-metadata style'
complete -c aws-runas -n "__fish_aws_runas_needs_command" -a "srv" -d 'Serve credentials from a local endpoint: ECS-container or EC2-metadata style'
complete -c aws-runas -n "__fish_aws_runas_needs_command" -a "ssm" -d 'Shortcuts for SSM sessions: shell, port forwarding, ssh'
complete -c aws-runas -n "__fish_aws_runas_needs_command" -a "console" -d 'Sign in to the AWS console in the browser with a profile\'s credentials'
complete -c aws-runas -n "__fish_aws_runas_needs_command" -a "init" -d 'Print the shell integration to load from your shell\'s rc file'
complete -c aws-runas -n "__fish_aws_runas_needs_command" -a "completions" -d 'Print a completion script (profile names included)'
complete -c aws-runas -n "__fish_aws_runas_needs_command" -a "man" -d 'Write the man pages into a directory'
complete -c aws-runas -n "__fish_aws_runas_needs_command" -a "password" -d 'Set or update the stored password for an external identity provider (in the OS keyring)'
complete -c aws-runas -n "__fish_aws_runas_needs_command" -a "passwd" -d 'Set or update the stored password for an external identity provider (in the OS keyring)'
complete -c aws-runas -n "__fish_aws_runas_needs_command" -a "pw" -d 'Set or update the stored password for an external identity provider (in the OS keyring)'
complete -c aws-runas -n "__fish_aws_runas_needs_command" -a "sso" -d 'Sign in to IAM Identity Center (the token is shared with the AWS CLI v2 and the SDKs)'
complete -c aws-runas -n "__fish_aws_runas_needs_command" -a "keys" -d 'Keep a profile\'s access keys in the OS keyring instead of the credentials file'
complete -c aws-runas -n "__fish_aws_runas_needs_command" -a "pick" -d 'Choose a profile from a fuzzy list on the terminal and print its name'
complete -c aws-runas -n "__fish_aws_runas_needs_command" -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand list; and not __fish_seen_subcommand_from roles mfa help" -s h -l help -d 'Print help'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand list; and not __fish_seen_subcommand_from roles mfa help" -f -a "roles" -d 'Role ARNs your IAM user may assume (its and its groups\' policies); -v adds profiles to paste'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand list; and not __fish_seen_subcommand_from roles mfa help" -f -a "mfa" -d 'The MFA devices of your IAM user'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand list; and not __fish_seen_subcommand_from roles mfa help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand list; and __fish_seen_subcommand_from roles" -s h -l help -d 'Print help'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand list; and __fish_seen_subcommand_from mfa" -s h -l help -d 'Print help'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand list; and __fish_seen_subcommand_from help" -f -a "roles" -d 'Role ARNs your IAM user may assume (its and its groups\' policies); -v adds profiles to paste'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand list; and __fish_seen_subcommand_from help" -f -a "mfa" -d 'The MFA devices of your IAM user'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand list; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand ls; and not __fish_seen_subcommand_from roles mfa help" -s h -l help -d 'Print help'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand ls; and not __fish_seen_subcommand_from roles mfa help" -f -a "roles" -d 'Role ARNs your IAM user may assume (its and its groups\' policies); -v adds profiles to paste'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand ls; and not __fish_seen_subcommand_from roles mfa help" -f -a "mfa" -d 'The MFA devices of your IAM user'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand ls; and not __fish_seen_subcommand_from roles mfa help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand ls; and __fish_seen_subcommand_from roles" -s h -l help -d 'Print help'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand ls; and __fish_seen_subcommand_from mfa" -s h -l help -d 'Print help'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand ls; and __fish_seen_subcommand_from help" -f -a "roles" -d 'Role ARNs your IAM user may assume (its and its groups\' policies); -v adds profiles to paste'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand ls; and __fish_seen_subcommand_from help" -f -a "mfa" -d 'The MFA devices of your IAM user'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand ls; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand diagnose" -s h -l help -d 'Print help'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand diag" -s h -l help -d 'Print help'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand serve" -s p -l port -d 'Port to listen on (default: a free one; 80 with --metadata-ip)' -r
complete -c aws-runas -n "__fish_aws_runas_using_subcommand serve" -s H -l headless -d 'Ask for MFA codes on this terminal instead of on the profile page'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand serve" -l imdsv1 -d 'ec2: also answer requests without an IMDSv2 token'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand serve" -l metadata-ip -d 'ec2: listen on 169.254.169.254, as the real service (the address must first be added to an interface, and port 80 needs privileges)'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand serve" -s h -l help -d 'Print help'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand srv" -s p -l port -d 'Port to listen on (default: a free one; 80 with --metadata-ip)' -r
complete -c aws-runas -n "__fish_aws_runas_using_subcommand srv" -s H -l headless -d 'Ask for MFA codes on this terminal instead of on the profile page'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand srv" -l imdsv1 -d 'ec2: also answer requests without an IMDSv2 token'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand srv" -l metadata-ip -d 'ec2: listen on 169.254.169.254, as the real service (the address must first be added to an interface, and port 80 needs privileges)'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand srv" -s h -l help -d 'Print help'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand ssm; and not __fish_seen_subcommand_from shell sh forward fwd ssh help" -s h -l help -d 'Print help'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand ssm; and not __fish_seen_subcommand_from shell sh forward fwd ssh help" -f -a "shell" -d 'Start an SSM shell session on TARGET (an instance id, TAG_KEY:VALUE, an instance\'s IP address or DNS name, or a DNS name whose TXT record holds an instance id)'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand ssm; and not __fish_seen_subcommand_from shell sh forward fwd ssh help" -f -a "sh" -d 'Start an SSM shell session on TARGET (an instance id, TAG_KEY:VALUE, an instance\'s IP address or DNS name, or a DNS name whose TXT record holds an instance id)'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand ssm; and not __fish_seen_subcommand_from shell sh forward fwd ssh help" -f -a "forward" -d 'Forward a local port to TARGET:PORT through an SSM session'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand ssm; and not __fish_seen_subcommand_from shell sh forward fwd ssh help" -f -a "fwd" -d 'Forward a local port to TARGET:PORT through an SSM session'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand ssm; and not __fish_seen_subcommand_from shell sh forward fwd ssh help" -f -a "ssh" -d 'SSH over an SSM session, for ssh\'s config: ProxyCommand aws-runas ssm ssh PROFILE %r@%h:%p'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand ssm; and not __fish_seen_subcommand_from shell sh forward fwd ssh help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand ssm; and __fish_seen_subcommand_from shell" -s P -l plugin -d 'Use AWS\'s session-manager-plugin instead of the built-in client'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand ssm; and __fish_seen_subcommand_from shell" -s h -l help -d 'Print help'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand ssm; and __fish_seen_subcommand_from sh" -s P -l plugin -d 'Use AWS\'s session-manager-plugin instead of the built-in client'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand ssm; and __fish_seen_subcommand_from sh" -s h -l help -d 'Print help'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand ssm; and __fish_seen_subcommand_from forward" -s p -l port -d 'The local port to listen on (default: a free one)' -r
complete -c aws-runas -n "__fish_aws_runas_using_subcommand ssm; and __fish_seen_subcommand_from forward" -s P -l plugin -d 'Use AWS\'s session-manager-plugin instead of the built-in client'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand ssm; and __fish_seen_subcommand_from forward" -s h -l help -d 'Print help'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand ssm; and __fish_seen_subcommand_from fwd" -s p -l port -d 'The local port to listen on (default: a free one)' -r
complete -c aws-runas -n "__fish_aws_runas_using_subcommand ssm; and __fish_seen_subcommand_from fwd" -s P -l plugin -d 'Use AWS\'s session-manager-plugin instead of the built-in client'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand ssm; and __fish_seen_subcommand_from fwd" -s h -l help -d 'Print help'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand ssm; and __fish_seen_subcommand_from ssh" -l ec2ic -d 'Push your SSH public key to the instance with EC2 Instance Connect first (for USER, ec2-user by default)'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand ssm; and __fish_seen_subcommand_from ssh" -s P -l plugin -d 'Use AWS\'s session-manager-plugin instead of the built-in client'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand ssm; and __fish_seen_subcommand_from ssh" -s h -l help -d 'Print help'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand ssm; and __fish_seen_subcommand_from help" -f -a "shell" -d 'Start an SSM shell session on TARGET (an instance id, TAG_KEY:VALUE, an instance\'s IP address or DNS name, or a DNS name whose TXT record holds an instance id)'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand ssm; and __fish_seen_subcommand_from help" -f -a "forward" -d 'Forward a local port to TARGET:PORT through an SSM session'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand ssm; and __fish_seen_subcommand_from help" -f -a "ssh" -d 'SSH over an SSM session, for ssh\'s config: ProxyCommand aws-runas ssm ssh PROFILE %r@%h:%p'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand ssm; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand console" -l service -d 'Open this service\'s console page (s3, ec2, iam...) instead of the home page' -r
complete -c aws-runas -n "__fish_aws_runas_using_subcommand console" -l destination -d 'Open this console URL (https) after signing in' -r
complete -c aws-runas -n "__fish_aws_runas_using_subcommand console" -l print -d 'Print the sign-in URL instead of opening a browser'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand console" -s h -l help -d 'Print help'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand init" -s h -l help -d 'Print help'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand completions" -s h -l help -d 'Print help'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand man" -s h -l help -d 'Print help'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand password" -s h -l help -d 'Print help'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand passwd" -s h -l help -d 'Print help'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand pw" -s h -l help -d 'Print help'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand sso; and not __fish_seen_subcommand_from login logout profiles help" -s h -l help -d 'Print help'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand sso; and not __fish_seen_subcommand_from login logout profiles help" -f -a "login" -d 'Sign in for an SSO profile\'s session, whatever the token cache holds: in the browser (PKCE) where one can be opened, else with a code to confirm on any device'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand sso; and not __fish_seen_subcommand_from login logout profiles help" -f -a "logout" -d 'Remove the session\'s cached token (signing out of aws-runas, the AWS CLI and the SDKs)'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand sso; and not __fish_seen_subcommand_from login logout profiles help" -f -a "profiles" -d 'Write one profile per account and role the session is assigned into the config file, in a block of its own that each run replaces'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand sso; and not __fish_seen_subcommand_from login logout profiles help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand sso; and __fish_seen_subcommand_from login" -l sso-session -d 'Sign in to this [sso-session NAME] section, whatever profile uses it' -r
complete -c aws-runas -n "__fish_aws_runas_using_subcommand sso; and __fish_seen_subcommand_from login" -l use-device-code -d 'Sign in with a code confirmed on any device, instead of a browser here'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand sso; and __fish_seen_subcommand_from login" -l no-browser -d 'Print the sign-in URL without opening a browser'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand sso; and __fish_seen_subcommand_from login" -s h -l help -d 'Print help'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand sso; and __fish_seen_subcommand_from logout" -s h -l help -d 'Print help'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand sso; and __fish_seen_subcommand_from profiles" -l name -d 'Profile name template: {account_name}, {account_id}, {role_name}, {session}' -r
complete -c aws-runas -n "__fish_aws_runas_using_subcommand sso; and __fish_seen_subcommand_from profiles" -l region -d 'Region of the profiles (default: the session\'s sso_region)' -r
complete -c aws-runas -n "__fish_aws_runas_using_subcommand sso; and __fish_seen_subcommand_from profiles" -l dry-run -d 'Print the change to the config file as a diff, writing nothing'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand sso; and __fish_seen_subcommand_from profiles" -s h -l help -d 'Print help'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand sso; and __fish_seen_subcommand_from help" -f -a "login" -d 'Sign in for an SSO profile\'s session, whatever the token cache holds: in the browser (PKCE) where one can be opened, else with a code to confirm on any device'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand sso; and __fish_seen_subcommand_from help" -f -a "logout" -d 'Remove the session\'s cached token (signing out of aws-runas, the AWS CLI and the SDKs)'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand sso; and __fish_seen_subcommand_from help" -f -a "profiles" -d 'Write one profile per account and role the session is assigned into the config file, in a block of its own that each run replaces'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand sso; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand keys; and not __fish_seen_subcommand_from add import list ls remove rm rotate help" -s h -l help -d 'Print help'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand keys; and not __fish_seen_subcommand_from add import list ls remove rm rotate help" -f -a "add" -d 'Store a profile\'s keys in the OS keyring: from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY when both are set, else asked for on the terminal'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand keys; and not __fish_seen_subcommand_from add import list ls remove rm rotate help" -f -a "import" -d 'Move a profile\'s keys from the credentials file into the OS keyring'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand keys; and not __fish_seen_subcommand_from add import list ls remove rm rotate help" -f -a "list" -d 'List the profiles with keys in the OS keyring, and their key ids'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand keys; and not __fish_seen_subcommand_from add import list ls remove rm rotate help" -f -a "ls" -d 'List the profiles with keys in the OS keyring, and their key ids'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand keys; and not __fish_seen_subcommand_from add import list ls remove rm rotate help" -f -a "remove" -d 'Remove a profile\'s keys from the OS keyring'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand keys; and not __fish_seen_subcommand_from add import list ls remove rm rotate help" -f -a "rm" -d 'Remove a profile\'s keys from the OS keyring'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand keys; and not __fish_seen_subcommand_from add import list ls remove rm rotate help" -f -a "rotate" -d 'Replace a profile\'s access key (in the keyring or the credentials file) with a new one, then delete the old one'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand keys; and not __fish_seen_subcommand_from add import list ls remove rm rotate help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand keys; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand keys; and __fish_seen_subcommand_from import" -s h -l help -d 'Print help'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand keys; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand keys; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand keys; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand keys; and __fish_seen_subcommand_from rm" -s h -l help -d 'Print help'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand keys; and __fish_seen_subcommand_from rotate" -s h -l help -d 'Print help'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "add" -d 'Store a profile\'s keys in the OS keyring: from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY when both are set, else asked for on the terminal'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "import" -d 'Move a profile\'s keys from the credentials file into the OS keyring'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the profiles with keys in the OS keyring, and their key ids'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "remove" -d 'Remove a profile\'s keys from the OS keyring'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "rotate" -d 'Replace a profile\'s access key (in the keyring or the credentials file) with a new one, then delete the old one'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand pick" -s h -l help -d 'Print help'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand help; and not __fish_seen_subcommand_from list diagnose serve ssm console init completions man password sso keys pick help" -f -a "list" -d 'Show the IAM roles you may assume, or your MFA devices'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand help; and not __fish_seen_subcommand_from list diagnose serve ssm console init completions man password sso keys pick help" -f -a "diagnose" -d 'Check a profile\'s configuration and environment, and say what to fix'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand help; and not __fish_seen_subcommand_from list diagnose serve ssm console init completions man password sso keys pick help" -f -a "serve" -d 'Serve credentials from a local endpoint: ECS-container or EC2-metadata style'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand help; and not __fish_seen_subcommand_from list diagnose serve ssm console init completions man password sso keys pick help" -f -a "ssm" -d 'Shortcuts for SSM sessions: shell, port forwarding, ssh'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand help; and not __fish_seen_subcommand_from list diagnose serve ssm console init completions man password sso keys pick help" -f -a "console" -d 'Sign in to the AWS console in the browser with a profile\'s credentials'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand help; and not __fish_seen_subcommand_from list diagnose serve ssm console init completions man password sso keys pick help" -f -a "init" -d 'Print the shell integration to load from your shell\'s rc file'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand help; and not __fish_seen_subcommand_from list diagnose serve ssm console init completions man password sso keys pick help" -f -a "completions" -d 'Print a completion script (profile names included)'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand help; and not __fish_seen_subcommand_from list diagnose serve ssm console init completions man password sso keys pick help" -f -a "man" -d 'Write the man pages into a directory'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand help; and not __fish_seen_subcommand_from list diagnose serve ssm console init completions man password sso keys pick help" -f -a "password" -d 'Set or update the stored password for an external identity provider (in the OS keyring)'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand help; and not __fish_seen_subcommand_from list diagnose serve ssm console init completions man password sso keys pick help" -f -a "sso" -d 'Sign in to IAM Identity Center (the token is shared with the AWS CLI v2 and the SDKs)'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand help; and not __fish_seen_subcommand_from list diagnose serve ssm console init completions man password sso keys pick help" -f -a "keys" -d 'Keep a profile\'s access keys in the OS keyring instead of the credentials file'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand help; and not __fish_seen_subcommand_from list diagnose serve ssm console init completions man password sso keys pick help" -f -a "pick" -d 'Choose a profile from a fuzzy list on the terminal and print its name'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand help; and not __fish_seen_subcommand_from list diagnose serve ssm console init completions man password sso keys pick help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand help; and __fish_seen_subcommand_from list" -f -a "roles" -d 'Role ARNs your IAM user may assume (its and its groups\' policies); -v adds profiles to paste'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand help; and __fish_seen_subcommand_from list" -f -a "mfa" -d 'The MFA devices of your IAM user'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand help; and __fish_seen_subcommand_from ssm" -f -a "shell" -d 'Start an SSM shell session on TARGET (an instance id, TAG_KEY:VALUE, an instance\'s IP address or DNS name, or a DNS name whose TXT record holds an instance id)'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand help; and __fish_seen_subcommand_from ssm" -f -a "forward" -d 'Forward a local port to TARGET:PORT through an SSM session'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand help; and __fish_seen_subcommand_from ssm" -f -a "ssh" -d 'SSH over an SSM session, for ssh\'s config: ProxyCommand aws-runas ssm ssh PROFILE %r@%h:%p'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand help; and __fish_seen_subcommand_from sso" -f -a "login" -d 'Sign in for an SSO profile\'s session, whatever the token cache holds: in the browser (PKCE) where one can be opened, else with a code to confirm on any device'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand help; and __fish_seen_subcommand_from sso" -f -a "logout" -d 'Remove the session\'s cached token (signing out of aws-runas, the AWS CLI and the SDKs)'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand help; and __fish_seen_subcommand_from sso" -f -a "profiles" -d 'Write one profile per account and role the session is assigned into the config file, in a block of its own that each run replaces'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand help; and __fish_seen_subcommand_from keys" -f -a "add" -d 'Store a profile\'s keys in the OS keyring: from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY when both are set, else asked for on the terminal'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand help; and __fish_seen_subcommand_from keys" -f -a "import" -d 'Move a profile\'s keys from the credentials file into the OS keyring'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand help; and __fish_seen_subcommand_from keys" -f -a "list" -d 'List the profiles with keys in the OS keyring, and their key ids'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand help; and __fish_seen_subcommand_from keys" -f -a "remove" -d 'Remove a profile\'s keys from the OS keyring'
complete -c aws-runas -n "__fish_aws_runas_using_subcommand help; and __fish_seen_subcommand_from keys" -f -a "rotate" -d 'Replace a profile\'s access key (in the keyring or the credentials file) with a new one, then delete the old one'
complete -c aws-runas -n __fish_aws_runas_needs_command -f -a '(aws-runas __profiles 2>/dev/null)' -d profile
