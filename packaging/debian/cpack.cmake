# The .deb packages, built from any build folder by `cmake --build build --target package` (or
# `cd build && cpack -G DEB`), see README "Install":
#
#   spicecap         spicecapd, spicecap, the extcap in Wireshark's global extcap folder, usb_vsock.lua in
#                    its global Lua plugin folder, the systemd user unit       (install component spicecap)
#   libspicecap0     libspicecap.so.0, the producer client library             (component producer_runtime)
#   libspicecap-dev  headers, libspicecap.so/.a, spicecap.pc, CMake package    (component producer_dev)
#
# The split follows Debian's: a program that reports to spicecap needs only libspicecap0, and the tools
# link the library statically, so spicecap does not need it.

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME spicecap)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
# Each package's Description is its component's DESCRIPTION: summary line, then the long text, unindented,
# an empty line between paragraphs, no double quotes (CPack does not escape them). CPackDeb would put a
# project-wide summary in front of every one unless the summary is left at CPack's default.
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${CMAKE_PROJECT_NAME} built using CMake")
set(SPICECAP_DEB_MAINTAINER "spicecap developers <spicecap@example.org>" CACHE STRING
    "The Maintainer field of the .deb packages")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER ${SPICECAP_DEB_MAINTAINER})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # NAME_VERSION_ARCH.deb
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)   # dpkg-shlibdeps: libpcap0.8, libstdc++6, libc6 ...
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_ENABLE_COMPONENT_DEPENDS ON)  # CPACK_COMPONENT_<C>_DEPENDS become Depends
set(CPACK_COMPONENTS_ALL spicecap producer_runtime producer_dev)

# spicecap
set(CPACK_DEBIAN_SPICECAP_PACKAGE_NAME spicecap)
set(CPACK_DEBIAN_SPICECAP_PACKAGE_SECTION net)
set(CPACK_DEBIAN_SPICECAP_PACKAGE_RECOMMENDS "tshark | wireshark")
set(CPACK_COMPONENT_SPICECAP_DESCRIPTION
"live SPICE and USB vsock capture for Wireshark
SPICE clients (built with libspicecap), the spicecap proxy, the demo session
or USB vsock host tools report every message they send and receive to a
small per-user daemon, spicecapd. The extcap in this package adds the
interfaces SPICE capture and USB vsock capture to every Wireshark and tshark
on the machine and streams the messages as pcap while they happen: SPICE
inside synthesized TCP, so that Wireshark's SPICE dissector names every
message, and USB vsock with the Lua dissector included.

Start the daemon with: systemctl --user enable --now spicecapd")

# libspicecap0
set(CPACK_DEBIAN_PRODUCER_RUNTIME_PACKAGE_NAME libspicecap0)
set(CPACK_DEBIAN_PRODUCER_RUNTIME_PACKAGE_SECTION libs)
set(CPACK_DEBIAN_PRODUCER_RUNTIME_PACKAGE_SUGGESTS spicecap)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)  # for the packages with a shared library: libspicecap0
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
set(CPACK_DEBIAN_PRODUCER_RUNTIME_PACKAGE_MULTIARCH same)
# ldconfig through a dpkg trigger, as Debian does (lintian: lacks-ldconfig-trigger). CPack also writes a
# postinst and postrm that call ldconfig (lintian: maintscript-calls-ldconfig, harmless); replacing them
# with empty scripts only trades that warning for maintainer-script-empty.
set(CPACK_DEBIAN_PRODUCER_RUNTIME_PACKAGE_CONTROL_EXTRA ${CMAKE_CURRENT_LIST_DIR}/libspicecap0/triggers)
set(CPACK_COMPONENT_PRODUCER_RUNTIME_DESCRIPTION
"spicecap producer client library
libspicecap lets a SPICE client or a USB vsock host tool report every
message it sends and receives to spicecapd, for live capture in Wireshark.
Its calls never block: they copy into a bounded buffer that one background
thread sends; with no daemon running a call costs one atomic load.")

# libspicecap-dev
set(CPACK_DEBIAN_PRODUCER_DEV_PACKAGE_NAME libspicecap-dev)
set(CPACK_DEBIAN_PRODUCER_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_PRODUCER_DEV_PACKAGE_MULTIARCH same)
set(CPACK_COMPONENT_PRODUCER_DEV_DEPENDS producer_runtime)  # becomes Depends: libspicecap0 (= VERSION)
set(CPACK_COMPONENT_PRODUCER_DEV_DESCRIPTION
"spicecap producer client library (development files)
libspicecap lets a SPICE client or a USB vsock host tool report every
message it sends and receives to spicecapd, for live capture in Wireshark.

This package has the C and C++ headers, the shared and static libraries,
and the files for pkg-config (spicecap) and CMake (find_package(spicecap)).")

# Each package's /usr/share/doc/PACKAGE/copyright and changelog.gz, as Debian policy asks. EXCLUDE_FROM_ALL:
# a plain `cmake --install` leaves them out (the packages and per-component installs get them).
configure_file(${CMAKE_CURRENT_LIST_DIR}/changelog.in ${CMAKE_CURRENT_BINARY_DIR}/debian/changelog @ONLY)
execute_process(COMMAND gzip -9nc ${CMAKE_CURRENT_BINARY_DIR}/debian/changelog
  OUTPUT_FILE ${CMAKE_CURRENT_BINARY_DIR}/debian/changelog.gz COMMAND_ERROR_IS_FATAL ANY)
foreach(component_package spicecap:spicecap producer_runtime:libspicecap0 producer_dev:libspicecap-dev)
  string(REPLACE ":" ";" pair ${component_package})
  list(GET pair 0 component)
  list(GET pair 1 package)
  install(FILES ${CMAKE_CURRENT_LIST_DIR}/copyright ${CMAKE_CURRENT_BINARY_DIR}/debian/changelog.gz
    DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/${package} COMPONENT ${component} EXCLUDE_FROM_ALL)
endforeach()

# The packages install under /usr whatever this build's prefix is (the programs find their files relative
# to their own folder). DESTDIR staging keeps CMAKE_INSTALL_PREFIX at /usr while cpack installs, so the
# systemd unit says ExecStart=/usr/bin/spicecapd.
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_SET_DESTDIR ON)
# cpack refuses a build whose folders are not Debian Wireshark's (check_layout.cmake).
set(CPACK_SPICECAP_EXTCAPDIR ${SPICECAP_INSTALL_EXTCAPDIR})
set(CPACK_SPICECAP_LUADIR ${SPICECAP_INSTALL_LUADIR})
set(CPACK_SPICECAP_MULTIARCH ${CMAKE_LIBRARY_ARCHITECTURE})
set(CPACK_PROJECT_CONFIG_FILE ${CMAKE_CURRENT_LIST_DIR}/check_layout.cmake)
set(CPACK_PRE_BUILD_SCRIPTS ${CMAKE_CURRENT_LIST_DIR}/strip_like_dh_strip.cmake)

include(CPack)
