#!/usr/bin/env bash
# The Debian package, checked as Debian and an operator would (ctest: package_deb, label install).
# Packs this build tree with its own CPack config (cmake/package.cmake) into a temporary directory,
# never building anything, then checks:
#   - the control data: Depends computed by dpkg-shlibdeps, the conffile, the version of the
#     changelog; the file list: every expected path, nothing of a build or source tree;
#   - the files: binary stripped, Debian's copyright format quoting LICENSE, changelog gzip -9n;
#   - lintian: no error;
#   - dpkg into a scratch root with its own database (dpkg --root, maintainer scripts run
#     chrootless with DPKG_ROOT), so this machine's dpkg database and systemd are never touched;
#     as non-root too (--force-not-root). The postinst enables the unit inside the scratch root;
#   - the installed binary: --version, and serving the page and its JavaScript over HTTP from the
#     installed web root with the installed config; the installed man page renders;
#   - an edited conffile survives a reinstall; a purge leaves the scratch root as it was.
# Every wait has a deadline; the one server started is stopped by its PID.
#   tests/install/package_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$(realpath "${1:?usage: package_test.sh BUILD_DIR SOURCE_DIR}")
source_dir=$(realpath "${2:?usage: package_test.sh BUILD_DIR SOURCE_DIR}")

work=$(mktemp -d "${TMPDIR:-/tmp}/signald-package-test.XXXXXX")
server_pid=""
finish() {
    if [[ -n $server_pid ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap finish EXIT
fail() {
    echo "FAIL: $*" >&2
    exit 1
}
step_start=$EPOCHREALTIME
step() { # prints how long the previous step took, so that a slow one shows in the log
    local now=$EPOCHREALTIME
    printf '  (%d ms)\n== %s\n' $(((${now/./} - ${step_start/./}) / 1000)) "$1"
    step_start=$now
}

# ---- Pack ----
step "cpack --config $build/CPackConfig.cmake"
[[ -f $build/CPackConfig.cmake ]] || fail "no CPackConfig.cmake in $build: configure it first"
cpack --config "$build/CPackConfig.cmake" -B "$work/out" >"$work/cpack.log" 2>&1 ||
    { cat "$work/cpack.log"; fail "cpack failed"; }
debs=("$work"/out/signald_*_amd64.deb)
((${#debs[@]} == 1)) && [[ -f ${debs[0]} ]] || fail "expected one signald_*_amd64.deb, got ${debs[*]}"
deb=${debs[0]}
echo "$deb"

# ---- Control data ----
step "dpkg-deb --info"
field() { dpkg-deb --field "$deb" "$1"; }
version=$(field Version)
project_version=$(sed -n 's/^project(signald VERSION \([0-9.]*\) .*/\1/p' "$source_dir/CMakeLists.txt")
[[ $version =~ ^${project_version//./\\.}-[0-9A-Za-z.+~]+$ ]] ||
    fail "Version '$version' is not project()'s $project_version with a Debian revision"
[[ $(basename "$deb") == "signald_${version}_amd64.deb" ]] || fail "file name $(basename "$deb")"
[[ $(field Package) == signald && $(field Architecture) == amd64 ]] || fail "Package/Architecture"
depends=$(field Depends)
echo "Depends: $depends"
# Computed, not listed by hand: each library the binary links, with the version dpkg-shlibdeps
# derives from the symbols it uses.
for library in 'libc6 (>= ' 'libssl3 (>= ' 'libstdc++6 (>= ' 'libhiredis0.14'; do
    [[ $depends == *"$library"* ]] || fail "Depends lacks '$library': $depends"
done
# ... and no library the binary links is missing from it. ldd names a library by the path it was
# found at; dpkg knows it by the path its package ships, /lib or /usr/lib on merged /usr. One
# dpkg-query for all of them: each one reads every package's file list.
mapfile -t depended < <(tr ',' '\n' <<<"$depends" | awk '{print $1}')
mapfile -t libraries < <(ldd "$build/signald" | awk '$2 == "=>" {print $3}' | xargs realpath)
queries=()
for library in "${libraries[@]}"; do
    queries+=("$library" "${library#/usr}")
done
owners=$(dpkg-query -S "${queries[@]}" 2>/dev/null || true) # lines "PACKAGE:ARCH: PATH"
for library in "${libraries[@]}"; do
    owner=$(awk -v a="$library" -v b="${library#/usr}" \
        '$2 == a || $2 == b { sub(/:.*/, "", $1); print $1; exit }' <<<"$owners")
    [[ -n $owner ]] || fail "no Debian package owns $library, which the binary links"
    # The package, or a name it provides (libspdlog1.10 provides libspdlog1.10-fmt9).
    names=$(dpkg-query -W -f='${Package}, ${Provides}' "$owner" | tr ',' '\n' | awk '{print $1}')
    printf '%s\n' "${depended[@]}" | grep -qxF -f <(grep . <<<"$names") ||
        fail "the binary links $library (package $owner), which Depends does not name: $depends"
done
mkdir "$work/control"
dpkg-deb --control "$deb" "$work/control"
[[ $(cat "$work/control/conffiles") == /etc/signald/signald.ini ]] ||
    fail "conffiles: '$(cat "$work/control/conffiles")'"
for script in postinst prerm postrm; do
    [[ -x $work/control/$script ]] || fail "no executable $script"
done

# ---- Contents ----
step "dpkg-deb --contents"
dpkg-deb --contents "$deb" >"$work/contents"
paths=$(awk '{print $6}' "$work/contents" | sed 's|^\./|/|; s|/$||')
expected=(
    /usr/bin/signald
    /etc/signald/signald.ini
    /usr/lib/systemd/system/signald.service
    /usr/share/man/man1/signald.1.gz
    /usr/share/doc/signald/copyright
    /usr/share/doc/signald/changelog.Debian.gz
    /usr/share/doc/signald/README.md
    /usr/share/doc/signald/protocol.md
    /usr/share/doc/signald/signald.ini
    /usr/share/lintian/overrides/signald
)
while read -r page_file; do
    expected+=("/usr/share/signald/web/$page_file")
done < <(cd "$source_dir/web" && find . -type f | sed 's|^\./||')
for path in "${expected[@]}"; do
    grep -qxF "$path" <<<"$paths" || fail "the package lacks $path"
done
# The licence is in the copyright file; everything lives under /usr and /etc, owned by root.
! grep -qxF /usr/share/doc/signald/LICENSE <<<"$paths" || fail "LICENSE beside copyright"
! grep -v -e '^/usr' -e '^/etc' -e '^/$' <<<"$paths" || fail "paths outside /usr and /etc"
! grep -e '^/usr/local' -e '^/usr/etc' <<<"$paths" || fail "paths of another prefix"
! awk '$2 != "root/root"' "$work/contents" | grep . || fail "files not owned by root/root"
! grep -F -e "$build" -e "$source_dir" -e _CPack_Packages <<<"$paths" || fail "build paths"

dpkg-deb --extract "$deb" "$work/files"
# No text file names the tree it was built in (the unit and config are rewritten for /usr).
! grep -rlI -F -e "$build" -e "$source_dir" "$work/files" || fail "files naming the build tree"
# Stripped: no symbol table and no debug sections (readelf names them).
! readelf -S "$work/files/usr/bin/signald" | grep -E '\.symtab|\.debug_' ||
    fail "usr/bin/signald is not stripped"
cmp -s "$work/files/usr/lib/systemd/system/signald.service" "$source_dir/config/signald.service" ||
    fail "the unit differs from config/signald.service"
cmp -s "$work/files/etc/signald/signald.ini" "$source_dir/config/signald.ini" ||
    fail "the conffile differs from config/signald.ini"

# Debian's machine-readable copyright format, quoting LICENSE's terms word for word.
copyright=$work/files/usr/share/doc/signald/copyright
[[ $(head -1 "$copyright") == "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/" ]] ||
    fail "copyright is not in the DEP-5 format"
grep -qx 'License: Expat' "$copyright" || fail "copyright names no Expat (MIT) licence"
license_words=$(sed -n '/^Permission is hereby granted/,$p' "$source_dir/LICENSE" | tr -s ' \n' '  ')
copyright_words=$(sed -n '/^ Permission is hereby granted/,$p' "$copyright" | sed 's/^ \.$//' |
    tr -s ' \n' '  ')
[[ ${copyright_words# } == "${license_words# }" ]] || fail "copyright's licence text is not LICENSE's"

# changelog.Debian.gz: gzip -9n (no file name, no time stamp), newest entry = the package version.
changelog=$work/files/usr/share/doc/signald/changelog.Debian.gz
read -r -a header < <(od -An -tx1 -N10 "$changelog")
[[ ${header[3]} == 00 && ${header[4]}${header[5]}${header[6]}${header[7]} == 00000000 ]] ||
    fail "changelog.Debian.gz carries a name or a time stamp: ${header[*]}"
[[ ${header[8]} == 02 ]] || fail "changelog.Debian.gz is not gzip -9 (XFL ${header[8]})"
[[ $(zcat "$changelog" | head -1) == "signald ($version) "* ]] ||
    fail "the changelog's newest entry is not $version: $(zcat "$changelog" | head -1)"

# ---- lintian ----
step "lintian --info --display-info"
lintian --info --display-info "$deb" >"$work/lintian" 2>&1 || true
grep -E '^[EWIPXO]:' "$work/lintian" || echo "(no tags)"
! grep -q '^E:' "$work/lintian" || { cat "$work/lintian"; fail "lintian reports errors"; }

# ---- Install into a scratch root ----
step "dpkg --root (scratch root, own database)"
root=$work/root
# What every Debian system has: dpkg's database, and the directories of the systemd package that
# deb-systemd-helper writes into (a purge leaves them, as it leaves them on a real system).
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/var/lib/dpkg/triggers" \
    "$root/etc/systemd/system" "$root/var/lib/systemd"
touch "$root/var/lib/dpkg/status" "$root/var/lib/dpkg/available"
# Everything but dpkg's own database, which records the package and its removal.
tree_of() { (cd "$root" && find . -path ./var/lib/dpkg -prune -o -print | sort); }
tree_of >"$work/tree-before"

# Chrootless scripts run here with DPKG_ROOT=$root; the libraries are this machine's, not
# installed in the scratch root, so their dependencies are forced.
dpkg_here=(dpkg "--root=$root" "--log=$work/dpkg.log" --force-script-chrootless --force-depends)
if (($(id -u) != 0)); then
    dpkg_here+=(--force-not-root)
fi
host_wants=/etc/systemd/system/multi-user.target.wants/signald.service
host_had_unit=false
[[ -e $host_wants || -L $host_wants ]] && host_had_unit=true
"${dpkg_here[@]}" --install "$deb" </dev/null >"$work/dpkg-install.log" 2>&1 ||
    { cat "$work/dpkg-install.log"; fail "dpkg --install failed"; }
[[ $("${dpkg_here[@]}" --status signald | sed -n 's/^Status: //p') == "install ok installed" ]] ||
    fail "signald is not 'install ok installed' in the scratch database"
for path in "${expected[@]}"; do
    [[ -e $root$path ]] || fail "installed: no $path"
done
# The postinst enabled the unit, inside the scratch root only.
[[ $(readlink "$root/etc/systemd/system/multi-user.target.wants/signald.service") == \
    /usr/lib/systemd/system/signald.service ]] || fail "the postinst did not enable signald.service"
if ! $host_had_unit && [[ -e $host_wants || -L $host_wants ]]; then
    fail "the postinst enabled signald.service on this machine, not in the scratch root"
fi

# ---- The installed binary ----
step "the installed binary"
[[ $("$root/usr/bin/signald" --version) == "signald $project_version" ]] ||
    fail "--version: $("$root/usr/bin/signald" --version)"
cd "$work"
"$root/usr/bin/signald" --config "$root/etc/signald/signald.ini" --port 0 \
    --web-root "$root/usr/share/signald/web" >"$work/server.out" 2>"$work/server.err" &
server_pid=$!
deadline=$((SECONDS + 10))
until grep -q '^listening on http://' "$work/server.out"; do
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.err"; fail "signald exited"; }
    ((SECONDS < deadline)) || fail "no 'listening on' line within 10 s"
    sleep 0.1
done
url=$(sed -n 's|^listening on \(http://127\.0\.0\.1:[0-9]*/\)$|\1|p' "$work/server.out")
[[ -n $url ]] || fail "not listening on 127.0.0.1 as the installed config says: $(cat "$work/server.out")"
curl -fsS -m 5 -o "$work/index.html" "$url" || fail "GET / failed"
cmp -s "$work/index.html" "$source_dir/web/index.html" || fail "GET / is not web/index.html"
curl -fsS -m 5 -o "$work/app.js" "${url}js/app.js" || fail "GET /js/app.js failed"
cmp -s "$work/app.js" "$source_dir/web/js/app.js" || fail "GET /js/app.js is not web/js/app.js"
kill "$server_pid"
wait "$server_pid" || true
server_pid=""

# The man page renders, without a groff warning, with the sections docs/signald.h2m adds.
man_page=$root/usr/share/man/man1/signald.1.gz
man_text=$(MANWIDTH=100 man -l "$man_page" 2>"$work/man.err") || fail "man -l failed"
[[ ! -s $work/man.err ]] || fail "man -l: $(cat "$work/man.err")"
for expected_text in 'signald - WebSocket signaling server for WebRTC mesh calls' '--max-room-size' \
    'FILES' '/etc/signald/signald.ini' 'SEE ALSO'; do
    [[ $man_text == *"$expected_text"* ]] || fail "the man page lacks '$expected_text'"
done

# ---- The conffile survives a reinstall ----
step "edit the conffile, reinstall"
conffile=$root/etc/signald/signald.ini
printf 'max-room-size = 4\n' >>"$conffile"
cp "$conffile" "$work/edited.ini"
# Standard input is /dev/null: a conffile question would fail the install instead of waiting.
"${dpkg_here[@]}" --install "$deb" </dev/null >"$work/dpkg-reinstall.log" 2>&1 ||
    { cat "$work/dpkg-reinstall.log"; fail "the reinstall failed"; }
cmp -s "$conffile" "$work/edited.ini" || fail "the reinstall replaced the edited conffile"

# ---- Purge ----
step "dpkg --purge"
"${dpkg_here[@]}" --purge signald </dev/null >"$work/dpkg-purge.log" 2>&1 ||
    { cat "$work/dpkg-purge.log"; fail "dpkg --purge failed"; }
[[ ! -e $root/etc/signald ]] || fail "/etc/signald is still there after the purge"
! "${dpkg_here[@]}" --status signald >/dev/null 2>&1 ||
    fail "signald is still known to the scratch database after the purge"
tree_of >"$work/tree-after"
diff "$work/tree-before" "$work/tree-after" || fail "the purge left files behind (above)"
step "done"
