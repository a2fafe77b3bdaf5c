/* fuzz_tools_args.c - shmsub's argument parsing (parse_args, static in the tool), compiled
 * here from the tool's own source with main renamed (fuzz_tool_exit.h turns its exit() into
 * a return). fuzz_tools_args_pub.c does the same for shmpub. */
#include "tests/fuzz/fuzz_tool_exit.h"

#define main shmsub_tool_main
#include FUZZ_TOOL_SOURCE(shmsub)
#undef main

void fuzz_shmsub_args(int argc, char **argv);
void fuzz_shmsub_args(int argc, char **argv) { FUZZ_PARSE(argc, argv); }
