# as_embed(TARGET_SOURCE_VAR SYMBOL BASE_DIR GLOB...): adds a generated C file
# embedding every file under BASE_DIR that matches the globs; regenerated when
# any of them changes. The generated file's path is stored in TARGET_SOURCE_VAR.
function(as_embed out_var symbol base)
  file(GLOB_RECURSE abs CONFIGURE_DEPENDS RELATIVE "${base}" ${ARGN})
  set(files "")
  set(deps "")
  foreach(f IN LISTS abs)
    list(APPEND files "${f}")
    list(APPEND deps "${base}/${f}")
  endforeach()
  set(output "${CMAKE_BINARY_DIR}/gen/${symbol}.c")
  string(REPLACE ";" "\\;" files_arg "${files}")
  add_custom_command(
    OUTPUT "${output}"
    COMMAND ${CMAKE_COMMAND} -DBASE=${base} "-DFILES=${files_arg}" -DSYMBOL=${symbol}
            -DOUTPUT=${output} -P ${PROJECT_SOURCE_DIR}/cmake/embed.cmake
    DEPENDS ${deps} ${PROJECT_SOURCE_DIR}/cmake/embed.cmake
    COMMENT "Embedding ${symbol}"
    VERBATIM)
  set(${out_var} "${output}" PARENT_SCOPE)
endfunction()
