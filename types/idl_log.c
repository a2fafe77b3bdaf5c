/* idl_log.c - Cyclone's IDL parser messages, captured instead of printed.
 *
 * libcycloneddsidl 0.10 prints every error and warning to stderr itself (idl_error(),
 * idl_verror() and idl_warning() call fprintf) and offers no callback. A library must not
 * write to its caller's stderr, and the message belongs in our @err. The parser calls these
 * three through the PLT (they are exported: `objdump -R libcycloneddsidl.so` lists them as
 * JUMP_SLOTs), so the definitions below, linked into the program (types/BUILD links this
 * library statically), take their place: ELF symbol interposition. On this thread, between
 * st_idl_log_begin() and st_idl_log_end(), the first error goes into the caller's buffer;
 * elsewhere a message is printed as Cyclone prints it. If interposition were ever lost (a
 * -Bsymbolic build of the library), the parse still fails cleanly and idl.c reports the
 * scanner's position instead; types_test checks that the captured text is Cyclone's. */
#include "types/idl_log.h"

#include <idl/processor.h>
#include <stdarg.h>
#include <stdio.h>

static _Thread_local struct st_idl_log *current;

void st_idl_log_begin(struct st_idl_log *log) { current = log; }
void st_idl_log_end(void) { current = NULL; }

static void log_message(bool error, const idl_location_t *loc, const char *fmt, va_list ap) {
  unsigned line = loc ? loc->first.line : 0, col = loc ? loc->first.column : 0;
  if (current == NULL) {
    fprintf(stderr, "%u:%u: ", line, col);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    return;
  }
  if (!error || current->msg[0] != '\0') return;
  current->line = line;
  current->column = col;
  int n = snprintf(current->msg, sizeof current->msg, "line %u, column %u: ", line, col);
  if (n > 0 && (size_t)n < sizeof current->msg)
    vsnprintf(current->msg + n, sizeof current->msg - (size_t)n, fmt, ap);
}

void idl_verror(const idl_pstate_t *pstate, const idl_location_t *loc, const char *fmt,
                va_list ap) {
  (void)pstate;
  log_message(true, loc, fmt, ap);
}

void idl_error(const idl_pstate_t *pstate, const idl_location_t *loc, const char *fmt, ...) {
  va_list ap;
  (void)pstate;
  va_start(ap, fmt);
  log_message(true, loc, fmt, ap);
  va_end(ap);
}

void idl_warning(const idl_pstate_t *pstate, idl_warning_t warning, const idl_location_t *loc,
                 const char *fmt, ...) {
  va_list ap;
  (void)pstate;
  (void)warning;
  va_start(ap, fmt);
  log_message(false, loc, fmt, ap);
  va_end(ap);
}
