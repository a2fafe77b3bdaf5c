/* fanout_calc.h - the pure arithmetic of the fan-out benchmark (bench/fanout.c), kept apart so
 * that tests/bench/fanout_calc_test.cc can pin it without forking a single process.
 */
#ifndef BENCH_FANOUT_CALC_H
#define BENCH_FANOUT_CALC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FANOUT_MAX_LIST 8 /* longest --fanout-readers / --fanout-writer list */

/* fanout_parse_list() - parse "1,4,16" into @out (at most @max values, each 1..@limit).
 * With @allow_all, the word "all" stands for INT_MAX (the writer's broadcast).
 * Return: how many values; -EINVAL (empty, junk, out of range, too many). */
int fanout_parse_list(const char *s, int *out, int max, int limit, int allow_all);

/* fanout_spread() - the first and the last of @n arrival times, relative to @t0 (ns).
 * Arrivals before @t0 (a reader that was awake already) count as 0. @n >= 1. */
void fanout_spread(const int64_t *arrival, int n, int64_t t0, uint64_t *first, uint64_t *last);

/* fanout_proc_state() - the state letter of a /proc/PID/stat line ('S' asleep, 'R' running,
 * ...): the first non-blank character after the last ')' (the command name may hold any
 * character, ')' and spaces included). Return: the letter; -1 if the line has none. */
int fanout_proc_state(const char *line, size_t len);

/* fanout_design_name() - the CSV transport name of a writer fan-out: "shmbus-wake-all" for
 * INT_MAX (the old design's broadcast), else "shmbus-wake-K". Return: @buf. */
const char *fanout_design_name(int fanout, char *buf, size_t n);

/* One target of issue 20: @num / @den against @limit (met when the ratio is at most it). */
struct fanout_target {
  double ratio; /* num / den; < 0 when either is missing (0) */
  int met;      /* 1 met, 0 missed or unknown */
};

/* fanout_target_eval() - fill a target from two p50s (ns; 0 = not measured). */
struct fanout_target fanout_target_eval(uint64_t num, uint64_t den, double limit);

#ifdef __cplusplus
}
#endif
#endif /* BENCH_FANOUT_CALC_H */
