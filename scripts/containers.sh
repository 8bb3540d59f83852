#!/usr/bin/env bash
# The tests' container path (docs/testing.md, "The container path"): a Docker engine and the images the
# Category=Containers tests run, all from Debian's packages and this machine's own dotnet, so nothing comes from
# an image registry.
#
#   scripts/containers.sh [up]   install docker.io and debootstrap when missing, start dockerd when no engine
#                                answers, build the images whose inputs changed, write their names to
#                                .deps/containers.env and print them
#   scripts/containers.sh down   stop the dockerd that `up` started (an engine it found running is left alone)
#
# Images (each labelled with a hash of its inputs and rebuilt only when that hash changes):
#   provisioning-local/debian:bookworm          debootstrap --variant=minbase from the mirror apt already uses
#   provisioning-local/rabbitmq:management      containers/rabbitmq   (RabbitMQ with its management plugin)
#   provisioning-local/postgres:15              containers/postgres
#   provisioning-local/mosquitto:2.0            containers/mosquitto
#   provisioning-local/haproxy:2.6              containers/haproxy    (the fleet stack's load balancer, docs/fleet.md)
#   provisioning-local/dotnet-aspnet:10.0       containers/dotnet-aspnet (the host's dotnet runtime on the base)
#   provisioning-worker:offline                 ./Dockerfile with APP_STAGE=prebuilt on the image above
# dockerd runs with the vfs storage driver (the only one that works in every sandbox; it copies each layer).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEPS_DIR="$ROOT/.deps"
ENV_FILE="$DEPS_DIR/containers.env"
STATE_DIR=/run/provisioning-containers
# The engine this script starts listens here, not on /var/run/docker.sock: a `docker info` elsewhere on the machine
# (the loopback suite's scripts of other checkouts, say) keeps finding no engine. DOCKER_HOST in .deps/containers.env.
OWN_SOCKET="unix://$STATE_DIR/docker.sock"
PREFIX=provisioning-local
BASE_IMAGE="$PREFIX/debian:bookworm"
RUNTIME_IMAGE="$PREFIX/dotnet-aspnet:10.0"
WORKER_IMAGE=provisioning-worker:offline
LABEL=org.provisioning.inputs
# What a change of this script's image recipes must invalidate (bump when the build commands below change).
RECIPE=4

# Debian's client (docker.io) builds with its own BuildKit; another client first on PATH may want a buildx plugin
# that is not installed here. Set after install_packages.
DOCKER=""
find_client() {
  if [[ -x /usr/bin/docker ]]; then DOCKER=/usr/bin/docker; else DOCKER="$(command -v docker || true)"; fi
}

die() {
  echo "containers.sh: error: $*" >&2
  exit 1
}

say() { echo "containers.sh: $*" >&2; }

engine_answers() {
  [[ -n "$DOCKER" ]] && timeout 15 "$DOCKER" info >/dev/null 2>&1
}

# ---------------------------------------------------------------- packages and engine

install_packages() {
  # deps.sh's installer: apt-get update + install of the missing ones, their services kept from starting.
  "$ROOT/scripts/deps.sh" install docker.io debootstrap
}

start_engine() {
  if [[ -z "${DOCKER_HOST:-}" ]] && engine_answers; then
    # An engine of the machine's own (a developer's Docker).
    return 0
  fi
  export DOCKER_HOST="$OWN_SOCKET"
  if engine_answers; then
    return 0
  fi
  [[ $(id -u) == 0 ]] || die "no Docker engine answers and not root: dockerd cannot be started"
  mkdir -p "$STATE_DIR" "$DEPS_DIR"
  local log="$DEPS_DIR/dockerd.log"
  say "starting dockerd (storage driver vfs, log: $log)"
  # setsid: its own session, so that the caller's terminal signals do not reach it.
  # --ip: published ports on loopback only, whatever the tests ask for.
  setsid dockerd --storage-driver=vfs --ip=127.0.0.1 --host="$OWN_SOCKET" --pidfile="$STATE_DIR/dockerd.pidfile" >"$log" 2>&1 </dev/null &
  echo $! >"$STATE_DIR/dockerd.pid"
  local deadline=$((SECONDS + 60))
  until engine_answers; do
    if ! kill -0 "$(cat "$STATE_DIR/dockerd.pid")" 2>/dev/null; then
      rm -f "$STATE_DIR/dockerd.pid"
      die "dockerd exited at start: $(tail -n 5 "$log" | tr '\n' ' ')"
    fi
    ((SECONDS < deadline)) || die "dockerd does not answer after 60 s; read $log"
    sleep 0.5
  done
}

stop_engine() {
  [[ -f "$STATE_DIR/dockerd.pid" ]] || {
    say "no dockerd started by containers.sh; nothing stopped"
    return 0
  }
  local pid
  pid="$(cat "$STATE_DIR/dockerd.pid")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    local deadline=$((SECONDS + 30))
    while kill -0 "$pid" 2>/dev/null; do
      ((SECONDS < deadline)) || {
        kill -KILL "$pid" 2>/dev/null || true
        break
      }
      sleep 0.5
    done
  fi
  rm -f "$STATE_DIR/dockerd.pid"
  say "dockerd stopped"
}

# ---------------------------------------------------------------- images

image_inputs() {
  "$DOCKER" image inspect -f "{{ index .Config.Labels \"$LABEL\" }}" "$1" 2>/dev/null || true
}

hash_of() {
  # The hash of everything given on stdin.
  sha256sum | cut -c1-16
}

image_id() {
  "$DOCKER" image inspect -f '{{ .Id }}' "$1"
}

# The Debian mirror apt uses here, read from apt's own sources (deb822 first, then one-line), never written down.
apt_mirror() {
  local uri
  uri="$(awk '
    /^URIs:/ { uris = $2 }
    /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) { print uris; exit } }
  ' suite="$1" /etc/apt/sources.list.d/*.sources 2>/dev/null || true)"
  [[ -n "$uri" ]] || uri="$(awk -v suite="$1" '$1 == "deb" && $3 == suite { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)"
  [[ -n "$uri" ]] || die "no apt source for '$1' in /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list"
  echo "$uri"
}

build_base() {
  local suite
  suite="$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")"
  [[ "$suite" == bookworm ]] || die "the base image is Debian bookworm, built from this machine's apt sources; this machine runs '$suite'"
  local mirror want
  mirror="$(apt_mirror "$suite")"
  want="$( { echo "$RECIPE base $suite $mirror"; cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null || true; } | hash_of)"
  [[ "$(image_inputs "$BASE_IMAGE")" == "$want" ]] && return 0

  local rootfs log="$DEPS_DIR/debootstrap.log"
  rootfs="$(mktemp -d /var/tmp/provisioning-rootfs.XXXXXX)"
  # mktemp made it 0700: it becomes the image's /, which every user must traverse.
  chmod 0755 "$rootfs"
  say "building $BASE_IMAGE (debootstrap --variant=minbase $suite, log: $log)"
  debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" >"$log" 2>&1 || {
    rm -rf "$rootfs"
    die "debootstrap failed; read $log"
  }
  # The same sources as this machine (updates and security too), and no package caches kept in layers.
  rm -f "$rootfs/etc/apt/sources.list"
  cp -a /etc/apt/sources.list.d/*.sources "$rootfs/etc/apt/sources.list.d/" 2>/dev/null || true
  [[ -f /etc/apt/sources.list ]] && cp /etc/apt/sources.list "$rootfs/etc/apt/sources.list"
  printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' >"$rootfs/etc/apt/apt.conf.d/90-containers"
  printf 'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };\nAPT::Keep-Downloaded-Packages "false";\n' \
    >"$rootfs/etc/apt/apt.conf.d/docker-clean"
  rm -rf "$rootfs/var/cache/apt/archives/"*.deb "$rootfs/var/lib/apt/lists/"*
  tar -C "$rootfs" -c . | "$DOCKER" import \
    --change "LABEL $LABEL=$want" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8' \
    --change 'CMD ["/bin/bash"]' - "$BASE_IMAGE" >/dev/null || {
    rm -rf "$rootfs"
    die "docker import of the base image failed"
  }
  rm -rf "$rootfs"
}

# build_image NAME DIR: DIR's Dockerfile on the base image, when DIR or the base changed.
build_image() {
  local name="$1" dir="$2" want
  want="$( { echo "$RECIPE $(image_id "$BASE_IMAGE")"; (cd "$dir" && find . -type f -print0 | sort -z | xargs -0 sha256sum); } | hash_of)"
  [[ "$(image_inputs "$name")" == "$want" ]] && return 0
  local log
  log="$DEPS_DIR/build-$(basename "$dir").log"
  say "building $name from ${dir#"$ROOT"/} (log: $log)"
  DOCKER_BUILDKIT=1 "$DOCKER" build --build-arg BASE_IMAGE="$BASE_IMAGE" --label "$LABEL=$want" -t "$name" "$dir" >"$log" 2>&1 ||
    die "building $name failed; read $log"
}

build_runtime() {
  # The host's dotnet: the muxer, hostfxr and the two shared frameworks the worker runs on.
  local dotnet_root version context want
  dotnet_root="$(dirname "$(readlink -f "$(command -v dotnet)")")"
  version="$(dotnet --list-runtimes | awk '$1 == "Microsoft.AspNetCore.App" && $2 ~ /^10\./ { v = $2 } END { print v }')"
  [[ -n "$version" ]] || die "no Microsoft.AspNetCore.App 10.x runtime in $dotnet_root (dotnet --list-runtimes)"
  want="$(echo "$RECIPE $(image_id "$BASE_IMAGE") $version $(sha256sum <"$ROOT/containers/dotnet-aspnet/Dockerfile")" | hash_of)"
  [[ "$(image_inputs "$RUNTIME_IMAGE")" == "$want" ]] && return 0
  context="$(mktemp -d /var/tmp/provisioning-dotnet.XXXXXX)"
  cp "$ROOT/containers/dotnet-aspnet/Dockerfile" "$context/"
  mkdir -p "$context/dotnet/shared"
  cp -a "$dotnet_root/dotnet" "$dotnet_root/host" "$context/dotnet/"
  [[ -f "$dotnet_root/LICENSE.txt" ]] && cp "$dotnet_root/LICENSE.txt" "$dotnet_root/ThirdPartyNotices.txt" "$context/dotnet/" 2>/dev/null || true
  local fw
  for fw in Microsoft.NETCore.App Microsoft.AspNetCore.App; do
    mkdir -p "$context/dotnet/shared/$fw"
    cp -a "$dotnet_root/shared/$fw/$version" "$context/dotnet/shared/$fw/"
  done
  local log="$DEPS_DIR/build-dotnet-aspnet.log"
  say "building $RUNTIME_IMAGE (ASP.NET Core $version from $dotnet_root, log: $log)"
  DOCKER_BUILDKIT=1 "$DOCKER" build --build-arg BASE_IMAGE="$BASE_IMAGE" --label "$LABEL=$want" -t "$RUNTIME_IMAGE" "$context" >"$log" 2>&1 || {
    rm -rf "$context"
    die "building $RUNTIME_IMAGE failed; read $log"
  }
  rm -rf "$context"
}

build_worker() {
  # The project's own Dockerfile, its app stage fed by a publish made here instead of in the SDK image.
  local want publish="$ROOT/artifacts/container-publish"
  want="$( {
    echo "$RECIPE $(image_id "$RUNTIME_IMAGE")"
    cd "$ROOT" && git ls-files -z -- Dockerfile global.json Directory.Build.props Directory.Packages.props .editorconfig src |
      xargs -0 sha256sum 2>/dev/null
  } | hash_of)"
  [[ "$(image_inputs "$WORKER_IMAGE")" == "$want" ]] && return 0
  local log="$DEPS_DIR/build-worker.log"
  say "publishing the worker and building $WORKER_IMAGE (log: $log)"
  rm -rf "$publish"
  {
    dotnet publish "$ROOT/src/Provisioning.Worker/Provisioning.Worker.csproj" --configuration Release --output "$publish" &&
      DOCKER_BUILDKIT=1 "$DOCKER" build --build-arg APP_STAGE=prebuilt --build-arg RUNTIME_IMAGE="$RUNTIME_IMAGE" \
        --label "$LABEL=$want" -t "$WORKER_IMAGE" "$ROOT"
  } >"$log" 2>&1 || die "building $WORKER_IMAGE failed; read $log"
}

write_env() {
  mkdir -p "$DEPS_DIR"
  local tmp="$ENV_FILE.$$"
  # The compose file's image variables (compose/docker-compose.yml): the Containers tests read the file and
  # resolve ${VAR:-default} as compose does, so these take the place of the official images there.
  cat >"$tmp" <<EOF
# Written by scripts/containers.sh: the local images for the container path (docs/testing.md).
export RABBITMQ_IMAGE='$PREFIX/rabbitmq:management'
export POSTGRES_IMAGE='$PREFIX/postgres:15'
export MOSQUITTO_IMAGE='$PREFIX/mosquitto:2.0'
export HAPROXY_IMAGE='$PREFIX/haproxy:2.6'
export WORKER_TAG='offline'
export DOCKER_HOST='${DOCKER_HOST:-unix:///var/run/docker.sock}'
# Testcontainers for .NET 4.x asks for API 1.44 unless told; Debian's engine (20.10) speaks up to this one.
export DOCKER_API_VERSION='$("$DOCKER" version -f '{{ .Server.APIVersion }}')'
# The published ports are reached on loopback (Testcontainers would otherwise take a bridge's gateway here).
export TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1
# Testcontainers' resource reaper is an image from a registry; the tests dispose of their containers themselves.
export TESTCONTAINERS_RYUK_DISABLED=true
EOF
  mv "$tmp" "$ENV_FILE"
  grep '^export ' "$ENV_FILE" | sed 's/^export //'
}

case "${1:-up}" in
  up)
    mkdir -p "$DEPS_DIR"
    started=$SECONDS
    install_packages
    find_client
    start_engine
    build_base
    build_image "$PREFIX/rabbitmq:management" "$ROOT/containers/rabbitmq"
    build_image "$PREFIX/postgres:15" "$ROOT/containers/postgres"
    build_image "$PREFIX/mosquitto:2.0" "$ROOT/containers/mosquitto"
    build_image "$PREFIX/haproxy:2.6" "$ROOT/containers/haproxy"
    build_runtime
    build_worker
    say "images ready in $((SECONDS - started)) s"
    write_env
    ;;
  down)
    find_client
    stop_engine
    ;;
  *)
    echo "usage: scripts/containers.sh [up|down]" >&2
    exit 2
    ;;
esac
