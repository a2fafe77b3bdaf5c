/* options.h - a tool's command-line options as one table: each entry names an option, its
 * argument, its line in --help and what it does, so getopt_long's option list, the option list
 * of --help and the fuzz target (tests/fuzz/fuzz_tool_exit.h) are all read from it. */
#ifndef SHMBUS_TOOLS_OPTIONS_H
#define SHMBUS_TOOLS_OPTIONS_H

#include <stddef.h>
#include <stdio.h>

/* The column at which --help starts an option's description (and its continuation lines). */
#define TOOL_HELP_COLUMN 25

/* The most options one table may hold (getopt_long's arrays are built on the stack). */
#define TOOL_OPTIONS_MAX 48

struct tool_option {
  const char *name; /* long name without "--"; NULL: a heading of --help, @help is its text */
  char letter;      /* the short option ('m' for -m), or 0 for a long-only option */
  const char *arg;  /* the argument as --help names it ("TEXT"); NULL: takes none */
  const char *help; /* description, '\n' between lines; NULL: no line of its own in --help */
  /* set() - apply the option (@arg: its argument, or NULL) to the caller's @ctx.
   * Return: 0, or a nonzero value that stops parsing and is returned by tool_options_parse(). */
  int (*set)(void *ctx, const char *arg);
};

/* How a tool reports an option that getopt_long rejects. */
struct tool_options {
  const struct tool_option *list;
  size_t n;
  /* getopt_messages: 1: getopt_long prints its own message (opterr) before rejected() runs;
   * 0: it stays silent and rejected() says what was wrong. */
  int getopt_messages;
  /* rejected() - report what getopt_long returned as @c ('?' unknown option or surplus
   * argument, ':' missing argument) for @argv. Return: nonzero (tool_options_parse returns it). */
  int (*rejected)(int c, char **argv);
};

/* tool_options_parse() - run getopt_long over @argv (from optind on) with the options of @t,
 * calling each option's set(@ctx, optarg) in command-line order.
 * Context: not reentrant (getopt's state is global); optind = 0 before a second parse.
 * Return: 0 when every option was applied (optind is then the first operand), else the first
 * nonzero value of a set() or of rejected(). */
int tool_options_parse(const struct tool_options *t, int argc, char **argv, void *ctx);

/* tool_options_help() - the option list of --help on @f: a heading as written, an option as
 * "  -m, --message TEXT" (or "      --long ARG") padded to TOOL_HELP_COLUMN (two spaces at
 * least), then its description, each further line of it indented to that column. */
void tool_options_help(FILE *f, const struct tool_options *t);

#endif /* SHMBUS_TOOLS_OPTIONS_H */
