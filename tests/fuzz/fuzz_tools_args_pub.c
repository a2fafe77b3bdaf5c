/* fuzz_tools_args_pub.c - shmpub's parse_args, compiled from the tool's own source (see
 * fuzz_tools_args.c). */
#include "tests/fuzz/fuzz_tool_exit.h"

#define main shmpub_tool_main
#include FUZZ_TOOL_SOURCE(shmpub)
#undef main

void fuzz_shmpub_args(int argc, char **argv);
void fuzz_shmpub_args(int argc, char **argv) { FUZZ_PARSE(argc, argv); }
