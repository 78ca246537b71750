#!/usr/bin/env bash
# Docker Compose v2 as a docker CLI plugin (~/.docker/cli-plugins), for tests/deploy/test_compose.py's
# `docker compose config` check. Debian bookworm packages only Compose v1; the plugin is taken from
# Debian trixie's docker-compose package (a Go binary, needs libc6 >= 2.34) through apt lists of its own,
# so the machine's apt sources and pins are left as they are. Nothing to do without a docker CLI.
set -euo pipefail
PACKAGE_VERSION="${COMPOSE_DEB_VERSION:-2.26.1-4}"
PLUGINS="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"

if ! command -v docker >/dev/null 2>&1; then
  echo "compose: no docker CLI here; the compose check stays skipped"
  exit 0
fi
if docker compose version >/dev/null 2>&1; then
  exit 0
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/archives/partial"
echo "deb http://deb.debian.org/debian trixie main" > "$work/sources.list"
apt_private=(
  -o "Dir::Etc::SourceList=$work/sources.list" -o "Dir::Etc::SourceParts=-"
  -o "Dir::State::Lists=$work/lists" -o "Dir::Cache::Archives=$work/archives"
  -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache=" -o "APT::Sandbox::User=root"
)
apt-get "${apt_private[@]}" update -qq
(cd "$work" && apt-get "${apt_private[@]}" download -qq "docker-compose=$PACKAGE_VERSION")
dpkg-deb -x "$work"/docker-compose_*.deb "$work/extracted"
mkdir -p "$PLUGINS"
install -m 0755 "$work/extracted/usr/libexec/docker/cli-plugins/docker-compose" "$PLUGINS/docker-compose"
docker compose version
