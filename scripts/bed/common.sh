# Shared settings and helpers of the bed scripts (sourced, not run).
# shellcheck shell=bash disable=SC2034

BED_SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BED_DIR=${BUILDXPY_BED_DIR:-/run/buildxpy-bed}
BED_CACHE=${BUILDXPY_BED_CACHE:-/var/cache/buildxpy-bed}
PID_DIR=$BED_DIR/pids

DOCKER1_SOCK=/var/run/docker.sock
DOCKER1_HOST=unix://$DOCKER1_SOCK
NODE2_DIR=$BED_DIR/node2
NODE2_SOCK=$NODE2_DIR/docker.sock
NODE2_HOST=unix://$NODE2_SOCK
NODE2_BRIDGE=bxpy-node2
# Outside docker's default address pools (172.17-31/16, 192.168/16), so it
# never collides with networks the first daemon allocates.
NODE2_BRIDGE_CIDR=10.213.77.1/24

REGISTRY=127.0.0.1:5000
AUTH_REGISTRY=127.0.0.1:5001
# On node2's bridge, not on loopback: BuildKit reaches a loopback registry over
# plain HTTP by itself, any other only when its buildkitd configuration says
# `http = true`, which is what this one is for.
HTTP_REGISTRY=${NODE2_BRIDGE_CIDR%/*}:5002
AUTH_USER=buildxpy
AUTH_PASSWORD=bedpass
BASE_REPO=busybox
BASE_IMAGE=$REGISTRY/$BASE_REPO:latest
BASE_PLATFORMS=linux/amd64,linux/arm64,linux/arm/v7

SSH_PORT=2222
SSH_HOST=ssh://root@127.0.0.1:$SSH_PORT
SSH_DIR=$BED_DIR/ssh
ROOT_HOME=$(getent passwd root | cut -d: -f6)
ROOT_HOME=${ROOT_HOME:-/root}
SSH_CLIENT_CONFIG=$ROOT_HOME/.ssh/config
SSH_MARK_BEGIN="# >>> buildxpy-bed: added by the bed's up script, removed by its down script"
SSH_MARK_END="# <<< buildxpy-bed"

BINFMT_DIR=/proc/sys/fs/binfmt_misc
BINFMT_HANDLERS=(qemu-aarch64 qemu-arm)

# The client is pointed at each daemon explicitly, with a private client
# config, so neither the caller's context nor ~/.docker is read or changed.
unset DOCKER_CONTEXT DOCKER_TLS_VERIFY DOCKER_CERT_PATH BUILDX_BUILDER
export DOCKER_CONFIG=$BED_DIR/docker-config

log() { printf 'bed/%s: %s\n' "$BED_NAME" "$*" >&2; }
die() { printf 'bed/%s: error: %s\n' "$BED_NAME" "$*" >&2; exit 1; }

need_root() { [ "$(id -u)" = 0 ] || die "must run as root"; }

# Serializes up/down/status runs that overlap (e.g. parallel test jobs).
bed_lock() {
  mkdir -p "$BED_DIR"
  chmod 700 "$BED_DIR"
  exec 9>"$BED_DIR/.lock"
  flock -w 600 9 || die "timed out waiting for $BED_DIR/.lock"
}

dk1() { docker -H "$DOCKER1_HOST" "$@"; }
dk2() { docker -H "$NODE2_HOST" "$@"; }

# A pid file holds "PID EXE": the exe check keeps a recycled pid from being
# taken for (or killed as) one of the bed's processes.
pid_record() { # NAME PID
  mkdir -p "$PID_DIR"
  printf '%s %s\n' "$2" "$(readlink "/proc/$2/exe" 2>/dev/null || echo '?')" >"$PID_DIR/$1.pid"
}

pid_of() { # NAME -> prints the pid when that process is still the one recorded
  local pid exe
  [ -r "$PID_DIR/$1.pid" ] || return 1
  read -r pid exe <"$PID_DIR/$1.pid" || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$exe" ] || return 1
  printf '%s\n' "$pid"
}

# Detached from the caller's session and terminal, so the process outlives
# the shell (and job) that started it.
start_bg() { # NAME LOGFILE CMD... -> records the pid
  local name=$1 logf=$2; shift 2
  mkdir -p "$(dirname "$logf")"
  setsid "$@" </dev/null >>"$logf" 2>&1 9>&- &
  local pid=$! i setsid_exe
  setsid_exe=$(readlink -f "$(command -v setsid)")
  for ((i = 0; i < 50; i++)); do  # until setsid has exec'd the command
    [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" != "$setsid_exe" ] && break
    sleep 0.05
  done
  pid_record "$name" "$pid"
}

stop_pid() { # NAME [TIMEOUT]
  local name=$1 timeout=${2:-30} pid i
  pid=$(pid_of "$name") || { rm -f "$PID_DIR/$name.pid"; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < timeout * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name (pid $pid) did not stop in ${timeout}s, killing it"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
  fi
  rm -f "$PID_DIR/$name.pid"
}

docker_answers() { # HOST
  timeout 10 docker -H "$1" version --format '{{.Server.Version}}' >/dev/null 2>&1
}

http_code() { # URL [CURL ARGS...]
  local url=$1; shift
  curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@" "$url" 2>/dev/null || true
}

binfmt_ok() { # HANDLER -> 0 when enabled with the fix-binary (F) flag
  local f=$BINFMT_DIR/$1
  [ -r "$f" ] && [ "$(head -n1 "$f")" = enabled ] &&
    grep -q '^flags: .*F' "$f"
}

base_image_platforms() { # -> prints os/arch[/variant] per manifest in the registry's index
  curl -fsS --max-time 10 \
    -H 'Accept: application/vnd.oci.image.index.v1+json' \
    -H 'Accept: application/vnd.docker.distribution.manifest.list.v2+json' \
    "http://$REGISTRY/v2/$BASE_REPO/manifests/latest" 2>/dev/null |
    jq -r '.manifests[]?.platform | select(. != null and .os != "unknown")
           | .os + "/" + .architecture + (if .variant then "/" + .variant else "" end)' 2>/dev/null
}

base_image_complete() {
  local have p
  have=$(base_image_platforms) || return 1
  for p in ${BASE_PLATFORMS//,/ }; do
    grep -qx "$p" <<<"$have" || return 1
  done
}

ssh_cmd() { # ARGS... -> ssh to the bed's sshd, never prompting
  timeout 20 ssh -o BatchMode=yes -o ConnectTimeout=5 -p "$SSH_PORT" root@127.0.0.1 "$@"
}
