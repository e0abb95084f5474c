#!/usr/bin/env bash
# Installs the benchmark's peer tools when missing: rclone and GNU time (Debian packages), s5cmd
# (go install into the per-user cache), the AWS CLI (one on PATH, else Debian's), s3-pit-restore (PyPI,
# in a virtualenv of the cache). Idempotent: a second run only checks. Prints one line per tool.
set -euo pipefail

CACHE=${LIFEBOAT_CACHE:-$HOME/.cache/lifeboat}
BIN=$CACHE/bin
VENV=$CACHE/venv-bench
S5CMD_VERSIONS=(latest v2.3.0)
S3_PIT_RESTORE_VERSION=0.9

log() { echo "bench install: $*" >&2; }
die() {
  echo "bench install: $*" >&2
  exit 1
}

mkdir -p "$BIN"

apt_updated=0
# apt_install PACKAGE...: Debian packages, as root or through sudo; `apt-get update` once if needed.
apt_install() {
  local sudo=()
  if ! command -v apt-get >/dev/null 2>&1; then
    die "apt-get is not available: install $* with your system's package manager, then run again"
  fi
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "installing $* needs root: run 'apt-get install -y $*' as root"
    sudo=(sudo)
  fi
  log "apt-get install -y $*"
  if ! DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "$@" >/dev/null; then
    [ "$apt_updated" -eq 0 ] || die "apt-get install $* failed"
    apt_updated=1
    "${sudo[@]}" apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "$@" >/dev/null ||
      die "apt-get install $* failed"
  fi
}

# GNU time: the peak RSS and CPU time of every tool are read from `/usr/bin/time -f`.
if ! /usr/bin/time -f '%e' true >/dev/null 2>&1; then apt_install time; fi

if ! command -v rclone >/dev/null 2>&1; then apt_install rclone; fi

if [ ! -x "$BIN/s5cmd" ]; then
  if command -v s5cmd >/dev/null 2>&1; then
    ln -sf "$(command -v s5cmd)" "$BIN/s5cmd"
  else
    command -v go >/dev/null 2>&1 ||
      die "s5cmd is built with Go: install Go 1.22 or later (https://go.dev/doc/install or apt-get install golang), then run again"
    for v in "${S5CMD_VERSIONS[@]}"; do
      log "go install github.com/peak/s5cmd/v2@$v"
      if GOBIN=$BIN go install "github.com/peak/s5cmd/v2@$v"; then break; fi
    done
    if [ ! -x "$BIN/s5cmd" ]; then
      # `go install m@v` also reads the module's version list, which a proxy may refuse while it still
      # serves the tagged module itself: fetch that and build it (its vendor/ is not in the module zip).
      v=${S5CMD_VERSIONS[-1]}
      log "building s5cmd $v from the module download instead (about 30 s)"
      dir=$(go mod download -json "github.com/peak/s5cmd/v2@$v" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
      [ -n "$dir" ] || die "go mod download github.com/peak/s5cmd/v2@$v failed"
      src=$(mktemp -d)
      cp -r "$dir/." "$src" && chmod -R u+w "$src" && rm -rf "$src/vendor"
      (cd "$src" && GOFLAGS='-mod=mod -buildvcs=false' go build \
        -ldflags "-X github.com/peak/s5cmd/v2/version.Version=$v" -o "$BIN/s5cmd" .) ||
        die "building s5cmd $v failed (see the output above)"
      rm -rf "$src"
    fi
  fi
fi

if ! command -v aws >/dev/null 2>&1 || ! aws --version >/dev/null 2>&1; then apt_install awscli; fi

if [ ! -x "$VENV/bin/s3-pit-restore" ]; then
  command -v python3 >/dev/null 2>&1 || die "s3-pit-restore needs Python 3: apt-get install -y python3 python3-venv"
  python3 -m venv "$VENV" 2>/dev/null ||
    die "python3 cannot create a virtualenv: apt-get install -y python3-venv, then run again"
  log "pip install s3-pit-restore==$S3_PIT_RESTORE_VERSION into $VENV"
  "$VENV/bin/pip" install -q "s3-pit-restore==$S3_PIT_RESTORE_VERSION" ||
    die "pip install s3-pit-restore failed"
fi

log "rclone $(rclone version 2>/dev/null | head -1 | awk '{print $2}'), s5cmd $("$BIN/s5cmd" version 2>/dev/null | head -1), $(aws --version 2>&1 | awk '{print $1}'), s3-pit-restore $S3_PIT_RESTORE_VERSION: ready"
