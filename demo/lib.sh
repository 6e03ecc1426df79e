# shellcheck shell=bash
# The demo's services beside moto (bench/lib.sh): the IAM Identity Center and Session Manager
# stand-ins from tests/standins, a small web server to forward to, an EC2 instance for SSM to
# find, and SimpleSAMLphp when it is installed. All on 127.0.0.1, on ports the kernel picks.
# Each one's pid goes into demo_pids; demo_stop stops them, and moto, and the demo's shell.

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../bench/lib.sh"

demo_pids=()
demo_shell_pid=""
demo_sso_in=""

# demo_spawn COMMAND...: runs COMMAND in the background with the default SIGINT and SIGQUIT: a
# script's background job ignores both, and so would every job of a shell started so (Ctrl-C
# would stop nothing typed in the demo's shell, nor in the remote one of `ssm shell`). Its stdin
# is the caller's (a background job's would be /dev/null).
demo_spawn() {
	env --default-signal=INT,QUIT "$@" <&0 &
}

# demo_wait WHAT COMMAND...: runs COMMAND every 0.1 s until it succeeds (30 s at most).
demo_wait() {
	local what="$1"
	shift
	for _ in $(seq 300); do
		"$@" && return 0
		sleep 0.1
	done
	echo "demo: ${what} did not start" >&2
	exit 1
}

# demo_port_in FILE SED-SCRIPT: the port a server printed into FILE, once it has.
demo_port_in() {
	demo_port="$(sed -n "$2" "$1" 2>/dev/null || true)"
	demo_port="${demo_port%%$'\n'*}"
	[[ -n "${demo_port}" ]]
}

# The Identity Center stand-in (SSO OIDC and the portal); sets SSO_URL. It approves each
# device code 3 s after handing it out: the newcomer sees the code and the wait, as with a
# real sign-in, without a second terminal. Its role credentials come from moto's AssumeRole,
# so the AWS CLI sees the role.
demo_start_sso() {
	local dir="${bench_dir}/sso"
	mkdir -p "${dir}"
	# It exits when its stdin closes: a pipe we hold keeps it up until demo_stop.
	mkfifo "${dir}/in"
	python3 "${bench_root}/tests/standins/sso.py" <"${dir}/in" >"${dir}/out" 2>"${dir}/log" &
	demo_pids+=("$!")
	exec {demo_sso_in}>"${dir}/in"
	demo_wait "the Identity Center stand-in" demo_port_in "${dir}/out" 's/^PORT //p'
	export SSO_URL="http://127.0.0.1:${demo_port}"
	curl -fsS -o /dev/null -H 'Content-Type: application/json' \
		-d "{\"approve_after\": 3, \"sts_endpoint\": \"${MOTO_URL}\"}" "${SSO_URL}/admin/config"
}

# The Session Manager stand-in (its agent runs a real shell here, and connects forwarded ports
# to 127.0.0.1); sets SSM_URL.
demo_start_ssm() {
	local out="${bench_dir}/ssm.out"
	demo_spawn python3 "${bench_root}/tests/standins/ssm_service.py" </dev/null >"${out}" 2>"${bench_dir}/ssm.log"
	demo_pids+=("$!")
	demo_wait "the Session Manager stand-in" demo_port_in "${out}" 's/.*"api": *\([0-9]*\).*/\1/p'
	export SSM_URL="http://127.0.0.1:${demo_port}"
}

# A web server with one page, for `ssm forward`; sets DEMO_WEB_PORT.
demo_start_web() {
	local dir="${bench_dir}/www"
	mkdir -p "${dir}"
	echo "Hello from the demo's web server, through Session Manager." >"${dir}/index.html"
	python3 -u -m http.server --bind 127.0.0.1 --directory "${dir}" 0 >"${bench_dir}/web.out" 2>/dev/null &
	demo_pids+=("$!")
	demo_wait "the web server" demo_port_in "${bench_dir}/web.out" 's/.* port \([0-9]*\) .*/\1/p'
	export DEMO_WEB_PORT="${demo_port}"
}

# Starts creating an instance tagged Name=web in moto (eu-west-1, the dev profile's region);
# demo_ec2_wait waits for it. Moto's EC2 takes about 2 s to its first answer: meanwhile the
# other services start. The image id is any (moto does not look it up; listing its images
# would cost 2 s more).
demo_ec2_start() {
	python3 - "${MOTO_URL}" <<'PY' &
import sys, boto3
ec2 = boto3.client("ec2", region_name="eu-west-1", endpoint_url=sys.argv[1],
                   aws_access_key_id="demo", aws_secret_access_key="demo")
ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, TagSpecifications=[
    {"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "web"}]}])
PY
	demo_ec2_pid=$!
	demo_pids+=("${demo_ec2_pid}")
}

demo_ec2_wait() {
	wait "${demo_ec2_pid}" || {
		echo "demo: could not create the EC2 instance in moto" >&2
		exit 1
	}
}

# SimpleSAMLphp (Debian's package, as tests/idp/ssp.rs runs it), when installed; sets SSP_URL
# (empty when it is not).
demo_start_ssp() {
	export SSP_URL=""
	command -v php >/dev/null && [[ -d /usr/share/simplesamlphp/www ]] || return 0
	local dir="${bench_dir}/ssp"
	mkdir -p "${dir}/config"
	SIMPLESAMLPHP_CONFIG_DIR="${dir}/config" php -S 127.0.0.1:0 -t /usr/share/simplesamlphp/www \
		</dev/null >/dev/null 2>"${dir}/server.log" &
	demo_pids+=("$!")
	demo_wait "SimpleSAMLphp" demo_port_in "${dir}/server.log" 's|.*(http://127.0.0.1:\([0-9]*\)) started.*|\1|p'
	# PHP reads the configuration on each request: written now that the port is known.
	bash "${bench_root}/tests/idp/ssp-config.sh" "${dir}" "http://127.0.0.1:${demo_port}" >/dev/null
	export SSP_URL="http://127.0.0.1:${demo_port}/saml2/idp/SSOService.php?spentityid=urn:amazon:webservices"
}

# The profiles of the stand-ins, after bench_sandbox's IAM ones.
demo_profiles() {
	local token="${HOME}/.aws/demo-web-token"
	# A JWT as a CI runner or EKS writes it (moto checks no signature).
	echo 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJkZW1vIn0.c2lnbmF0dXJl' >"${token}"
	cat >>"${HOME}/.aws/config" <<INI
[sso-session demo]
sso_start_url = https://d-1234567890.awsapps.com/start
sso_region = eu-west-1
sso_registration_scopes = sso:account:access
[profile demo-sso]
sso_session = demo
sso_account_id = 123456789012
sso_role_name = Admin
region = eu-west-1
[profile demo-web]
web_identity_token_file = ${token}
role_arn = arn:aws:iam::123456789012:role/ci
region = eu-west-1
INI
	[[ -z "${SSP_URL}" ]] || cat >>"${HOME}/.aws/config" <<INI
[profile demo-saml]
saml_auth_url = ${SSP_URL}
saml_username = alice
region = eu-west-1
INI
}

# demo_end PID...: sends each a SIGTERM and waits (10 s at most) until they have ended, for
# processes that are not ours to wait for; then SIGKILL.
demo_end() {
	(($#)) || return 0
	kill "$@" 2>/dev/null
	local pid alive
	for _ in $(seq 100); do
		alive=()
		for pid in "$@"; do
			# A zombie has ended; its parent reaps it.
			[[ "$(ps -o stat= -p "${pid}" || true)" == [!Z]* ]] && alive+=("${pid}")
		done
		((${#alive[@]})) || return 0
		sleep 0.1
	done
	kill -KILL "${alive[@]}" 2>/dev/null
}

# Stops the shell, then every service, and waits for each, so that nothing of the demo answers
# once it has returned. What runs in the shell (an `ssm forward` in the background, an `ssm
# shell`) ends first, while the services it talks to are still up to end its session with.
# The shell's rc file does the same for its jobs when it exits by itself.
demo_stop() {
	# Whatever fails here (a process already gone), the rest is still stopped.
	set +e
	local pids=("${demo_pids[@]}" "${bench_moto_pid:-}")
	[[ -n "${demo_sso_in}" ]] && exec {demo_sso_in}>&-
	if [[ -n "${demo_shell_pid}" ]]; then
		local jobs
		mapfile -t jobs < <(pgrep -P "${demo_shell_pid}" || true)
		demo_end "${jobs[@]}"
		kill -HUP "${demo_shell_pid}" 2>/dev/null
		wait "${demo_shell_pid}"
	fi
	for pid in "${pids[@]}"; do
		[[ -n "${pid}" ]] && kill "${pid}" 2>/dev/null
	done
	for pid in "${pids[@]}"; do
		[[ -n "${pid}" ]] && wait "${pid}" 2>/dev/null
	done
	bench_cleanup
}
