# The layering of src/chainrule (docs/architecture.md): no include points back up.
add_test(NAME "layering: every include in src/chainrule follows the picture in docs/architecture.md"
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/layering/check_includes.sh ${CMAKE_SOURCE_DIR}/src)

# Tutorial 10 shows the training step by quoting train_step; the quote must stay the code.
add_test(NAME "docs: tutorial 10 quotes train_step exactly as src/chainrule/train/step.cpp has it"
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/docs/quoted_step.sh ${CMAKE_SOURCE_DIR})
