# hebbkit_test_build(<target>...): test code is compiled -O1. It sets up and checks; the work
# it checks runs in libhebbkit and the plugins, built -O3. At -O3 GCC spent a third of a
# test unit's compile time optimising code that runs once (31.6 s against 21.1 s at -O1).
# Floating-point results do not depend on the level (ISO C++ mode: no contraction, no
# fast-math), so what the tests compare is what -O3 code computes.
function(hebbkit_test_build)
  foreach(target IN LISTS ARGN)
    target_compile_options(${target} PRIVATE -O1)
  endforeach()
endfunction()

# hebbkit_add_catch_tests(<target> PREFIX <prefix> SOURCES <files>... [ALONE <tags>...])
#
# One ctest test per test file of a Catch2 executable, named <prefix><file stem>: it runs
# the file's test cases in one process (Catch2's -# tag [#<stem>]). A process costs about a
# second before its first test (LibTorch loading), so one per test case cost the suite
# more than the cases themselves. Test cases with a tag in ALONE get a test of their own
# (<prefix><stem>.<tag>), e.g. those that need real data: such a case prints
# HEBBKIT-SKIPPED when its data is absent, and ctest reports that test as skipped.
function(hebbkit_add_catch_tests target)
  cmake_parse_arguments(ARG "" "PREFIX" "SOURCES;ALONE" ${ARGN})
  set(exclude "")
  foreach(tag IN LISTS ARG_ALONE)
    string(APPEND exclude "~[${tag}]")
  endforeach()
  foreach(source IN LISTS ARG_SOURCES)
    get_filename_component(stem "${source}" NAME_WE)
    if(NOT stem MATCHES "^test_")
      continue()
    endif()
    string(REGEX REPLACE "^test_" "" short "${stem}")
    add_test(NAME "${ARG_PREFIX}${short}" COMMAND ${target} "-#" "[#${stem}]${exclude}" --warn NoTests)
    foreach(tag IN LISTS ARG_ALONE)
      # Only where the file has such a case: Catch2 lists them.
      get_filename_component(path "${source}" ABSOLUTE)
      file(READ "${path}" text)
      if(text MATCHES "\\[${tag}\\]")
        add_test(NAME "${ARG_PREFIX}${short}.${tag}" COMMAND ${target} "-#" "[#${stem}][${tag}]" --warn NoTests)
        set_tests_properties("${ARG_PREFIX}${short}.${tag}" PROPERTIES SKIP_REGULAR_EXPRESSION "HEBBKIT-SKIPPED")
      endif()
    endforeach()
  endforeach()
endfunction()
