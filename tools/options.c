/* options.c - getopt_long and --help's option list from one table of options (options.h). */
#include "tools/options.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

/* getopt_long's val for a long-only option: above every char, so no short option collides. */
#define LONG_ONLY_VAL 256

/* The entry getopt_long's return value @c stands for, or NULL. */
static const struct tool_option *option_for(const struct tool_options *t, int c) {
  size_t i;
  if (c >= LONG_ONLY_VAL)
    return (size_t)(c - LONG_ONLY_VAL) < t->n ? &t->list[c - LONG_ONLY_VAL] : NULL;
  for (i = 0; i < t->n; i++) {
    if (t->list[i].name != NULL && t->list[i].letter == c) return &t->list[i];
  }
  return NULL;
}

/* getopt_long's short option string and long option array for @t. Headings are skipped. */
static void build_getopt_tables(const struct tool_options *t, char *shorts, struct option *longs) {
  size_t i, k = 0;
  char *s = shorts;
  if (t->n > TOOL_OPTIONS_MAX) abort(); /* a tool's table outgrew the arrays: raise the max */
  if (!t->getopt_messages) *s++ = ':';  /* ':' for a missing argument, and silence */
  for (i = 0; i < t->n; i++) {
    const struct tool_option *o = &t->list[i];
    if (o->name == NULL) continue;
    if (o->letter) {
      *s++ = o->letter;
      if (o->arg) *s++ = ':';
    }
    longs[k].name = o->name;
    longs[k].has_arg = o->arg ? required_argument : no_argument;
    longs[k].flag = NULL;
    longs[k].val = o->letter ? o->letter : LONG_ONLY_VAL + (int)i;
    k++;
  }
  *s = '\0';
  memset(&longs[k], 0, sizeof longs[k]);
}

int tool_options_parse(const struct tool_options *t, int argc, char **argv, void *ctx) {
  char shorts[3 * TOOL_OPTIONS_MAX + 2];
  struct option longs[TOOL_OPTIONS_MAX + 1];
  const struct tool_option *o;
  int c, rc;
  build_getopt_tables(t, shorts, longs);
  opterr = t->getopt_messages;
  while ((c = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
    o = option_for(t, c);
    if (o == NULL) return t->rejected(c, argv);
    if ((rc = o->set(ctx, o->arg ? optarg : NULL)) != 0) return rc;
  }
  return 0;
}

/* Write @text, each line after the first indented to TOOL_HELP_COLUMN. */
static void help_text(FILE *f, const char *text) {
  const char *nl;
  while ((nl = strchr(text, '\n')) != NULL) {
    fprintf(f, "%.*s\n%*s", (int)(nl - text), text, TOOL_HELP_COLUMN, "");
    text = nl + 1;
  }
  fprintf(f, "%s\n", text);
}

void tool_options_help(FILE *f, const struct tool_options *t) {
  size_t i;
  int w;
  for (i = 0; i < t->n; i++) {
    const struct tool_option *o = &t->list[i];
    if (o->help == NULL) continue;
    if (o->name == NULL) {
      fprintf(f, "%s\n", o->help);
      continue;
    }
    if (o->letter) w = fprintf(f, "  -%c, --%s", o->letter, o->name);
    else w = fprintf(f, "      --%s", o->name);
    if (o->arg) w += fprintf(f, " %s", o->arg);
    fprintf(f, "%*s", w + 2 > TOOL_HELP_COLUMN ? 2 : TOOL_HELP_COLUMN - w, "");
    help_text(f, o->help);
  }
}
