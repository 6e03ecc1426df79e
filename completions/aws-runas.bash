_aws__runas() {
    local i cur prev opts cmd
    COMPREPLY=()
    if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
        cur="$2"
    else
        cur="${COMP_WORDS[COMP_CWORD]}"
    fi
    prev="$3"
    cmd=""
    opts=""

    for i in "${COMP_WORDS[@]:0:COMP_CWORD}"
    do
        case "${cmd},${i}" in
            ",$1")
                cmd="aws__runas"
                ;;
            aws__runas,completions)
                cmd="aws__runas__subcmd__completions"
                ;;
            aws__runas,console)
                cmd="aws__runas__subcmd__console"
                ;;
            aws__runas,diag)
                cmd="aws__runas__subcmd__diagnose"
                ;;
            aws__runas,diagnose)
                cmd="aws__runas__subcmd__diagnose"
                ;;
            aws__runas,help)
                cmd="aws__runas__subcmd__help"
                ;;
            aws__runas,init)
                cmd="aws__runas__subcmd__init"
                ;;
            aws__runas,keys)
                cmd="aws__runas__subcmd__keys"
                ;;
            aws__runas,list)
                cmd="aws__runas__subcmd__list"
                ;;
            aws__runas,ls)
                cmd="aws__runas__subcmd__list"
                ;;
            aws__runas,man)
                cmd="aws__runas__subcmd__man"
                ;;
            aws__runas,passwd)
                cmd="aws__runas__subcmd__password"
                ;;
            aws__runas,password)
                cmd="aws__runas__subcmd__password"
                ;;
            aws__runas,pick)
                cmd="aws__runas__subcmd__pick"
                ;;
            aws__runas,pw)
                cmd="aws__runas__subcmd__password"
                ;;
            aws__runas,serve)
                cmd="aws__runas__subcmd__serve"
                ;;
            aws__runas,srv)
                cmd="aws__runas__subcmd__serve"
                ;;
            aws__runas,ssm)
                cmd="aws__runas__subcmd__ssm"
                ;;
            aws__runas,sso)
                cmd="aws__runas__subcmd__sso"
                ;;
            aws__runas__subcmd__help,completions)
                cmd="aws__runas__subcmd__help__subcmd__completions"
                ;;
            aws__runas__subcmd__help,console)
                cmd="aws__runas__subcmd__help__subcmd__console"
                ;;
            aws__runas__subcmd__help,diagnose)
                cmd="aws__runas__subcmd__help__subcmd__diagnose"
                ;;
            aws__runas__subcmd__help,help)
                cmd="aws__runas__subcmd__help__subcmd__help"
                ;;
            aws__runas__subcmd__help,init)
                cmd="aws__runas__subcmd__help__subcmd__init"
                ;;
            aws__runas__subcmd__help,keys)
                cmd="aws__runas__subcmd__help__subcmd__keys"
                ;;
            aws__runas__subcmd__help,list)
                cmd="aws__runas__subcmd__help__subcmd__list"
                ;;
            aws__runas__subcmd__help,man)
                cmd="aws__runas__subcmd__help__subcmd__man"
                ;;
            aws__runas__subcmd__help,password)
                cmd="aws__runas__subcmd__help__subcmd__password"
                ;;
            aws__runas__subcmd__help,pick)
                cmd="aws__runas__subcmd__help__subcmd__pick"
                ;;
            aws__runas__subcmd__help,serve)
                cmd="aws__runas__subcmd__help__subcmd__serve"
                ;;
            aws__runas__subcmd__help,ssm)
                cmd="aws__runas__subcmd__help__subcmd__ssm"
                ;;
            aws__runas__subcmd__help,sso)
                cmd="aws__runas__subcmd__help__subcmd__sso"
                ;;
            aws__runas__subcmd__help__subcmd__keys,add)
                cmd="aws__runas__subcmd__help__subcmd__keys__subcmd__add"
                ;;
            aws__runas__subcmd__help__subcmd__keys,import)
                cmd="aws__runas__subcmd__help__subcmd__keys__subcmd__import"
                ;;
            aws__runas__subcmd__help__subcmd__keys,list)
                cmd="aws__runas__subcmd__help__subcmd__keys__subcmd__list"
                ;;
            aws__runas__subcmd__help__subcmd__keys,remove)
                cmd="aws__runas__subcmd__help__subcmd__keys__subcmd__remove"
                ;;
            aws__runas__subcmd__help__subcmd__keys,rotate)
                cmd="aws__runas__subcmd__help__subcmd__keys__subcmd__rotate"
                ;;
            aws__runas__subcmd__help__subcmd__list,mfa)
                cmd="aws__runas__subcmd__help__subcmd__list__subcmd__mfa"
                ;;
            aws__runas__subcmd__help__subcmd__list,roles)
                cmd="aws__runas__subcmd__help__subcmd__list__subcmd__roles"
                ;;
            aws__runas__subcmd__help__subcmd__ssm,forward)
                cmd="aws__runas__subcmd__help__subcmd__ssm__subcmd__forward"
                ;;
            aws__runas__subcmd__help__subcmd__ssm,shell)
                cmd="aws__runas__subcmd__help__subcmd__ssm__subcmd__shell"
                ;;
            aws__runas__subcmd__help__subcmd__ssm,ssh)
                cmd="aws__runas__subcmd__help__subcmd__ssm__subcmd__ssh"
                ;;
            aws__runas__subcmd__help__subcmd__sso,login)
                cmd="aws__runas__subcmd__help__subcmd__sso__subcmd__login"
                ;;
            aws__runas__subcmd__help__subcmd__sso,logout)
                cmd="aws__runas__subcmd__help__subcmd__sso__subcmd__logout"
                ;;
            aws__runas__subcmd__help__subcmd__sso,profiles)
                cmd="aws__runas__subcmd__help__subcmd__sso__subcmd__profiles"
                ;;
            aws__runas__subcmd__keys,add)
                cmd="aws__runas__subcmd__keys__subcmd__add"
                ;;
            aws__runas__subcmd__keys,help)
                cmd="aws__runas__subcmd__keys__subcmd__help"
                ;;
            aws__runas__subcmd__keys,import)
                cmd="aws__runas__subcmd__keys__subcmd__import"
                ;;
            aws__runas__subcmd__keys,list)
                cmd="aws__runas__subcmd__keys__subcmd__list"
                ;;
            aws__runas__subcmd__keys,ls)
                cmd="aws__runas__subcmd__keys__subcmd__list"
                ;;
            aws__runas__subcmd__keys,remove)
                cmd="aws__runas__subcmd__keys__subcmd__remove"
                ;;
            aws__runas__subcmd__keys,rm)
                cmd="aws__runas__subcmd__keys__subcmd__remove"
                ;;
            aws__runas__subcmd__keys,rotate)
                cmd="aws__runas__subcmd__keys__subcmd__rotate"
                ;;
            aws__runas__subcmd__keys__subcmd__help,add)
                cmd="aws__runas__subcmd__keys__subcmd__help__subcmd__add"
                ;;
            aws__runas__subcmd__keys__subcmd__help,help)
                cmd="aws__runas__subcmd__keys__subcmd__help__subcmd__help"
                ;;
            aws__runas__subcmd__keys__subcmd__help,import)
                cmd="aws__runas__subcmd__keys__subcmd__help__subcmd__import"
                ;;
            aws__runas__subcmd__keys__subcmd__help,list)
                cmd="aws__runas__subcmd__keys__subcmd__help__subcmd__list"
                ;;
            aws__runas__subcmd__keys__subcmd__help,remove)
                cmd="aws__runas__subcmd__keys__subcmd__help__subcmd__remove"
                ;;
            aws__runas__subcmd__keys__subcmd__help,rotate)
                cmd="aws__runas__subcmd__keys__subcmd__help__subcmd__rotate"
                ;;
            aws__runas__subcmd__list,help)
                cmd="aws__runas__subcmd__list__subcmd__help"
                ;;
            aws__runas__subcmd__list,mfa)
                cmd="aws__runas__subcmd__list__subcmd__mfa"
                ;;
            aws__runas__subcmd__list,roles)
                cmd="aws__runas__subcmd__list__subcmd__roles"
                ;;
            aws__runas__subcmd__list__subcmd__help,help)
                cmd="aws__runas__subcmd__list__subcmd__help__subcmd__help"
                ;;
            aws__runas__subcmd__list__subcmd__help,mfa)
                cmd="aws__runas__subcmd__list__subcmd__help__subcmd__mfa"
                ;;
            aws__runas__subcmd__list__subcmd__help,roles)
                cmd="aws__runas__subcmd__list__subcmd__help__subcmd__roles"
                ;;
            aws__runas__subcmd__ssm,forward)
                cmd="aws__runas__subcmd__ssm__subcmd__forward"
                ;;
            aws__runas__subcmd__ssm,fwd)
                cmd="aws__runas__subcmd__ssm__subcmd__forward"
                ;;
            aws__runas__subcmd__ssm,help)
                cmd="aws__runas__subcmd__ssm__subcmd__help"
                ;;
            aws__runas__subcmd__ssm,sh)
                cmd="aws__runas__subcmd__ssm__subcmd__shell"
                ;;
            aws__runas__subcmd__ssm,shell)
                cmd="aws__runas__subcmd__ssm__subcmd__shell"
                ;;
            aws__runas__subcmd__ssm,ssh)
                cmd="aws__runas__subcmd__ssm__subcmd__ssh"
                ;;
            aws__runas__subcmd__ssm__subcmd__help,forward)
                cmd="aws__runas__subcmd__ssm__subcmd__help__subcmd__forward"
                ;;
            aws__runas__subcmd__ssm__subcmd__help,help)
                cmd="aws__runas__subcmd__ssm__subcmd__help__subcmd__help"
                ;;
            aws__runas__subcmd__ssm__subcmd__help,shell)
                cmd="aws__runas__subcmd__ssm__subcmd__help__subcmd__shell"
                ;;
            aws__runas__subcmd__ssm__subcmd__help,ssh)
                cmd="aws__runas__subcmd__ssm__subcmd__help__subcmd__ssh"
                ;;
            aws__runas__subcmd__sso,help)
                cmd="aws__runas__subcmd__sso__subcmd__help"
                ;;
            aws__runas__subcmd__sso,login)
                cmd="aws__runas__subcmd__sso__subcmd__login"
                ;;
            aws__runas__subcmd__sso,logout)
                cmd="aws__runas__subcmd__sso__subcmd__logout"
                ;;
            aws__runas__subcmd__sso,profiles)
                cmd="aws__runas__subcmd__sso__subcmd__profiles"
                ;;
            aws__runas__subcmd__sso__subcmd__help,help)
                cmd="aws__runas__subcmd__sso__subcmd__help__subcmd__help"
                ;;
            aws__runas__subcmd__sso__subcmd__help,login)
                cmd="aws__runas__subcmd__sso__subcmd__help__subcmd__login"
                ;;
            aws__runas__subcmd__sso__subcmd__help,logout)
                cmd="aws__runas__subcmd__sso__subcmd__help__subcmd__logout"
                ;;
            aws__runas__subcmd__sso__subcmd__help,profiles)
                cmd="aws__runas__subcmd__sso__subcmd__help__subcmd__profiles"
                ;;
            *)
                ;;
        esac
    done

    case "${cmd}" in
        aws__runas)
            opts="-d -a -o -M -X -E -O -s -r -e -w -l -m -D -c -u -S -W -C -T -U -P -R -J -v -h -V --duration --role-duration --otp --mfa-serial --external-id --env --output --session --refresh --expiration --whoami --list-roles --list-mfa --diagnose --write-credentials --update --saml-url --web-url --web-client --web-redirect --username --password --provider --jump-role --verbose --help --version list ls diagnose diag serve srv ssm console init completions man password passwd pw sso keys pick help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 1 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --duration)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -d)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --role-duration)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -a)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --otp)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -o)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --mfa-serial)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -M)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --external-id)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -X)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --output)
                    COMPREPLY=($(compgen -W "env json fish powershell" -- "${cur}"))
                    return 0
                    ;;
                -O)
                    COMPREPLY=($(compgen -W "env json fish powershell" -- "${cur}"))
                    return 0
                    ;;
                --saml-url)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -S)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --web-url)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -W)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --web-client)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -C)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --web-redirect)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -T)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --username)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -U)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --password)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -P)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --provider)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -R)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --jump-role)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -J)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__completions)
            opts="-h --help bash zsh fish powershell"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__console)
            opts="-h --print --service --destination --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --service)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --destination)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__diagnose)
            opts="-h --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__help)
            opts="list diagnose serve ssm console init completions man password sso keys pick help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__help__subcmd__completions)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__help__subcmd__console)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__help__subcmd__diagnose)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__help__subcmd__help)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__help__subcmd__init)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__help__subcmd__keys)
            opts="add import list remove rotate"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__help__subcmd__keys__subcmd__add)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__help__subcmd__keys__subcmd__import)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__help__subcmd__keys__subcmd__list)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__help__subcmd__keys__subcmd__remove)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__help__subcmd__keys__subcmd__rotate)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__help__subcmd__list)
            opts="roles mfa"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__help__subcmd__list__subcmd__mfa)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__help__subcmd__list__subcmd__roles)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__help__subcmd__man)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__help__subcmd__password)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__help__subcmd__pick)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__help__subcmd__serve)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__help__subcmd__ssm)
            opts="shell forward ssh"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__help__subcmd__ssm__subcmd__forward)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__help__subcmd__ssm__subcmd__shell)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__help__subcmd__ssm__subcmd__ssh)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__help__subcmd__sso)
            opts="login logout profiles"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__help__subcmd__sso__subcmd__login)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__help__subcmd__sso__subcmd__logout)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__help__subcmd__sso__subcmd__profiles)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__init)
            opts="-h --help bash zsh fish powershell"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__keys)
            opts="-h --help add import list ls remove rm rotate help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__keys__subcmd__add)
            opts="-h --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__keys__subcmd__help)
            opts="add import list remove rotate help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__keys__subcmd__help__subcmd__add)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__keys__subcmd__help__subcmd__help)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__keys__subcmd__help__subcmd__import)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__keys__subcmd__help__subcmd__list)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__keys__subcmd__help__subcmd__remove)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__keys__subcmd__help__subcmd__rotate)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__keys__subcmd__import)
            opts="-h --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__keys__subcmd__list)
            opts="-h --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__keys__subcmd__remove)
            opts="-h --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__keys__subcmd__rotate)
            opts="-h --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__list)
            opts="-h --help roles mfa help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__list__subcmd__help)
            opts="roles mfa help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__list__subcmd__help__subcmd__help)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__list__subcmd__help__subcmd__mfa)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__list__subcmd__help__subcmd__roles)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__list__subcmd__mfa)
            opts="-h --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__list__subcmd__roles)
            opts="-h --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__man)
            opts="-h --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__password)
            opts="-h --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__pick)
            opts="-h --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__serve)
            opts="-p -H -h --port --headless --imdsv1 --metadata-ip --help ecs ec2"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --port)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -p)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__ssm)
            opts="-h --help shell sh forward fwd ssh help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__ssm__subcmd__forward)
            opts="-p -P -h --port --plugin --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --port)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -p)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__ssm__subcmd__help)
            opts="shell forward ssh help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__ssm__subcmd__help__subcmd__forward)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__ssm__subcmd__help__subcmd__help)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__ssm__subcmd__help__subcmd__shell)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__ssm__subcmd__help__subcmd__ssh)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__ssm__subcmd__shell)
            opts="-P -h --plugin --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__ssm__subcmd__ssh)
            opts="-P -h --ec2ic --plugin --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__sso)
            opts="-h --help login logout profiles help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__sso__subcmd__help)
            opts="login logout profiles help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__sso__subcmd__help__subcmd__help)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__sso__subcmd__help__subcmd__login)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__sso__subcmd__help__subcmd__logout)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__sso__subcmd__help__subcmd__profiles)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__sso__subcmd__login)
            opts="-h --sso-session --use-device-code --no-browser --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --sso-session)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__sso__subcmd__logout)
            opts="-h --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        aws__subcmd__runas__subcmd__sso__subcmd__profiles)
            opts="-h --name --region --dry-run --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --name)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --region)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
    esac
}

if [[ "${BASH_VERSINFO[0]}" -eq 4 && "${BASH_VERSINFO[1]}" -ge 4 || "${BASH_VERSINFO[0]}" -gt 4 ]]; then
    complete -F _aws__runas -o nosort -o bashdefault -o default aws-runas
else
    complete -F _aws__runas -o bashdefault -o default aws-runas
fi

# Profile names for the first word that is neither an option nor an option's value; after
# `--` that word is a profile, never a subcommand.
_aws_runas_with_profiles() {
    local i word skip=0 position=0 ended=0 cur=${COMP_WORDS[COMP_CWORD]}
    for ((i = 1; i < COMP_CWORD; i++)); do
        word=${COMP_WORDS[i]}
        if ((skip)); then
            skip=0
            continue
        fi
        case ${word} in
        --) ended=1 ;;
        -d | --duration | -a | --role-duration | -o | --otp | -M | --mfa-serial | -X | --external-id | -O | --output | -S | --saml-url | -W | --web-url | -C | --web-client | -T | --web-redirect | -U | --username | -P | --password | -R | --provider | -J | --jump-role) skip=1 ;;
        -*) ;;
        *) position=$((position + 1)) ;;
        esac
    done
    if ((position == 0 && !skip)) && [[ ${cur} != -* ]]; then
        # Not compgen -W: it expands $(...) inside the words, and a profile name is only text.
        local name
        COMPREPLY=()
        while IFS= read -r name; do
            if [[ ${name} == "${cur}"* ]]; then
                COMPREPLY+=("$(printf '%q' "${name}")")
            fi
        done < <(aws-runas __profiles 2>/dev/null || true; ((ended)) || printf '%s\n' list diagnose serve ssm console init completions man password sso keys pick help)
        return 0
    fi
    _aws__runas "$@"
}
complete -F _aws_runas_with_profiles -o bashdefault -o default aws-runas
