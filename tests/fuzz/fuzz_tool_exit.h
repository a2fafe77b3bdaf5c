/* fuzz_tool_exit.h - included before a tool's source by fuzz_tools_args*.c: the tool's exit()
 * becomes a longjmp back into the fuzz target, so --help and --version return, and
 * FUZZ_PARSE() runs the tool's static parse_args on a fresh struct opts, after spelling out
 * the options that the input names by their place in the tool's option table. */
#ifndef SHMBUS_FUZZ_TOOL_EXIT_H
#define SHMBUS_FUZZ_TOOL_EXIT_H

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>

#include "tools/options.h"

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
// Paths, not divisions: clang-format would space the slashes (and the stringified path).
// clang-format off
#ifdef FUZZ_TOOLS_FROM_TREE
#define FUZZ_TOOL_SOURCE(tool) FUZZ_STR(tools/tool.c)
#else
#define FUZZ_TOOL_SOURCE(tool) FUZZ_STR(tests/fuzz/tool##_src.inc)
#endif
// clang-format on
#define FUZZ_STR(x) #x

/* The most arguments, and the longest spelled one, fuzz_spell_options() handles. */
#define FUZZ_SPELL_ARGS 64
#define FUZZ_SPELL_LEN 128

/* fuzz_spell_options() - @argv with every argument "\x01" K REST replaced by "--NAME=REST"
 * ("--NAME" when REST is empty), NAME being the long name of entry K (modulo their number) of
 * the tool's option table @t: the fuzzer reaches every option without guessing its spelling,
 * and an option added to the table is fuzzed from then on. A heading's entry leaves the
 * argument as it is. Return: the new argv (static storage), NULL-terminated. */
static char **fuzz_spell_options(int argc, char **argv, const struct tool_options *t) {
  static char *out[FUZZ_SPELL_ARGS + 1];
  static char spelled[FUZZ_SPELL_ARGS][FUZZ_SPELL_LEN];
  const struct tool_option *o;
  int i;
  if (argc > FUZZ_SPELL_ARGS) abort(); /* the target makes fewer */
  for (i = 0; i < argc; i++) {
    out[i] = argv[i];
    if (i == 0 || argv[i][0] != '\x01') continue;
    o = &t->list[(unsigned char)argv[i][1] % t->n];
    if (o->name == NULL) continue;
    if (argv[i][1] == '\0' || argv[i][2] == '\0')
      snprintf(spelled[i], FUZZ_SPELL_LEN, "--%s", o->name);
    else snprintf(spelled[i], FUZZ_SPELL_LEN, "--%s=%s", o->name, argv[i] + 2);
    out[i] = spelled[i];
  }
  out[argc] = NULL;
  return out;
}

/* Parse @argc/@argv with the tool's parse_args (options spelled from its table @options);
 * abort if it accepts an invalid bus name. */
#define FUZZ_PARSE(argc, argv)                                                     \
  do {                                                                             \
    struct opts o_;                                                                \
    char **args_ = fuzz_spell_options((argc), (argv), &options);                   \
    int rc_;                                                                       \
    memset(&o_, 0, sizeof o_);                                                     \
    optind = 0; /* glibc: 0 re-initialises getopt completely */                    \
    fuzz_exit_armed = 1;                                                           \
    rc_ = setjmp(fuzz_exit_jump);                                                  \
    if (rc_ == 0) rc_ = parse_args((argc), args_, &o_) == 0 ? 0 : 1;               \
    fuzz_exit_armed = 0;                                                           \
    if (rc_ == 0 && (o_.name == NULL || shmbus_name_check(o_.name) != 0)) abort(); \
  } while (0)

#endif
