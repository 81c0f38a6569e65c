# Shared steps of scripts/up and scripts/test: start a Docker engine when none answers, build
# the runner and the images. Sourced, not run.

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Installs Debian's packages named in "$@" that are missing (root only).
ensure_packages() {
    local missing=()
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'ok installed' || missing+=("$package")
    done
    [[ ${#missing[@]} -eq 0 ]] && return
    [[ $EUID -eq 0 ]] || die "missing packages ${missing[*]}; install them or run as root"
    log "installing ${missing[*]} from Debian's packages"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# Installs Debian's packages given as "name=version" when that exact version is not installed
# (root only): test tools pinned as the registries' ones are.
ensure_pinned_packages() {
    local wanted=()
    for pin in "$@"; do
        [[ $(dpkg-query -W -f='${Status} ${Version}' "${pin%%=*}" 2>/dev/null) == "install ok installed ${pin#*=}" ]] || wanted+=("$pin")
    done
    [[ ${#wanted[@]} -eq 0 ]] && return
    [[ $EUID -eq 0 ]] || die "missing packages ${wanted[*]}; install them or run as root"
    log "installing ${wanted[*]} from Debian's packages"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --allow-downgrades "${wanted[@]}" >/dev/null
}

# Makes sure a Docker engine answers; as root, installs and starts one when none does. The engine
# runs without the default bridge and without iptables rules: job containers have no network.
ensure_docker() {
    if docker info >/dev/null 2>&1; then
        return
    fi
    [[ $EUID -eq 0 ]] || die "no Docker engine answers; start one, or run this as root to install and start it"
    command -v dockerd >/dev/null || ensure_packages docker.io
    log "starting dockerd (log: /var/log/codeexec-dockerd.log)"
    setsid nohup dockerd --bridge=none --iptables=false >/var/log/codeexec-dockerd.log 2>&1 < /dev/null &
    for _ in $(seq 1 60); do
        docker info >/dev/null 2>&1 && return
        sleep 1
    done
    die "dockerd did not answer within 60 s; see /var/log/codeexec-dockerd.log"
}

# tests/operations/faults.rs starts a private dockerd of its own (and loads an image into it with the docker
# CLI), so both must be installed even when the engine the tests share runs elsewhere.
ensure_fault_test_tools() {
    command -v dockerd >/dev/null && command -v docker >/dev/null && return
    ensure_packages docker.io
}

# Builds the statically linked runner and the images that are missing or stale, with the codeexec
# binary given as $1.
build_images() {
    local codeexec=$1
    log "building codeexec-runner (static)"
    CODEEXEC_IMAGES__RUNNER_PATH=$(scripts/build-runner | tail -n 1)
    export CODEEXEC_IMAGES__RUNNER_PATH
    if [[ ${CODEEXEC_IMAGES__OFFLINE:-false} == true ]]; then
        command -v debootstrap >/dev/null || ensure_packages debootstrap
    fi
    log "building language images (offline: ${CODEEXEC_IMAGES__OFFLINE:-false})"
    "$codeexec" images build
}

# Installs SecantusDB (a MongoDB wire-protocol server from PyPI, which the execution log tests
# start and stop themselves) into a virtualenv outside the clone, reused when present, and
# exports CODEEXEC_TEST_SECANTUSD, the path of its secantusd-py.
ensure_secantusdb() {
    local venv=${CODEEXEC_SECANTUSDB_VENV:-/var/cache/codeexec-ci/secantusdb-venv}
    if [[ ! -x $venv/bin/secantusd-py ]]; then
        local python=python3
        if ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
            ensure_packages python3 python3-venv
            python=/usr/bin/python3
        fi
        log "installing SecantusDB into $venv"
        mkdir -p "$(dirname "$venv")"
        "$python" -m venv "$venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check 'secantusdb==0.7.0b3'
    fi
    export CODEEXEC_TEST_SECANTUSD=$venv/bin/secantusd-py
}

# Debian bookworm's Redis and HAProxy, pinned: the shared rate limits (tests/operations) and the
# cluster (scripts/cluster, tests/cluster) run them on loopback ports of their own; the packages'
# own services are not used. Exports CODEEXEC_TEST_REDIS_SERVER and CODEEXEC_TEST_HAPROXY.
CODEEXEC_REDIS_VERSION='5:7.0.15-1~deb12u10'
CODEEXEC_HAPROXY_VERSION='2.6.12-1+deb12u4'
ensure_redis() {
    ensure_pinned_packages "redis-server=$CODEEXEC_REDIS_VERSION" "redis-tools=$CODEEXEC_REDIS_VERSION"
    export CODEEXEC_TEST_REDIS_SERVER=/usr/bin/redis-server
}
ensure_haproxy() {
    ensure_pinned_packages "haproxy=$CODEEXEC_HAPROXY_VERSION"
    export CODEEXEC_TEST_HAPROXY=/usr/sbin/haproxy
}

# Installs the official Judge0 Python SDK (PyPI judge0, pinned with its dependencies), which
# tests/sandbox/judge0 drives against the service, into a virtualenv outside the clone, reused
# when present, and exports CODEEXEC_TEST_JUDGE0_PYTHON, the venv's python.
ensure_judge0_sdk() {
    local venv=${CODEEXEC_JUDGE0_SDK_VENV:-/var/cache/codeexec-ci/judge0-sdk-venv}
    if ! "$venv/bin/python" -c 'import judge0, sys; sys.exit(judge0.__version__ != "0.0.8")' >/dev/null 2>&1; then
        local python=python3
        if ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
            ensure_packages python3 python3-venv
            python=/usr/bin/python3
        fi
        log "installing the Judge0 Python SDK into $venv"
        mkdir -p "$(dirname "$venv")"
        "$python" -m venv "$venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check \
            'judge0==0.0.8' 'httpx==0.28.1' 'pydantic==2.14.4'
    fi
    export CODEEXEC_TEST_JUDGE0_PYTHON=$venv/bin/python
}

# Installs Piston's npm client (piston-client, pinned, with node-fetch 2 and its dependencies
# pinned too), which tests/sandbox/piston drives against the service with Node.js, into a folder
# outside the clone, reused when present, and exports CODEEXEC_TEST_PISTON_CLIENT, the client's
# entry module, and CODEEXEC_TEST_NODE, the node that runs it.
ensure_piston_client() {
    local dir=${CODEEXEC_PISTON_CLIENT_DIR:-/var/cache/codeexec-ci/piston-client}
    local client=$dir/node_modules/piston-client
    command -v node >/dev/null && command -v npm >/dev/null || ensure_packages nodejs npm
    if ! grep -q '"version": "1.0.2"' "$client/package.json" 2>/dev/null; then
        log "installing Piston's npm client into $dir"
        mkdir -p "$dir"
        npm install --prefix "$dir" --no-audit --no-fund --no-save --silent \
            piston-client@1.0.2 node-fetch@2.7.0 whatwg-url@5.0.0 tr46@0.0.3 webidl-conversions@3.0.1
    fi
    export CODEEXEC_TEST_PISTON_CLIENT=$client/index.js
    CODEEXEC_TEST_NODE=$(command -v node)
    export CODEEXEC_TEST_NODE
}

# The containers labelled codeexec.managed whose codeexec.instance is $1 or starts with "$1-",
# one "ID INSTANCE" line each. Docker's label filters match whole values only, so the instance
# is compared here.
containers_of_instance_prefix() {
    local prefix=$1
    docker ps -a --filter label=codeexec.managed=true --format '{{.ID}} {{.Label "codeexec.instance"}}' |
        awk -v prefix="$prefix" '$2 == prefix || index($2, prefix "-") == 1'
}

# Fails, naming them, when containers of the instance prefix $1 are still there after waiting up
# to $2 seconds (default 30) for the services that made them to remove them. Containers of any
# other instance, such as a codeexec service of the user's own on the same engine, do not count.
check_no_leaked_containers() {
    local prefix=$1 wait_secs=${2:-30} left waited
    for ((waited = 0; ; waited++)); do
        left=$(containers_of_instance_prefix "$prefix")
        [[ -z $left ]] && return 0
        ((waited < wait_secs)) || break
        sleep 1
    done
    printf '%s\n' "$left" >&2
    printf 'error: %s container(s) of instance %s-* were left behind\n' "$(wc -l <<<"$left")" "$prefix" >&2
    return 1
}

# Channel directories (under docker.channel_dir, /run/codeexec by default) that no container
# names in its codeexec.channel label: left behind by a removed container, whichever service
# made it. A service makes a container's directory just before creating it, hence the wait.
check_no_orphan_channel_dirs() {
    local root=${CODEEXEC_DOCKER__CHANNEL_DIR:-/run/codeexec} wait_secs=${1:-30} named orphans waited dir
    [[ -d $root ]] || return 0
    for ((waited = 0; ; waited++)); do
        named=$(docker ps -aq --filter label=codeexec.managed=true |
            xargs -r docker inspect --format '{{index .Config.Labels "codeexec.channel"}}' 2>/dev/null)
        orphans=()
        for dir in "$root"/*/; do
            [[ -d $dir ]] || continue
            grep -qxF "$(basename "$dir")" <<<"$named" || orphans+=("$dir")
        done
        ((${#orphans[@]} == 0)) && return 0
        ((waited < wait_secs)) || break
        sleep 1
    done
    printf '%s\n' "${orphans[@]}" >&2
    printf 'error: %s channel director(ies) outlived their containers\n' "${#orphans[@]}" >&2
    return 1
}

# For the measuring scripts (root): moves the Docker engine's processes (dockerd, containerd and
# the shims; the shims and runc they start later inherit it, while each container's own processes
# go to the container's cgroup) into a cgroup of their own, and sets engine_cgroup to it: cpuacct
# on cgroup v1, a plain cgroup on v2 (cpu.stat is always there). Sets containers_cgroup to the
# parent of the job containers' cgroups where Docker's cgroupfs driver puts them on v1, or to
# nothing.
move_engine_into_its_cgroup() {
    if [[ -d /sys/fs/cgroup/cpuacct ]]; then
        engine_cgroup=/sys/fs/cgroup/cpuacct/codeexec-engine
        containers_cgroup=/sys/fs/cgroup/cpuacct/docker
    else
        engine_cgroup=/sys/fs/cgroup/codeexec-engine
        containers_cgroup=
    fi
    [[ -z $containers_cgroup || -d $containers_cgroup ]] || containers_cgroup=
    mkdir -p "$engine_cgroup"
    local pid
    for pid in $(pgrep -x dockerd; pgrep -x containerd; pgrep -f '^[^ ]*containerd-shim'); do
        echo "$pid" >"$engine_cgroup/cgroup.procs"
    done
    log "the engine's processes are in $engine_cgroup"
}

# For the measuring scripts: starts a release service in the background on 127.0.0.1:PORT under
# instance NAME with its own program uids from UID_FIRST, the rate limit off (all the load comes
# from one address) and the given VAR=VALUE settings; its pid is appended to measured_pids, which
# stop_measured_services ends. Only the languages in MEASURED_LANGUAGES (default: all) are on.
measured_pids=()
start_measured_service() { # NAME PORT UID_FIRST [VAR=VALUE...]
    local name=$1 port=$2 uid_first=$3 log_file=${TMPDIR:-/tmp}/codeexec-$1.log language
    shift 3
    local settings=("$@")
    if [[ -n ${MEASURED_LANGUAGES:-} ]]; then
        while read -r language; do
            [[ " $MEASURED_LANGUAGES " == *" $language "* ]] ||
                settings+=("CODEEXEC_LANGUAGES__${language^^}__ENABLED=false")
        done < <(sed -n 's/^\[languages\.\([a-z0-9_]*\)\]$/\1/p' config/default.toml)
    fi
    log "starting the $name service on 127.0.0.1:$port (log: $log_file)"
    env HOST=127.0.0.1 PORT="$port" CODEEXEC_DOCKER__INSTANCE="$name" \
        CODEEXEC_RATE_LIMIT__ENABLED=false CODEEXEC_DOCKER__PROGRAM_UIDS__FIRST="$uid_first" \
        CODEEXEC_DOCKER__PROGRAM_UIDS__COUNT=1000 "${settings[@]}" \
        "${CARGO_TARGET_DIR:-target}/release/codeexec" serve >"$log_file" 2>&1 &
    measured_pids+=($!)
    sleep 1
    kill -0 "$!" 2>/dev/null || die "the $name service did not start; see $log_file"
}
stop_measured_services() {
    local pid
    for pid in "${measured_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${measured_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}

# Installs the pinned Python tools that check the OpenAPI description into a virtualenv outside
# the clone, reused when present: openapi-spec-validator (tests/http/openapi.rs validates
# /api/openapi.json with it) and Schemathesis (scripts/schemathesis fuzzes the live service).
# Exports CODEEXEC_TEST_OPENAPI_VALIDATOR and CODEEXEC_TEST_SCHEMATHESIS, their executables.
ensure_openapi_tools() {
    local venv=${CODEEXEC_OPENAPI_TOOLS_VENV:-/var/cache/codeexec-ci/openapi-tools-venv}
    local pins=('schemathesis==4.32.5' 'openapi-spec-validator==0.9.0')
    local stamp="$venv/pins" python=python3
    if [[ ! -x $venv/bin/st || ! -x $venv/bin/openapi-spec-validator || $(cat "$stamp" 2>/dev/null) != "${pins[*]}" ]]; then
        if ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
            ensure_packages python3 python3-venv
            python=/usr/bin/python3
        fi
        log "installing ${pins[*]} into $venv"
        mkdir -p "$(dirname "$venv")"
        "$python" -m venv "$venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check "${pins[@]}"
        echo "${pins[*]}" >"$stamp"
    fi
    export CODEEXEC_TEST_OPENAPI_VALIDATOR=$venv/bin/openapi-spec-validator
    export CODEEXEC_TEST_SCHEMATHESIS=$venv/bin/st
}

# Installs Debian's chromium and chromium-driver when missing (the browser tests of the
# playground and /docs, tests/sandbox/playground.rs) and exports CODEEXEC_TEST_CHROMIUM and
# CODEEXEC_TEST_CHROMEDRIVER. Debian's packages: no browser build is downloaded.
ensure_browser() {
    ensure_packages chromium chromium-driver
    export CODEEXEC_TEST_CHROMIUM=/usr/bin/chromium
    export CODEEXEC_TEST_CHROMEDRIVER=/usr/bin/chromedriver
}
