# The layering of src/chainrule (docs/architecture.md): no include points back up.
add_test(NAME "layering: every include in src/chainrule follows the picture in docs/architecture.md"
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/layering/check_includes.sh ${CMAKE_SOURCE_DIR}/src)
