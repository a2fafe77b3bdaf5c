/* shmbus_types.h - typed records: OMG IDL schemas, C-struct records, JSON and CDR.
 *
 * A typed bus carries a schema (core/shmbus.h, struct shmbus_schema). For the schema encoding
 * "omgidl" with the message encoding SHMBUS_MSG_CSTRUCT ("x-shmbus-cstruct"), a record is the
 * bytes of a plain C struct laid out as docs/TYPES.md says (natural alignment, little-endian,
 * the x86-64 and aarch64 Linux ABIs agree), and this library turns it into JSON, text, one
 * field, or CDR, and JSON back into a record.
 *
 * The IDL is parsed by Cyclone DDS's IDL library (libcycloneddsidl, idl_parse_string).
 * Supported: every integer width, float, double, boolean, char, octet, enums, fixed
 * (multi-dimensional) arrays, nested structs, typedefs, modules, and fixed-size char arrays
 * (shown as strings). Anything else (sequences, strings, unions, ...) is refused by
 * shmbus_type_parse() with a message naming the member and the construct.
 *
 * Concurrency: a shmbus_type is immutable after shmbus_type_parse(); any number of threads may
 * use one at once. Calls never keep pointers to their arguments.
 * Errors: 0 or a length, or a negative errno; when @err is not NULL, a one-line message
 * (NUL-terminated, truncated to @errlen) says what was wrong and where (the field, the line). */
#ifndef SHMBUS_TYPES_H
#define SHMBUS_TYPES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct shmbus_type shmbus_type;

/* shmbus_type_parse() - parse @idl (@len bytes of OMG IDL, not necessarily NUL-terminated) and
 * select the struct @type_name ("sensors::Imu"; a leading "::" is allowed).
 * Return: 0 and *@out (free with shmbus_type_free()); -EINVAL (IDL syntax error, unknown type,
 * unsupported construct: the message says which); -ENOMEM. */
int shmbus_type_parse(const char *idl, size_t len, const char *type_name, shmbus_type **out,
                      char *err, size_t errlen);
void shmbus_type_free(shmbus_type *t);

/* The C struct: its sizeof and alignment; its fully qualified name ("sensors::Imu"). */
size_t shmbus_type_size(const shmbus_type *t);
size_t shmbus_type_align(const shmbus_type *t);
const char *shmbus_type_name(const shmbus_type *t);

/* shmbus_type_describe() - the layout of @t as one JSON object, for bindings that build their
 * own views of a record (numpy dtypes, a viewer's field list):
 *   {"name":"sensors::Imu","size":40,"align":8,"fields":[F, ...]}
 * where each F is {"name":"acc","offset":8,"type":T,"dims":[3]} ("dims" absent or [] for a
 * scalar; row-major), and T is one of "int8" "uint8" "int16" "uint16" "int32" "uint32" "int64"
 * "uint64" "float32" "float64" "bool" "char" "octet", {"enum":"sensors::Mode","size":4,
 * "values":{"IDLE":0,...}}, {"chars":N} (a char array shown as a string: dims then exclude N), or
 * {"struct":"sensors::Vec3","size":24,"align":8,"fields":[F, ...]}.
 * Return: the length of *@out (malloc'd); -ENOMEM. */
ssize_t shmbus_type_describe(const shmbus_type *t, char **out);

/* shmbus_type_to_json() - @rec (@len bytes: exactly shmbus_type_size(), else -EMSGSIZE) as one
 * JSON object: nested structs as objects, arrays as (nested) arrays, enums by name (a value with
 * no name as its number), char arrays as strings (up to the first NUL), booleans as true/false
 * (any non-zero byte is true), 64-bit integers exact, NaN and infinities as the JSON-compatible
 * strings "NaN", "Infinity", "-Infinity", -0.0 as -0.0. Compact, one line, no newline.
 * Return: the length of *@out (malloc'd, NUL-terminated; free() it); -EMSGSIZE; -ENOMEM. */
ssize_t shmbus_type_to_json(const shmbus_type *t, const void *rec, size_t len, char **out,
                            char *err, size_t errlen);

/* shmbus_type_to_text() - as above, as "field=value" pairs separated by spaces, nested names
 * dotted and indexed ("pose.x=1.5 acc[0]=0.1 acc[1]=0 ..."). */
ssize_t shmbus_type_to_text(const shmbus_type *t, const void *rec, size_t len, char **out,
                            char *err, size_t errlen);

/* shmbus_type_from_json() - one JSON object (@len bytes) into a record of shmbus_type_size()
 * bytes at @rec (@cap must be at least that). Missing fields are zero; an unknown field, a wrong
 * JSON type, an out-of-range value, a string too long for its char array, an unknown enum name,
 * an array of the wrong length is -EINVAL with a message naming the field ("acc[3]: ..."). The
 * strings "NaN", "Infinity", "-Infinity" are accepted for float and double. Nothing is written
 * to @rec unless the whole object converts.
 * Return: shmbus_type_size(); -EINVAL; -EMSGSIZE (@cap too small); -ENOMEM. */
ssize_t shmbus_type_from_json(const shmbus_type *t, const char *json, size_t len, void *rec,
                              size_t cap, char *err, size_t errlen);

/* shmbus_type_field() - one field of @rec as a JSON value (a number, a string, an object or an
 * array), selected by @path: member names dotted, array elements indexed ("acc[2]",
 * "pose.position.x", "m[1][0]"). Return: the length of *@out (malloc'd); -ENOENT with a message
 * when @path names no field; -EMSGSIZE; -ENOMEM. */
ssize_t shmbus_type_field(const shmbus_type *t, const void *rec, size_t len, const char *path,
                          char **out, char *err, size_t errlen);

/* shmbus_type_field_number() - as shmbus_type_field(), for a numeric (or boolean, or enum)
 * scalar field, as a double. Return: 0; -ENOENT; -EINVAL (not a numeric scalar); -EMSGSIZE. */
int shmbus_type_field_number(const shmbus_type *t, const void *rec, size_t len, const char *path,
                             double *out, char *err, size_t errlen);

/* shmbus_type_cdr_size() - bytes of the CDR form of every record of @t (fixed: no sequences or
 * strings are supported), including the 4-byte encapsulation header. */
size_t shmbus_type_cdr_size(const shmbus_type *t);

/* shmbus_type_to_cdr() - @rec as XCDR1 (plain CDR), little-endian, with the encapsulation header
 * {0x00, 0x01, 0x00, 0x00} (CDR_LE), alignment relative to the byte after the header, as
 * @foxglove/omgidl-serialization and DDS read it. Return: the length written to @out;
 * -EMSGSIZE (@len is not shmbus_type_size(), or @cap < shmbus_type_cdr_size()). */
ssize_t shmbus_type_to_cdr(const shmbus_type *t, const void *rec, size_t len, void *out,
                           size_t cap);

/* shmbus_type_from_cdr() - XCDR1 (plain CDR) of a message of @t (@len bytes, from anyone: a
 * recording, another tool) back into a record of shmbus_type_size() bytes at @rec (@cap must
 * be at least that). The inverse of shmbus_type_to_cdr(), over untrusted input: the
 * encapsulation header must be CDR_LE {00 01} or CDR_BE {00 00} (big-endian payloads are
 * byte-swapped; the two option bytes are ignored); @len must be shmbus_type_cdr_size(), or up
 * to 3 bytes more (the padding to a multiple of 4 that DDS writers add); padding bytes inside
 * may hold anything; enum values are copied as they are (a value with no name included);
 * any non-zero boolean byte becomes 1; char arrays are copied byte for byte. The record's own
 * padding is zero. Nothing is written to @rec unless the whole message converts.
 * Return: shmbus_type_size(); -EBADMSG (not CDR, truncated, or too long for @t: @err says
 * which); -ENOTSUP (XCDR2 or parameter-list CDR); -EMSGSIZE (@cap too small). */
ssize_t shmbus_type_from_cdr(const shmbus_type *t, const void *cdr, size_t len, void *rec,
                             size_t cap, char *err, size_t errlen);

/* shmbus_type_check() - whether @type_name in @idl is a supported struct (a dry run of
 * shmbus_type_parse()). Return: 0; -EINVAL with a message. */
int shmbus_type_check(const char *idl, size_t len, const char *type_name, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif /* SHMBUS_TYPES_H */
