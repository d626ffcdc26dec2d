# Makes hebbkit findable with find_package(hebbkit), both from this build tree
# (-Dhebbkit_DIR=<build>) and from an install (cmake --install).
include(CMakePackageConfigHelpers)
include(GNUInstallDirs)

set(HEBBKIT_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/hebbkit")

write_basic_package_version_file("${PROJECT_BINARY_DIR}/hebbkitConfigVersion.cmake"
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)

# Build tree.
export(TARGETS hebbkit_framework NAMESPACE hebbkit:: FILE "${PROJECT_BINARY_DIR}/hebbkitTargets.cmake")
configure_package_config_file(cmake/hebbkitConfig.cmake.in "${PROJECT_BINARY_DIR}/hebbkitConfig.cmake"
  INSTALL_DESTINATION "${PROJECT_BINARY_DIR}")
configure_file(cmake/HebbkitPlugin.cmake "${PROJECT_BINARY_DIR}/HebbkitPlugin.cmake" COPYONLY)

# Install tree.
install(TARGETS hebbkit_framework EXPORT hebbkitTargets
  LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}"
  INCLUDES DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
install(TARGETS hebbkit_cli RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}")
install(DIRECTORY framework/include/hebbkit DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
install(EXPORT hebbkitTargets NAMESPACE hebbkit:: DESTINATION "${HEBBKIT_INSTALL_CMAKEDIR}")
configure_package_config_file(cmake/hebbkitConfig.cmake.in "${PROJECT_BINARY_DIR}/install/hebbkitConfig.cmake"
  INSTALL_DESTINATION "${HEBBKIT_INSTALL_CMAKEDIR}")
install(FILES "${PROJECT_BINARY_DIR}/install/hebbkitConfig.cmake"
              "${PROJECT_BINARY_DIR}/hebbkitConfigVersion.cmake"
              cmake/HebbkitPlugin.cmake
        DESTINATION "${HEBBKIT_INSTALL_CMAKEDIR}")
