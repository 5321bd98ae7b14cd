# Run by cpack before it packages (CPACK_PROJECT_CONFIG_FILE). The .deb is only useful if the extcap and the
# Lua dissector land in the folders Debian's Wireshark searches (`tshark -G folders`): a build folder
# configured before CMAKE_INSTALL_LIBDIR became lib/<multiarch> would put them elsewhere.
set(expected_libdir "lib/${CPACK_SPICECAP_MULTIARCH}")
if(NOT CPACK_SPICECAP_EXTCAPDIR STREQUAL "${expected_libdir}/wireshark/extcap" OR
   NOT CPACK_SPICECAP_LUADIR STREQUAL "${expected_libdir}/wireshark/plugins")
  message(FATAL_ERROR "spicecap's .deb needs the extcap in ${expected_libdir}/wireshark/extcap and the Lua "
    "dissector in ${expected_libdir}/wireshark/plugins, but this build folder installs them to "
    "${CPACK_SPICECAP_EXTCAPDIR} and ${CPACK_SPICECAP_LUADIR}: configure it again with "
    "-DCMAKE_INSTALL_LIBDIR=${expected_libdir} (or use a new build folder)")
endif()
