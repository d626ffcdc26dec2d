# hebbkit_add_plugin(<name> SOURCES <files>... [LIBRARIES <libs>...] [OUTPUT_DIRECTORY <dir>])
#
# Builds one plugin: a loadable module named hebbkit_<name>.so that links the hebbkit
# framework. In the hebbkit tree it lands in the build's plugin folder, where the host
# finds it; out of tree it lands in OUTPUT_DIRECTORY (default: the current binary dir),
# which you point HEBBKIT_PLUGIN_PATH at.
function(hebbkit_add_plugin name)
  cmake_parse_arguments(ARG "" "OUTPUT_DIRECTORY" "SOURCES;LIBRARIES" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "hebbkit_add_plugin(${name}): no SOURCES given")
  endif()
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "hebbkit_add_plugin(${name}): unknown arguments ${ARG_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT ARG_OUTPUT_DIRECTORY)
    if(HEBBKIT_PLUGIN_OUTPUT_DIR)
      set(ARG_OUTPUT_DIRECTORY "${HEBBKIT_PLUGIN_OUTPUT_DIR}")
    else()
      set(ARG_OUTPUT_DIRECTORY "${CMAKE_CURRENT_BINARY_DIR}")
    endif()
  endif()

  set(target hebbkit_plugin_${name})
  add_library(${target} MODULE ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE hebbkit::framework ${ARG_LIBRARIES})
  target_compile_features(${target} PRIVATE cxx_std_17)
  # Hidden visibility: a plugin exports only what HEBBKIT_PLUGIN marks (its API version and
  # manifest), so two plugins' private classes of the same name cannot collide.
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    OUTPUT_NAME "hebbkit_${name}"
    LIBRARY_OUTPUT_DIRECTORY "${ARG_OUTPUT_DIRECTORY}"
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  if(HEBBKIT_INSTALL_PLUGINS)
    # Installed plugins find libhebbkit.so relative to their own folder.
    file(RELATIVE_PATH to_libdir "/prefix/${HEBBKIT_INSTALL_PLUGINDIR}" "/prefix/${CMAKE_INSTALL_LIBDIR}")
    set_target_properties(${target} PROPERTIES INSTALL_RPATH "$ORIGIN/${to_libdir}")
    install(TARGETS ${target} LIBRARY DESTINATION "${HEBBKIT_INSTALL_PLUGINDIR}")
  endif()
endfunction()
