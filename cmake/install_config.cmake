# Installs the example config and the systemd unit. Runs at install time (install(SCRIPT) in
# CMakeLists.txt), not at configure time, because where they belong depends on the prefix, and
# `cmake --install build --prefix P` may choose a prefix the build was never configured with.
# Expects SIGNALD_SOURCE_DIR, SIGNALD_BINDIR, SIGNALD_SYSCONFDIR and SIGNALD_DOCDIR (relative
# to the prefix unless absolute, as GNUInstallDirs gives them).

string(REGEX REPLACE "/+$" "" prefix "${CMAKE_INSTALL_PREFIX}") # "/" becomes "", "/usr/" "/usr"

function(signald_absolute out dir)
    if(IS_ABSOLUTE "${dir}")
        set(${out} "${dir}" PARENT_SCOPE)
    else()
        set(${out} "${prefix}/${dir}" PARENT_SCOPE)
    endif()
endfunction()

# Host configuration, as GNUInstallDirs and the FHS place it: /usr keeps its config in /etc,
# /opt/<package> in /etc/opt/<package>, any other prefix (/usr/local, a home directory) in
# <prefix>/etc. Only the last is a plain prefix-relative path.
if(IS_ABSOLUTE "${SIGNALD_SYSCONFDIR}")
    set(config_dir "${SIGNALD_SYSCONFDIR}/signald")
elseif(prefix STREQUAL "/usr")
    set(config_dir "/${SIGNALD_SYSCONFDIR}/signald")
elseif(prefix MATCHES "^/opt/.")
    set(config_dir "/${SIGNALD_SYSCONFDIR}${prefix}")
else()
    set(config_dir "${prefix}/${SIGNALD_SYSCONFDIR}/signald")
endif()
signald_absolute(bin_dir "${SIGNALD_BINDIR}")
signald_absolute(doc_dir "${SIGNALD_DOCDIR}")
# systemd reads units from /usr/lib/systemd/system and /usr/local/lib/systemd/system; for other
# prefixes, `systemctl link` the installed file.
set(unit_dir "${prefix}/lib/systemd/system")

# The config: an administrator's edits survive a reinstall. A file that differs from the one
# shipped is kept and left out of the install manifest, so that removing what the manifest lists
# never deletes it; the pristine example is always in the doc directory.
set(config "$ENV{DESTDIR}${config_dir}/signald.ini")
set(shipped_config "${SIGNALD_SOURCE_DIR}/config/signald.ini")
execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files "${config}" "${shipped_config}"
                RESULT_VARIABLE config_differs OUTPUT_QUIET ERROR_QUIET)
if(EXISTS "${config}" AND config_differs)
    message(STATUS "Keeping: ${config} (edited; the shipped example is ${doc_dir}/signald.ini)")
else()
    file(INSTALL DESTINATION "${config_dir}" TYPE FILE FILES "${shipped_config}")
endif()

# The unit names the binary and the config by absolute path: rewrite the /usr paths it is
# written with for this prefix (a no-op for /usr itself).
file(READ "${SIGNALD_SOURCE_DIR}/config/signald.service" unit)
string(REPLACE "/usr/bin/signald" "${bin_dir}/signald" unit "${unit}")
string(REPLACE "/etc/signald/" "${config_dir}/" unit "${unit}")
string(REPLACE "/usr/share/doc/signald/" "${doc_dir}/" unit "${unit}")
set(unit_file "$ENV{DESTDIR}${unit_dir}/signald.service")
message(STATUS "Installing: ${unit_file}")
file(WRITE "${unit_file}" "${unit}")
file(CHMOD "${unit_file}" PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
list(APPEND CMAKE_INSTALL_MANIFEST_FILES "${unit_dir}/signald.service")
