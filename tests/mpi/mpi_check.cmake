# Runs the hetero tool under mpirun for one mpi test (cmake -P). Settings (-D):
#   TOOL, MPIEXEC, MPIEXEC_FLAGS  the tool, and the launcher with the flags it needs here
#                                 (space-separated)
#   MODE       compare      the counts of `render --backend BACKENDS --policy POLICY` on RANKS
#                           ranks equal serial's (sum and hash), and serial's sum is EXPECTED_SUM
#                           when given
#              unavailable  on 1 rank, --backend mpi fails with the reason
#              rank_exits   rank 2 exits after its first tile: the job fails within LIMIT_S
#              rank_stalls  rank 2 stops answering after its first tile: the job fails within
#                           LIMIT_S, rank 0 saying which rank
#              resume       the same failure with a journal, then `--resume` on RANKS - 1 ranks:
#                           the counts equal serial's, and tiles came from the journal
#   RANKS, JOB (job options, space-separated), POLICY, BACKENDS, EXPECTED_SUM, LIMIT_S
cmake_minimum_required(VERSION 3.25)
separate_arguments(JOB UNIX_COMMAND "${JOB}")
separate_arguments(MPIEXEC_FLAGS UNIX_COMMAND "${MPIEXEC_FLAGS}")

function(fail message)
  message(FATAL_ERROR "mpi_check ${MODE}: ${message}")
endfunction()

# Reads "checksum": {"sum", "hash"} of a report printed by `--json -`.
function(read_checksum json what out_sum out_hash)
  string(JSON sum ERROR_VARIABLE error GET "${json}" checksum sum)
  if(error)
    fail("the ${what} run printed no report with a checksum (${error}):\n${json}")
  endif()
  string(JSON hash GET "${json}" checksum hash)
  set(${out_sum} "${sum}" PARENT_SCOPE)
  set(${out_hash} "${hash}" PARENT_SCOPE)
endfunction()

set(launch ${MPIEXEC} ${MPIEXEC_FLAGS} -np ${RANKS})
set(rank_options --rank-backend threads --threads 1)

if(MODE STREQUAL "compare")
  execute_process(COMMAND ${TOOL} render --backend serial ${JOB} --json -
                  OUTPUT_VARIABLE serial ERROR_VARIABLE serial_err RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    fail("serial run failed (${rc}): ${serial_err}")
  endif()
  read_checksum("${serial}" serial serial_sum serial_hash)
  if(DEFINED EXPECTED_SUM AND NOT serial_sum EQUAL EXPECTED_SUM)
    fail("serial sum ${serial_sum}, expected ${EXPECTED_SUM}")
  endif()
  execute_process(COMMAND ${launch} ${TOOL} render --backend ${BACKENDS} --policy ${POLICY}
                          ${rank_options} ${JOB} --json -
                  OUTPUT_VARIABLE report ERROR_VARIABLE report_err RESULT_VARIABLE rc
                  TIMEOUT 150)
  if(NOT rc EQUAL 0)
    fail("${RANKS} ranks: exit ${rc}: ${report_err}")
  endif()
  read_checksum("${report}" mpi mpi_sum mpi_hash)
  if(NOT mpi_sum EQUAL serial_sum OR NOT mpi_hash STREQUAL serial_hash)
    fail("${RANKS} ranks, ${POLICY}: sum ${mpi_sum} hash ${mpi_hash}, serial: sum ${serial_sum} "
         "hash ${serial_hash}")
  endif()
  # The mpi node has one lane per remote rank and computed tiles.
  string(JSON nodes LENGTH "${report}" nodes)
  set(found FALSE)
  math(EXPR last "${nodes} - 1")
  foreach(i RANGE ${last})
    string(JSON name GET "${report}" nodes ${i} name)
    if(name STREQUAL "mpi")
      set(found TRUE)
      string(JSON lanes GET "${report}" nodes ${i} lanes)
      string(JSON tiles GET "${report}" nodes ${i} tiles)
      math(EXPR remote "${RANKS} - 1")
      if(NOT lanes EQUAL remote OR tiles LESS 1)
        fail("the mpi node has ${lanes} lanes and ${tiles} tiles; expected ${remote} lanes")
      endif()
    endif()
  endforeach()
  if(NOT found)
    fail("the report has no mpi node:\n${report}")
  endif()
  message(STATUS "${RANKS} ranks, ${BACKENDS}, ${POLICY}: sum ${mpi_sum} hash ${mpi_hash} = serial")
elseif(MODE STREQUAL "resume")
  execute_process(COMMAND ${TOOL} render --backend serial ${JOB} --json -
                  OUTPUT_VARIABLE serial RESULT_VARIABLE rc)
  read_checksum("${serial}" serial serial_sum serial_hash)
  set(journal "${CMAKE_CURRENT_BINARY_DIR}/mpi-resume.journal")
  file(REMOVE "${journal}")
  execute_process(COMMAND ${CMAKE_COMMAND} -E env HETERO_MPI_TEST_STALL_RANK=2
                          HETERO_MPI_TIMEOUT_S=3
                          ${launch} ${TOOL} render --backend mpi --policy dynamic ${rank_options}
                          ${JOB} --tile 2000 --journal ${journal} --json -
                  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc TIMEOUT ${LIMIT_S})
  if(rc EQUAL 0 OR NOT rc MATCHES "^[0-9]+$")
    fail("the job with a stalled rank did not fail within ${LIMIT_S} s (${rc})")
  endif()
  math(EXPR fewer "${RANKS} - 1")
  execute_process(COMMAND ${MPIEXEC} ${MPIEXEC_FLAGS} -np ${fewer} ${TOOL} render --backend mpi
                          --policy dynamic ${rank_options} ${JOB} --resume ${journal} --json -
                  OUTPUT_VARIABLE report ERROR_VARIABLE report_err RESULT_VARIABLE rc
                  TIMEOUT 150)
  file(REMOVE "${journal}")
  if(NOT rc EQUAL 0)
    fail("the resume on ${fewer} ranks failed (${rc}): ${report_err}")
  endif()
  read_checksum("${report}" resumed sum hash)
  if(NOT sum EQUAL serial_sum OR NOT hash STREQUAL serial_hash)
    fail("resumed: sum ${sum} hash ${hash}, serial: sum ${serial_sum} hash ${serial_hash}")
  endif()
  if(NOT report MATCHES "resumed ([1-9][0-9]*) of ([0-9]+) tiles")
    fail("the resume took no tile from the journal:\n${report}")
  endif()
  message(STATUS "resumed ${CMAKE_MATCH_1} of ${CMAKE_MATCH_2} tiles on ${fewer} ranks: sum ${sum} "
                 "hash ${hash} = serial")
elseif(MODE STREQUAL "unavailable")
  execute_process(COMMAND ${launch} ${TOOL} render --backend mpi ${JOB} --json -
                  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc TIMEOUT 60)
  if(rc EQUAL 0 OR NOT err MATCHES "2 or more ranks")
    fail("expected a failure naming '2 or more ranks', got exit ${rc}: ${err}")
  endif()
elseif(MODE STREQUAL "rank_exits" OR MODE STREQUAL "rank_stalls")
  if(MODE STREQUAL "rank_exits")
    set(env HETERO_MPI_TEST_EXIT_RANK=2)
  else()
    set(env HETERO_MPI_TEST_STALL_RANK=2 HETERO_MPI_TIMEOUT_S=3)
  endif()
  string(TIMESTAMP start "%s")
  execute_process(COMMAND ${CMAKE_COMMAND} -E env ${env}
                          ${launch} ${TOOL} render --backend mpi --policy dynamic ${rank_options}
                          ${JOB} --tile 2000 --json -
                  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc TIMEOUT ${LIMIT_S})
  string(TIMESTAMP end "%s")
  math(EXPR seconds "${end} - ${start}")
  if(NOT rc MATCHES "^[0-9]+$")
    fail("the job did not end within ${LIMIT_S} s (${rc})")
  endif()
  if(rc EQUAL 0)
    fail("the job succeeded although rank 2 failed")
  endif()
  if(MODE STREQUAL "rank_stalls" AND NOT err MATCHES "rank 2 [^\n]*sent nothing")
    fail("rank 0 did not name the silent rank: ${err}")
  endif()
  message(STATUS "failed as expected in ${seconds} s, exit ${rc}")
else()
  fail("unknown MODE")
endif()
