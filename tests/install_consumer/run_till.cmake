# A till's build: configures the library with only what a till needs
# (LOYALTY_WITH_POSTGRES and LOYALTY_WITH_REPORT OFF), builds and installs
# it into a scratch prefix, then builds the till consumer with
# find_package(loyalty COMPONENTS core sqlite), checks that its link line
# names neither libpq nor nlohmann/json, and runs it.
#   cmake -DSOURCE_DIR=<loyalty> -DCONSUMER_DIR=<this folder> -DWORK_DIR=<scratch>
#         [-DCXX_COMPILER=...] [-DCXX_COMPILER_LAUNCHER=...] [-DWERROR=ON] -P run_till.cmake
include(ProcessorCount)
ProcessorCount(jobs)
if(jobs EQUAL 0)
  set(jobs 2)
endif()

function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(rc)
    message(FATAL_ERROR "${what} failed (${rc}): ${ARGN}")
  endif()
endfunction()

# The library: unoptimized and without debug information (build type None),
# the fastest to compile; this test checks what is linked, not speed.
# Kept between runs apart from the prefix, so that a rerun only rebuilds
# what changed.
set(library_options -DCMAKE_BUILD_TYPE=None -DLOYALTY_WITH_POSTGRES=OFF -DLOYALTY_WITH_REPORT=OFF
                    -DLOYALTY_BUILD_TESTS=OFF -DLOYALTY_BUILD_BENCHMARKS=OFF -DLOYALTY_BUILD_EXAMPLES=OFF
                    -DLOYALTY_BUILD_CLI=OFF)
if(CXX_COMPILER)
  list(APPEND library_options -DCMAKE_CXX_COMPILER=${CXX_COMPILER})
endif()
if(CXX_COMPILER_LAUNCHER)
  list(APPEND library_options -DCMAKE_CXX_COMPILER_LAUNCHER=${CXX_COMPILER_LAUNCHER})
endif()
if(WERROR)
  list(APPEND library_options -DLOYALTY_WERROR=ON)
endif()
file(REMOVE_RECURSE ${WORK_DIR}/prefix ${WORK_DIR}/consumer)
run("configure library" ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/library ${library_options})
run("build library" ${CMAKE_COMMAND} --build ${WORK_DIR}/library --parallel ${jobs})
run("install library" ${CMAKE_COMMAND} --install ${WORK_DIR}/library --prefix ${WORK_DIR}/prefix)

file(GLOB_RECURSE installed RELATIVE ${WORK_DIR}/prefix ${WORK_DIR}/prefix/*.a)
foreach(unwanted loyalty_postgres loyalty_report)
  if(installed MATCHES "${unwanted}")
    message(FATAL_ERROR "the till's installation holds ${unwanted}: ${installed}")
  endif()
endforeach()

# Makefiles, whose link.txt holds the link command read below.
run("configure consumer" ${CMAKE_COMMAND} -G "Unix Makefiles" -S ${CONSUMER_DIR} -B ${WORK_DIR}/consumer
    -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix -DLOYALTY_CONSUMER=till)
run("build consumer" ${CMAKE_COMMAND} --build ${WORK_DIR}/consumer)

# What the till links: the link command, and the shared libraries it loads.
file(READ ${WORK_DIR}/consumer/CMakeFiles/till.dir/link.txt link_line)
execute_process(COMMAND ldd ${WORK_DIR}/consumer/till OUTPUT_VARIABLE loaded RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "ldd failed (${rc})")
endif()
foreach(unwanted "libpq" "-lpq" "nlohmann" "loyalty_postgres" "loyalty_report")
  string(FIND "${link_line}\n${loaded}" "${unwanted}" at)
  if(NOT at EQUAL -1)
    message(FATAL_ERROR "the till links ${unwanted}:\n${link_line}\n${loaded}")
  endif()
endforeach()
message(STATUS "till link line: ${link_line}")

file(GLOB journal ${WORK_DIR}/till.db*)
if(journal)
  file(REMOVE ${journal})
endif()
run("till" ${WORK_DIR}/consumer/till ${WORK_DIR}/till.db)
