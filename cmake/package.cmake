# The Debian package, made by CPack's DEB generator from the install rules in CMakeLists.txt: the
# same files `cmake --install --prefix /usr` stages, plus what only a Debian package carries
# (packaging/deb/: the copyright file, the changelog, the conffile list, the maintainer scripts).
# scripts/package builds one for release; from any configured build tree,
#   cpack --config <build>/CPackConfig.cmake -B <output directory>
# packs what that tree has built (tests/install/package_test.sh does this in build/test).

set(signald_deb_dir ${CMAKE_SOURCE_DIR}/packaging/deb)

# The version: upstream from project(), the Debian revision from the newest entry of the
# changelog, so that the package and its changelog.Debian.gz always say the same. An entry for
# another upstream version is a forgotten changelog entry: the package test fails on it, and
# this warns at configure time.
file(STRINGS ${signald_deb_dir}/changelog signald_deb_top LIMIT_COUNT 1)
if(NOT signald_deb_top MATCHES "^signald \\(([^ ()]+)-([^ ()-]+)\\) ")
    message(FATAL_ERROR "packaging/deb/changelog: first line is not `signald (VERSION-REVISION) ...`")
endif()
set(signald_deb_revision ${CMAKE_MATCH_2})
if(NOT CMAKE_MATCH_1 STREQUAL PROJECT_VERSION)
    message(WARNING "packaging/deb/changelog's newest entry is for ${CMAKE_MATCH_1}, the project "
                    "is ${PROJECT_VERSION}: add an entry before packaging")
endif()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME signald)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_DEBIAN_PACKAGE_RELEASE ${signald_deb_revision})
# signald_<version>-<revision>_<arch>.deb, as dpkg-deb names it.
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER
    "The signald authors <maintainers@users.noreply.r-seed-47c3375f.example>")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# The first line is the synopsis; CPack indents the rest and turns empty lines into " .".
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "WebSocket signaling server for WebRTC mesh calls
signald relays the offers, answers and ICE candidates of multi-party WebRTC
mesh calls between the browsers in a room, and serves its own call page
from the same port. It never touches media. One small single-threaded
process; optional TLS, TURN credentials for coturn, signed room tokens and
clustering through Redis.

The package runs it as a hardened systemd service, listening on
127.0.0.1:8787 until /etc/signald/signald.ini says otherwise.")
# TURN relays and clustering are optional features of servers packaged separately.
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "coturn, redis-server")

# Depends: computed by dpkg-shlibdeps from the libraries the binary really links (libc6, libssl3,
# libhiredis, libspdlog, ...), never listed by hand.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)

# Install with DESTDIR=<staging> and prefix /usr, exactly as a packager stages it: then
# cmake/install_config.cmake puts the config in /etc (its rule for /usr), not in /usr/etc.
# (With DESTDIR, cpack takes the prefix from CPACK_INSTALL_PREFIX; without, from the other.)
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# 0755 directories whatever the umask of whoever packs; control files with the modes Debian policy
# gives them. (The binary is stripped by cmake/deb_stage.cmake, as dh_strip does it.)
set(CPACK_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS
    OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${signald_deb_dir}/conffiles ${signald_deb_dir}/postinst ${signald_deb_dir}/prerm
    ${signald_deb_dir}/postrm)

# cpack packs what the build tree has built and never starts a build: otherwise it builds the
# `preinstall` target, which depends on everything (every test and the load generator), before
# packing. scripts/package builds first; the package test packs build/test, already built. (The
# same holds for `make install`; `cmake --install` never builds anyway.)
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

# After the install into the staging directory, before packing: the Debian-only files.
set(CPACK_PRE_BUILD_SCRIPTS ${CMAKE_SOURCE_DIR}/cmake/deb_stage.cmake)
# CPACK_* variables reach cpack and the script.
set(CPACK_SIGNALD_DEB_DIR ${signald_deb_dir})
set(CPACK_SIGNALD_STRIP ${CMAKE_STRIP})

include(CPack)
