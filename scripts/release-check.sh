#!/usr/bin/env bash
# Release check: builds a snapshot release with goreleaser exactly as a tagged
# release would be built (binaries, archives, .deb, .rpm, checksums) into dist/
# and inspects what came out, without installing anything from it:
#   - goreleaser check (config valid, no deprecations)
#   - the .deb: binary, conffile /etc/chronik/chronik.toml, systemd unit, maintainer scripts
#   - the .rpm: %config(noreplace) file, scriptlets, files (installs the rpm tool if missing and root)
#   - the linux/amd64 archive: README, LICENSE, docs, packaging files, and its chronik-server prints
#     the snapshot version
#   - checksums.txt verifies
# Works from a clean clone without tags (snapshot version 0.0.1-SNAPSHOT-<commit>) and with a dirty
# tree; needs no network except the Go module proxy for the first goreleaser install (~2-4 min,
# then cached in $(go env GOPATH)/bin). Prints PASS/FAIL per check and a summary; exits 1 on any FAIL.
set -euo pipefail
cd "$(dirname "$0")/.."

readonly GORELEASER_VERSION=v2.15.1
readonly BIN=chronik-server
start_s=$SECONDS
passed=0
failed=0
failures=()

pass() { printf '  PASS  %s\n' "$1"; passed=$((passed + 1)); }
fail() { printf '  FAIL  %s\n' "$1"; failed=$((failed + 1)); failures+=("$1"); }
# check DESCRIPTION COMMAND...: PASS if the command succeeds.
check() {
  local desc=$1; shift
  if "$@" >/dev/null 2>&1; then pass "$desc"; else fail "$desc"; fi
}
# has TEXT LINE: TEXT contains LINE as a whole line.
has() { grep -qxF -- "$2" <<<"$1"; }
# has_re TEXT REGEX: some line of TEXT matches REGEX (grep -E).
has_re() { grep -qE -- "$2" <<<"$1"; }
step() { printf '\n==> %s\n' "$*"; }

summary() {
  local took=$((SECONDS - start_s))
  printf '\n==> release check summary: %d passed, %d failed (%ds)\n' "$passed" "$failed" "$took"
  if ((failed > 0)); then
    for f in "${failures[@]}"; do printf '  FAIL  %s\n' "$f"; done
    echo "RELEASE CHECK: FAIL"
    exit 1
  fi
  echo "RELEASE CHECK: PASS"
}
# abort MESSAGE [LOG]: a step the rest depends on failed.
abort() {
  fail "$1"
  if [[ -n ${2:-} && -f $2 ]]; then echo "---- last lines of $2"; tail -n 40 "$2"; echo "----"; fi
  summary
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

step "goreleaser $GORELEASER_VERSION"
gr="$(go env GOPATH)/bin/goreleaser"
if "$gr" --version 2>/dev/null | grep -qE "GitVersion:[[:space:]]+$GORELEASER_VERSION\$"; then
  echo "cached: $gr"
else
  echo "installing with go install (a few minutes the first time) ..."
  t0=$SECONDS
  if ! go install "github.com/goreleaser/goreleaser/v2@$GORELEASER_VERSION" >"$tmp/install.log" 2>&1; then
    abort "install goreleaser $GORELEASER_VERSION" "$tmp/install.log"
  fi
  echo "installed in $((SECONDS - t0))s"
fi
pass "goreleaser $GORELEASER_VERSION available"

# goreleaser reads the remote URL and, in snapshot mode, falls back to commit "none" and no commit
# date when there is none (a local clone without origin). Supply one through the environment only:
# the repository's git config is not touched.
if ! git ls-remote --get-url >/dev/null 2>&1 && [[ -z ${GIT_CONFIG_COUNT:-} ]]; then
  export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=remote.origin.url
  export GIT_CONFIG_VALUE_0=https://github.com/chronik-stream/chronik.git
fi
commit=$(git rev-parse HEAD)

step "goreleaser check"
if "$gr" check >"$tmp/check.log" 2>&1; then pass "goreleaser check"; else abort "goreleaser check" "$tmp/check.log"; fi

step "goreleaser release --snapshot --clean --skip=publish,sign,sbom"
t0=$SECONDS
if ! "$gr" release --snapshot --clean --skip=publish,sign,sbom >"$tmp/release.log" 2>&1; then
  abort "goreleaser snapshot release" "$tmp/release.log"
fi
pass "goreleaser snapshot release ($((SECONDS - t0))s)"
version=$(sed -n 's/.*"version":"\([^"]*\)".*/\1/p' dist/metadata.json)
echo "snapshot version: $version (commit $commit)"
[[ -n $version ]] || abort "read the snapshot version from dist/metadata.json"
check "version carries the commit ($version)" has_re "$version" "^[0-9]+\.[0-9]+\.[0-9]+-SNAPSHOT-${commit:0:7}"

# artifact_path NAME: where dist/artifacts.json says the artifact uploaded as NAME is. Raw binaries
# (archives of format "binary") stay in their build directory until publish renames them.
artifact_path() {
  if [[ -f dist/$1 ]]; then echo "dist/$1"; return; fi
  tr '{' '\n' <dist/artifacts.json | grep -F "\"name\":\"$1\"," | head -n1 | sed -n 's/.*"path":"\([^"]*\)".*/\1/p'
}
# verify_checksums: every line of dist/checksums.txt matches its artifact.
verify_checksums() {
  local sum name path n=0
  while read -r sum name; do
    path=$(artifact_path "$name")
    [[ -n $path && -f $path ]] || { echo "no artifact $name"; return 1; }
    [[ $(sha256sum "$path" | cut -d' ' -f1) == "$sum" ]] || { echo "checksum mismatch: $name"; return 1; }
    n=$((n + 1))
  done <dist/checksums.txt
  ((n > 0))
}

step "archives, raw binaries, checksums"
for arch in amd64 arm64; do
  check "archive chronik_${version}_linux_${arch}.tar.gz" test -s "dist/chronik_${version}_linux_${arch}.tar.gz"
  raw=$(artifact_path "$BIN-v${version}-linux-${arch}")
  check "raw binary $BIN-v${version}-linux-${arch} (guide's download name)" test -s "${raw:-/nonexistent}"
done
check "checksums.txt lists every archive, raw binary and package, and verifies" verify_checksums
check "checksums.txt covers the .deb and .rpm" bash -c 'grep -q "\.deb$" dist/checksums.txt && grep -q "\.rpm$" dist/checksums.txt'

archive="dist/chronik_${version}_linux_amd64.tar.gz"
if tar -xzf "$archive" -C "$tmp" 2>/dev/null; then
  dir="$tmp/chronik_${version}_linux_amd64"
  for f in "$BIN" README.md LICENSE docs/quickstart.md docs/operations.md packaging/chronik.toml packaging/systemd/chronik.service; do
    check "archive holds $f" test -s "$dir/$f"
  done
  check "archive LICENSE is the Apache License 2.0" grep -q "Apache License" "$dir/LICENSE"
  check "archive holds chronik-tui and it prints its version" has "$("$dir/chronik-tui" --version 2>&1 || true)" "chronik-tui v${version} (console API chronik.console.v1)"
  out=$("$dir/$BIN" version 2>&1 || true)
  want="Chronik Stream v${version} (features: raft, clustering)"
  if [[ $out == "$want" ]]; then pass "packaged $BIN version prints: $out"; else fail "packaged $BIN version: got '$out', want '$want'"; fi
  verbose=$("$dir/$BIN" version --verbose 2>&1 || true)
  check "packaged $BIN version --verbose names commit $commit" has "$verbose" "commit: $commit"
  check "packaged $BIN is statically linked (CGO_ENABLED=0)" bash -c "! ldd '$dir/$BIN' >/dev/null 2>&1"
else
  fail "extract $archive"
fi

step ".deb"
deb=$(ls dist/chronik_*_amd64.deb 2>/dev/null | head -n1 || true)
check ".deb for arm64 built" bash -c 'ls dist/chronik_*_arm64.deb'
if [[ -z $deb ]]; then
  fail ".deb for amd64 built"
else
  pass ".deb for amd64 built: $deb"
  info=$(dpkg-deb -I "$deb")
  contents=$(dpkg-deb -c "$deb" | awk '{print $6}')
  conffiles=$(dpkg-deb -I "$deb" conffiles 2>/dev/null || true)
  check ".deb Package: chronik" has "$(dpkg-deb -f "$deb" Package)" chronik
  deb_version=$(dpkg-deb -f "$deb" Version)
  check ".deb Version $deb_version matches $version" test "${deb_version//\~/-}" = "$version"
  check ".deb contains /usr/bin/$BIN" has "$contents" "./usr/bin/$BIN"
  check ".deb contains /usr/bin/chronik-tui" has "$contents" "./usr/bin/chronik-tui"
  check ".deb contains /etc/chronik/chronik.toml" has "$contents" ./etc/chronik/chronik.toml
  check ".deb contains /lib/systemd/system/chronik.service" has "$contents" ./lib/systemd/system/chronik.service
  check ".deb contains /usr/share/doc/chronik/LICENSE" has "$contents" ./usr/share/doc/chronik/LICENSE
  check ".deb conffiles lists /etc/chronik/chronik.toml" has "$conffiles" /etc/chronik/chronik.toml
  for s in preinst postinst prerm postrm; do
    check ".deb maintainer script $s" has_re "$info" "^ +[0-9]+ bytes, +[0-9]+ lines +\* +$s +#!/bin/sh"
  done
  mkdir -p "$tmp/deb"
  dpkg-deb -x "$deb" "$tmp/deb"
  check ".deb unit runs $BIN start as user chronik" bash -c \
    "grep -qx 'User=chronik' '$tmp/deb/lib/systemd/system/chronik.service' &&
     grep -qx 'ExecStart=/usr/bin/$BIN start --config /etc/chronik/chronik.toml' '$tmp/deb/lib/systemd/system/chronik.service'"
  check ".deb $BIN prints the snapshot version" has "$("$tmp/deb/usr/bin/$BIN" version 2>&1 || true)" \
    "Chronik Stream v${version} (features: raft, clustering)"
fi

step ".rpm"
if ! command -v rpm >/dev/null 2>&1; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "installing the rpm tool (apt-get install -y rpm) ..."
    apt-get install -y -q rpm >"$tmp/apt.log" 2>&1 || { apt-get update -q >>"$tmp/apt.log" 2>&1 && apt-get install -y -q rpm >>"$tmp/apt.log" 2>&1; } || true
  fi
fi
rpmf=$(ls dist/chronik-*.x86_64.rpm 2>/dev/null | head -n1 || true)
check ".rpm for aarch64 built" bash -c 'ls dist/chronik-*.aarch64.rpm'
if [[ -z $rpmf ]]; then
  fail ".rpm for x86_64 built"
elif ! command -v rpm >/dev/null 2>&1; then
  fail ".rpm inspection: the rpm tool is missing and could not be installed (apt-get install rpm)"
else
  pass ".rpm for x86_64 built: $rpmf"
  check ".rpm configfiles lists /etc/chronik/chronik.toml" has "$(rpm -qp --configfiles "$rpmf" 2>/dev/null)" /etc/chronik/chronik.toml
  flags=$(rpm -qp --qf '[%{FILENAMES} %{FILEFLAGS:fflags}\n]' "$rpmf" 2>/dev/null)
  check ".rpm /etc/chronik/chronik.toml is %config(noreplace)" has "$flags" '/etc/chronik/chronik.toml cn'
  files=$(rpm -qpl "$rpmf" 2>/dev/null)
  check ".rpm contains /usr/bin/$BIN" has "$files" "/usr/bin/$BIN"
  check ".rpm contains /lib/systemd/system/chronik.service" has "$files" /lib/systemd/system/chronik.service
  scripts=$(rpm -qp --scripts "$rpmf" 2>/dev/null)
  for s in preinstall postinstall preuninstall postuninstall; do
    check ".rpm $s scriptlet" has_re "$scripts" "^$s scriptlet"
  done
fi

summary
