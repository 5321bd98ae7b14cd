# Run by cpack between staging the installed files and packing them (CPACK_PRE_BUILD_SCRIPTS): strips the
# ELF files as Debian's dh_strip does, so the packages carry no debug info, .comment or .note sections
# (lintian: unstripped-static-library, binary-has-unneeded-section) and the static library is deterministic.
find_program(strip_program NAMES strip REQUIRED)
file(GLOB_RECURSE staged LIST_DIRECTORIES false "${CPACK_TEMPORARY_INSTALL_DIRECTORY}/*")
foreach(file IN LISTS staged)
  if(IS_SYMLINK "${file}")
    continue()
  endif()
  if(file MATCHES "\\.a$")
    set(options --strip-debug --enable-deterministic-archives)
  else()
    file(READ "${file}" magic LIMIT 4 HEX)
    if(NOT magic STREQUAL "7f454c46")  # not ELF
      continue()
    endif()
    if(file MATCHES "\\.so(\\.[0-9]+)*$")
      set(options --strip-unneeded)
    else()
      set(options)                     # executables: everything but what running them needs
    endif()
  endif()
  execute_process(COMMAND ${strip_program} ${options} --remove-section=.comment --remove-section=.note "${file}"
    COMMAND_ERROR_IS_FATAL ANY)
endforeach()
