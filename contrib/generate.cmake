# cmake -DEXE=warren -DKIND=man|bash|zsh -DOUT=file -P generate.cmake
execute_process(COMMAND ${EXE} __generate ${KIND} OUTPUT_FILE ${OUT}.tmp RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${EXE} __generate ${KIND} failed: ${rc}")
endif()
file(RENAME ${OUT}.tmp ${OUT})
