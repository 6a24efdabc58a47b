# Run by cpack (CPACK_PRE_BUILD_SCRIPTS in cmake/package.cmake) on the staging directory that the
# install rules filled, before it is packed: turns a plain /usr install into what a Debian package
# carries: a stripped binary, Debian's files in /usr/share/doc/signald and the lintian overrides.
# Everything else comes from the install rules unchanged.

set(stage "${CPACK_TEMPORARY_INSTALL_DIRECTORY}")
set(doc "${stage}/usr/share/doc/signald")
if(NOT IS_DIRECTORY "${doc}")
    message(FATAL_ERROR "deb_stage: no ${doc}: did the install rules run with prefix /usr?")
endif()

# The licence goes in Debian's machine-readable copyright file, which quotes it in full; a second
# copy as LICENSE is what lintian calls extra-license-file.
file(REMOVE "${doc}/LICENSE")
file(COPY "${CPACK_SIGNALD_DEB_DIR}/copyright" DESTINATION "${doc}"
     FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ) # not INSTALL: no DESTDIR

# changelog.Debian.gz, compressed as Debian does: -9, and -n so that no file name or time stamp
# makes two builds of the same changelog differ.
execute_process(COMMAND gzip -9nc "${CPACK_SIGNALD_DEB_DIR}/changelog"
                OUTPUT_FILE "${doc}/changelog.Debian.gz" RESULT_VARIABLE gzip_result)
if(NOT gzip_result EQUAL 0)
    message(FATAL_ERROR "deb_stage: gzip of the changelog failed (${gzip_result})")
endif()
file(CHMOD "${doc}/changelog.Debian.gz" PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)

# Stripped as dh_strip strips an executable: no symbols, and neither the compiler's .comment nor
# the .note section (the build id in .note.gnu.build-id stays). CPACK_STRIP_FILES would leave
# both sections.
execute_process(COMMAND "${CPACK_SIGNALD_STRIP}" --remove-section=.comment --remove-section=.note
                        "${stage}/usr/bin/signald" RESULT_VARIABLE strip_result)
if(NOT strip_result EQUAL 0)
    message(FATAL_ERROR "deb_stage: ${CPACK_SIGNALD_STRIP} usr/bin/signald failed (${strip_result})")
endif()

# The lintian overrides, each with its reason (packaging/deb/lintian-overrides). 0755
# directories, as the install rules make theirs, whatever the umask.
set(overrides "${stage}/usr/share/lintian/overrides")
file(MAKE_DIRECTORY "${overrides}")
file(CHMOD "${stage}/usr/share/lintian" "${overrides}" PERMISSIONS OWNER_READ OWNER_WRITE
     OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
file(COPY_FILE "${CPACK_SIGNALD_DEB_DIR}/lintian-overrides" "${overrides}/signald")
file(CHMOD "${overrides}/signald" PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
