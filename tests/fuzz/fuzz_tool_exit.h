/* fuzz_tool_exit.h - included before a tool's source by fuzz_tools_args*.c: the tool's exit()
 * becomes a longjmp back into the fuzz target, so --help and --version return, and
 * FUZZ_PARSE() runs the tool's static parse_args on a fresh struct opts. */
#ifndef SHMBUS_FUZZ_TOOL_EXIT_H
#define SHMBUS_FUZZ_TOOL_EXIT_H

#include <setjmp.h>
#include <stdlib.h>

static jmp_buf fuzz_exit_jump;
static int fuzz_exit_armed;
static void fuzz_exit(int code) __attribute__((noreturn));
static void fuzz_exit(int code) {
  if (fuzz_exit_armed) longjmp(fuzz_exit_jump, code + 1);
  _Exit(code);
}
#define exit fuzz_exit

/* The tool's source: Bazel copies it to tests/fuzz/TOOL_src.inc (a genrule), run_fuzz.sh
 * includes tools/TOOL.c directly (-DFUZZ_TOOLS_FROM_TREE). */
#ifdef FUZZ_TOOLS_FROM_TREE
#define FUZZ_TOOL_SOURCE(tool) FUZZ_STR(tools/tool.c)
#else
#define FUZZ_TOOL_SOURCE(tool) FUZZ_STR(tests/fuzz/tool##_src.inc)
#endif
#define FUZZ_STR(x) #x

/* Parse @argc/@argv with the tool's parse_args; abort if it accepts an invalid bus name. */
#define FUZZ_PARSE(argc, argv)                                                  \
  do {                                                                          \
    struct opts o_;                                                             \
    int rc_;                                                                    \
    memset(&o_, 0, sizeof o_);                                                  \
    optind = 0; /* glibc: 0 re-initialises getopt completely */                 \
    fuzz_exit_armed = 1;                                                        \
    rc_ = setjmp(fuzz_exit_jump);                                               \
    if (rc_ == 0) rc_ = parse_args((argc), (argv), &o_) == 0 ? 0 : 1;           \
    fuzz_exit_armed = 0;                                                        \
    if (rc_ == 0 && (o_.name == NULL || shmbus_name_check(o_.name) != 0)) abort(); \
  } while (0)

#endif
