/* A typed bus through the installed typed-records library: typed BUS LABEL
 * Parses a small IDL schema, publishes one record from JSON on a bus that carries the schema,
 * reads it back, and prints it as JSON, decoded with the schema the bus carries. Then a broken
 * schema: Cyclone's own message, captured by the library (nothing on stderr). */
#include <shmbus.h>
#include <shmbus_types.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char idl[] = "module demo {\n"
                          "  enum Mode { IDLE, RUN };\n"
                          "  struct Point { double x, y; uint32 n; Mode mode; char name[8]; };\n"
                          "};\n";

static int fail(const char *what, int rc, const char *err) {
  fprintf(stderr, "%s: %s%s%s\n", what, rc < 0 ? shmbus_strerror(rc) : "", err ? ": " : "",
          err ? err : "");
  return 1;
}

int main(int argc, char **argv) {
  char err[256], rec[64], buf[64];
  shmbus_type *t, *rt, *bad;
  shmbus_pub *p;
  shmbus_sub *s;
  struct shmbus_schema schema = {
      .type_name = "demo::Point",
      .schema_encoding = "omgidl",
      .message_encoding = SHMBUS_MSG_CSTRUCT,
      .text = idl,
      .text_len = sizeof idl - 1,
  };
  struct shmbus_schema got;
  struct shmbus_pub_opts opts;
  struct shmbus_record_info info;
  const char *json = "{\"x\":1.5,\"y\":-2,\"n\":7,\"mode\":\"RUN\",\"name\":\"pt\"}";
  char *out;
  ssize_t n;
  int rc;
  if (argc < 3) return 2;
  if ((rc = shmbus_type_parse(idl, sizeof idl - 1, "demo::Point", &t, err, sizeof err)) < 0)
    return fail("parse", rc, err);
  shmbus_pub_opts_init(&opts);
  opts.capacity = shmbus_type_size(t);
  opts.schema = &schema;
  if ((rc = shmbus_pub_open(argv[1], &opts, &p)) < 0) return fail("pub_open", rc, NULL);
  if ((rc = shmbus_sub_open(argv[1], 0, &s)) < 0) return fail("sub_open", rc, NULL);
  shmbus_sub_seek(s, SHMBUS_SEEK_NEW);
  if ((n = shmbus_type_from_json(t, json, strlen(json), rec, sizeof rec, err, sizeof err)) < 0)
    return fail("from_json", (int)n, err);
  if ((rc = shmbus_pub_publish(p, rec, (size_t)n)) < 0) return fail("publish", rc, NULL);
  if ((n = shmbus_sub_next(s, buf, sizeof buf, &info)) < 0) return fail("next", (int)n, NULL);
  /* The reader decodes with the schema the bus carries, not the writer's shmbus_type. */
  if ((rc = shmbus_sub_schema(s, &got)) < 0) return fail("sub_schema", rc, NULL);
  if ((rc = shmbus_type_parse(got.text, got.text_len, got.type_name, &rt, err, sizeof err)) < 0)
    return fail("parse the bus's schema", rc, err);
  if ((n = shmbus_type_to_json(rt, buf, (size_t)n, &out, err, sizeof err)) < 0)
    return fail("to_json", (int)n, err);
  printf("%s v%llu %s (%s)\n", got.type_name, (unsigned long long)info.version, out, argv[2]);
  free(out);
  rc = shmbus_type_parse("struct S { long x }", 19, "S", &bad, err, sizeof err);
  printf("%d %s\n", rc, err);
  shmbus_type_free(rt);
  shmbus_type_free(t);
  shmbus_sub_close(s);
  shmbus_pub_close(p);
  return 0;
}
