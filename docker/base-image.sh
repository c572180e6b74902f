#!/usr/bin/env bash
# Builds a Java 25 JRE base image locally, for machines that cannot pull
# eclipse-temurin:25-jre (no registry reachable) but can reach a Debian mirror.
#
#   docker/base-image.sh [TAG]        (default TAG: shepherd-base:local)
#
# The image imitates the eclipse-temurin JRE layout, so the Dockerfile does
# not care which of the two it gets:
#   - a Debian 12 (bookworm) minbase root made by debootstrap, plus tini;
#   - a Java 25 runtime at /opt/java/openjdk, cut with jlink from the local
#     Temurin 25 JDK (Debian 12 packages no Java 25), JAVA_HOME and PATH set.
#
# Needs root, debootstrap, a Temurin/OpenJDK 25 JDK (JDK25_HOME, or found
# under /usr/lib/jvm) and a docker engine (DOCKER_HOST as usual).
# Cached: the root file system is kept as a tarball in docker/.work/, and the
# image carries a label with a hash of this script and of the JDK's release
# file; a run that finds an image with the same label does nothing.
set -euo pipefail

TAG=${1:-shepherd-base:local}
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=${SHEPHERD_DOCKER_WORK:-$HERE/.work}
SUITE=bookworm
# The mirror apt already uses here; override with DEBIAN_MIRROR.
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
# The modules of a Temurin JRE: java.se plus the runtime jdk.* modules, none
# of the development tools (no compiler, so no single-file `java X.java`).
MODULES=java.se,jdk.charsets,jdk.crypto.ec,jdk.crypto.cryptoki,jdk.httpserver,\
jdk.jfr,jdk.localedata,jdk.management,jdk.management.agent,jdk.management.jfr,\
jdk.naming.dns,jdk.naming.rmi,jdk.net,jdk.nio.mapmode,jdk.sctp,jdk.security.auth,\
jdk.security.jgss,jdk.unsupported,jdk.xml.dom,jdk.zipfs

log() { printf '[base-image] %s\n' "$*" >&2; }

find_jdk() {
  if [[ -n ${JDK25_HOME:-} ]]; then echo "$JDK25_HOME"; return; fi
  local d
  for d in /usr/lib/jvm/temurin-25-jdk* /usr/lib/jvm/java-25-* /opt/java/jdk-25*; do
    [[ -x $d/bin/jlink ]] && { echo "$d"; return; }
  done
  log "no Java 25 JDK found: set JDK25_HOME"; exit 1
}

JDK=$(find_jdk)
RECIPE=$(cat "$0" "$JDK/release" | sha256sum | cut -c1-16)
ROOTFS_TAR=$WORK/base-rootfs-$RECIPE.tar

if [[ $(docker image inspect -f '{{index .Config.Labels "shepherd.base.recipe"}}' "$TAG" 2>/dev/null) == "$RECIPE" ]]; then
  log "$TAG is up to date (recipe $RECIPE)"
  exit 0
fi

if [[ ! -s $ROOTFS_TAR ]]; then
  mkdir -p "$WORK"
  root=$(mktemp -d "$WORK/rootfs.XXXXXX")
  trap 'rm -rf "$root"' EXIT
  chmod 755 "$root" # mktemp's 0700 would become the mode of the image's /
  log "debootstrap $SUITE from $MIRROR (a few minutes)"
  # minbase: only Essential packages and apt; tini is the container's init.
  debootstrap --variant=minbase --include=tini "$SUITE" "$root" "$MIRROR" \
    >"$WORK/debootstrap.log" 2>&1 || { tail -20 "$WORK/debootstrap.log" >&2; exit 1; }
  log "jlink a Java 25 runtime from $JDK"
  "$JDK/bin/jlink" --add-modules "$MODULES" --strip-debug --no-man-pages \
    --no-header-files --output "$root/opt/java/openjdk"
  # Things an image never needs: package caches, docs, man pages, locales.
  rm -rf "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/* \
    "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
    "$root"/usr/share/locale/* "$root"/var/log/*
  tar -C "$root" --numeric-owner -cf "$ROOTFS_TAR.tmp" .
  mv "$ROOTFS_TAR.tmp" "$ROOTFS_TAR"
  rm -rf "$root"; trap - EXIT
  # Older recipes' tarballs are dead weight.
  find "$WORK" -maxdepth 1 -name 'base-rootfs-*.tar' ! -name "${ROOTFS_TAR##*/}" -delete
fi

log "docker import $TAG"
docker import \
  --change 'ENV JAVA_HOME=/opt/java/openjdk' \
  --change 'ENV PATH=/opt/java/openjdk/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change "LABEL shepherd.base.recipe=$RECIPE" \
  "$ROOTFS_TAR" "$TAG" >/dev/null
log "$TAG ready ($(docker image inspect -f '{{.Size}}' "$TAG" | numfmt --to=iec))"
