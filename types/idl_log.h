/* idl_log.h - Cyclone's IDL parser messages, captured instead of printed (idl_log.c). */
#ifndef SHMBUS_TYPES_IDL_LOG_H
#define SHMBUS_TYPES_IDL_LOG_H

struct st_idl_log {
  char msg[256];         /* the first error, "line L, column C: what" ("" if none was seen) */
  unsigned line, column; /* where (1-based; 0 if unknown) */
};

/* Between begin and end, Cyclone's errors on this thread go into @log and its warnings are
 * dropped; outside, they are printed to stderr as Cyclone prints them. */
void st_idl_log_begin(struct st_idl_log *log);
void st_idl_log_end(void);

#endif
