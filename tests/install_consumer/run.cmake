# Installs the built library (every component) into a scratch prefix, then
# configures, builds and runs the consumer project that finds it with
# find_package(loyalty) and links loyalty::loyalty.
#   cmake -DBINARY_DIR=<build tree> -DCONSUMER_DIR=<this folder> -DWORK_DIR=<scratch> -P run.cmake
file(REMOVE_RECURSE ${WORK_DIR})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BINARY_DIR} --prefix ${WORK_DIR}/prefix
                RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "install failed: ${rc}")
endif()
foreach(step
    "${CMAKE_COMMAND};-S;${CONSUMER_DIR};-B;${WORK_DIR}/build;-DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix;-DLOYALTY_CONSUMER=full"
    "${CMAKE_COMMAND};--build;${WORK_DIR}/build"
    "${WORK_DIR}/build/consumer")
  execute_process(COMMAND ${step} RESULT_VARIABLE rc)
  if(rc)
    message(FATAL_ERROR "consumer step failed (${rc}): ${step}")
  endif()
endforeach()
