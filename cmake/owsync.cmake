# One precompiled header shared by every test binary (compile time on 2 cores matters in CI).
function(owsync_test_pch_target)
  file(WRITE ${CMAKE_BINARY_DIR}/owsync_test_pch.cc "int owsync_test_pch_anchor = 0;\n")
  add_library(owsync_test_pch STATIC ${CMAKE_BINARY_DIR}/owsync_test_pch.cc)
  target_link_libraries(owsync_test_pch PUBLIC GTest::gtest GTest::gmock)
  target_precompile_headers(owsync_test_pch PUBLIC
    <gtest/gtest.h> <gmock/gmock.h> <algorithm> <atomic> <cstdint> <functional> <map>
    <memory> <optional> <string> <string_view> <thread> <vector>)
endfunction()

# owsync_test(NAME SOURCES ... LIBS ... [LABELS ...] [PG]): one gtest binary registered with CTest.
# PG tests link owsync_testing_main, whose main() provides a real PostgreSQL: the one named by
# OWSYNC_TEST_PG_URL (scripts/test.sh starts one per run through `owsync testenv`), or, when the
# binary runs alone, a private server it starts and removes itself. Nothing is ever skipped.
function(owsync_test name)
  cmake_parse_arguments(T "PG" "TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  # gtest/gmock and the standard headers are compiled once (owsync_test_pch), not per test.
  target_precompile_headers(${name} REUSE_FROM owsync_test_pch)
  if(T_PG)
    target_link_libraries(${name} PRIVATE ${T_LIBS} owsync_testing_main)
    list(APPEND T_LABELS pg)
  else()
    target_link_libraries(${name} PRIVATE ${T_LIBS} GTest::gtest_main)
  endif()
  target_link_libraries(${name} PRIVATE GTest::gtest GTest::gmock Threads::Threads)
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS "${T_LABELS}")
  if(T_TIMEOUT)
    set_tests_properties(${name} PROPERTIES TIMEOUT ${T_TIMEOUT})
  endif()
endfunction()

# owsync_folder_library(NAME DEPS ... [TEST_LIBS ...]): the folder's one static library from
# every *.cc that is not a test, and one test binary per *_test.cc beside it. Files named
# *_pg_test.cc get a real PostgreSQL (see owsync_test). Tests link the library and TEST_LIBS.
function(owsync_folder_library name)
  cmake_parse_arguments(L "" "" "DEPS;PRIVATE_DEPS;TEST_LIBS" ${ARGN})
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cc)
  file(GLOB tests CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*_test.cc)
  file(GLOB benches CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*_bench.cc)
  file(GLOB mains CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*_main.cc)
  if(tests OR benches OR mains)
    list(REMOVE_ITEM srcs ${tests} ${benches} ${mains})
  endif()
  if(srcs)
    add_library(${name} STATIC ${srcs})
    target_link_libraries(${name} PUBLIC ${L_DEPS} PRIVATE ${L_PRIVATE_DEPS})
  else()
    add_library(${name} INTERFACE)
    target_link_libraries(${name} INTERFACE ${L_DEPS})
  endif()
  foreach(t ${tests})
    get_filename_component(tname ${t} NAME_WE)
    if(tname MATCHES "_pg_test$")
      owsync_test(${tname} PG SOURCES ${t} LIBS ${name} ${L_TEST_LIBS})
    else()
      owsync_test(${tname} SOURCES ${t} LIBS ${name} ${L_TEST_LIBS})
    endif()
  endforeach()
endfunction()

# owsync_concurrent_tests(NAME ...): marks tests that exercise threads or processes running at
# once; scripts/test.sh runs them again under ThreadSanitizer.
function(owsync_concurrent_tests)
  foreach(t ${ARGN})
    get_test_property(${t} LABELS labels)
    if(NOT labels)
      set(labels "")
    endif()
    list(APPEND labels concurrent)
    set_tests_properties(${t} PROPERTIES LABELS "${labels}")
  endforeach()
endfunction()
