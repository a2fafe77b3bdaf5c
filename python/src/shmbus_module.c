/* shmbus._shmbus - the CPython extension over the C library of core/shmbus.h.
 *
 * Invariant (the C library's): a record handed out by a read is exactly the bytes the writer
 * published for its version. This module adds ownership, exceptions and the GIL, not protocol:
 * every method is one or a few C calls of core/shmbus.h, whose comments give the contracts.
 *
 * The GIL: every call holds it except the waits (Subscriber.wait() and the wait for a bus in
 * Subscriber()), which release it in slices of at most 100 ms and between slices check for
 * signals (Ctrl-C) and for a close() from another thread. So the C rule "one thread at a
 * time per handle" holds for any Python program: a second thread calling into a Subscriber
 * that is waiting gets RuntimeError, and its close() is deferred to the end of the wait.
 *
 * Errors: a negative errno becomes an exception built by shmbus._errors.from_errno() (a
 * shmbus.Error, an OSError with the errno and shmbus_strerror()'s sentence). Outcomes a loop
 * expects are return values: next() -> None (nothing newer), read_latest() -> None (nothing
 * published), wait() -> False (timeout).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <shmbus.h>

#include "types/shmbus_types.h"

/* ---------------------------------------------------------------- errors */

static PyObject *from_errno; /* shmbus._errors.from_errno(errno, sentence, call, name) */

/* raise_rc() - set the exception for negative errno @rc of C call @call on bus @name (may be
 * NULL). Return: NULL, for `return raise_rc(...)`. */
static PyObject *raise_rc(long rc, const char *call, PyObject *name) {
  int e = (int)(rc < 0 ? -rc : rc);
  PyObject *exc = PyObject_CallFunction(from_errno, "issO", e, shmbus_strerror(-e), call,
                                        name ? name : Py_None);
  if (exc != NULL) {
    PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
    Py_DECREF(exc);
  }
  return NULL;
}

/* raise_closed() - shmbus.Closed (EBADF) for a call on a closed object. */
static PyObject *raise_closed(const char *what) {
  PyObject *exc = PyObject_CallFunction(from_errno, "isss", EBADF,
                                        "the object is closed (close() was called)", what, NULL);
  if (exc != NULL) {
    PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
    Py_DECREF(exc);
  }
  return NULL;
}

static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* timeout_ns() - None -> -1 (for ever); seconds (int or float) >= 0 -> ns, saturated.
 * Return: 0; -1 with ValueError/TypeError set. */
static int timeout_ns(PyObject *o, int64_t *out) {
  if (o == NULL || o == Py_None) {
    *out = -1;
    return 0;
  }
  double t = PyFloat_AsDouble(o);
  if (t == -1.0 && PyErr_Occurred()) return -1;
  if (!(t >= 0)) {
    PyErr_SetString(PyExc_ValueError, "timeout must be None or a number of seconds >= 0");
    return -1;
  }
  *out = t >= 1e9 ? -1 : (int64_t)(t * 1e9); /* beyond ~31 years: for ever */
  return 0;
}

/* wait_mode() - "hybrid" / "spin" / "sleep" (or the int constants) -> SHMBUS_WAIT_*. */
static int wait_mode(PyObject *o, int *out) {
  if (o == NULL || o == Py_None) {
    *out = SHMBUS_WAIT_HYBRID;
    return 0;
  }
  if (PyUnicode_Check(o)) {
    const char *s = PyUnicode_AsUTF8(o);
    if (s == NULL) return -1;
    if (strcmp(s, "hybrid") == 0) *out = SHMBUS_WAIT_HYBRID;
    else if (strcmp(s, "spin") == 0) *out = SHMBUS_WAIT_SPIN;
    else if (strcmp(s, "sleep") == 0) *out = SHMBUS_WAIT_SLEEP;
    else goto bad;
    return 0;
  }
  if (PyLong_Check(o)) {
    long v = PyLong_AsLong(o);
    if (v == -1 && PyErr_Occurred()) return -1;
    if (v < 0 || v > SHMBUS_WAIT_SLEEP) goto bad;
    *out = (int)v;
    return 0;
  }
bad:
  PyErr_SetString(PyExc_ValueError, "mode must be \"hybrid\", \"spin\" or \"sleep\"");
  return -1;
}

/* schema_tuple() - a struct shmbus_schema as (type_name, schema_encoding, message_encoding,
 * text: bytes, hash); None for -ENOENT (untyped). */
static PyObject *schema_tuple(int rc, const struct shmbus_schema *sc, const char *call,
                              PyObject *name) {
  if (rc == -ENOENT) Py_RETURN_NONE;
  if (rc < 0) return raise_rc(rc, call, name);
  return Py_BuildValue("(sssy#K)", sc->type_name, sc->schema_encoding, sc->message_encoding,
                       (const char *)sc->text, (Py_ssize_t)sc->text_len,
                       (unsigned long long)sc->hash);
}

/* ---------------------------------------------------------------- Record */

typedef struct {
  PyObject_HEAD unsigned long long version;
  unsigned long long timestamp_ns;
  unsigned long long lost;
  PyObject *data;  /* bytes, or a memoryview of the caller's buffer (the *_into calls) */
  PyObject *typed; /* the Subscriber's decoder (shmbus._Typed) on a typed bus, else NULL */
} RecordObject;

static PyTypeObject RecordType;

static PyObject *record_new(const struct shmbus_record_info *in, PyObject *data /* stolen */,
                            PyObject *typed /* borrowed, may be NULL */) {
  RecordObject *r = PyObject_New(RecordObject, &RecordType);
  if (r == NULL) {
    Py_DECREF(data);
    return NULL;
  }
  r->version = in->version;
  r->timestamp_ns = in->timestamp_ns;
  r->lost = in->lost;
  r->data = data;
  Py_XINCREF(typed);
  r->typed = typed;
  return (PyObject *)r;
}

static void record_dealloc(RecordObject *r) {
  Py_XDECREF(r->data);
  Py_XDECREF(r->typed);
  PyObject_Free(r);
}

static PyObject *record_repr(RecordObject *r) {
  return PyUnicode_FromFormat("Record(version=%llu, timestamp_ns=%llu, lost=%llu, length=%zd)",
                              r->version, r->timestamp_ns, r->lost, PyObject_Length(r->data));
}

static PyObject *record_timestamp(RecordObject *r, void *closure) {
  (void)closure;
  return PyFloat_FromDouble((double)r->timestamp_ns / 1e9);
}

/* record_typed() - call @method of the Subscriber's decoder on the record (typed buses). */
static PyObject *record_typed(RecordObject *r, const char *method) {
  if (r->typed == NULL || r->typed == Py_None) {
    PyErr_SetString(PyExc_TypeError,
                    "the record is not typed: its bus carries no omgidl schema with "
                    "x-shmbus-cstruct records (use rec.data)");
    return NULL;
  }
  return PyObject_CallMethod(r->typed, method, "O", (PyObject *)r);
}

static PyObject *record_value(RecordObject *r, void *closure) {
  (void)closure;
  return record_typed(r, "_value");
}

static PyObject *record_as_dict(RecordObject *r, PyObject *unused) {
  (void)unused;
  return record_typed(r, "_as_dict");
}

static PyMethodDef record_methods[] = {
    {"as_dict", (PyCFunction)record_as_dict, METH_NOARGS,
     "as_dict() -> dict\n\nA typed record (a bus with an omgidl schema and x-shmbus-cstruct "
     "records) decoded by the library's shmbus_type_to_json(): nested structs as dicts, arrays "
     "as lists, enums by name, char arrays as str, 64-bit integers exact, NaN and infinities "
     "as floats. TypeError on an untyped bus; ValueError when the record is not the struct's "
     "size."},
    {NULL, NULL, 0, NULL},
};

static Py_ssize_t record_len(RecordObject *r) { return PyObject_Length(r->data); }

/* The record is a buffer: bytes(rec), numpy.frombuffer(rec, dtype), memoryview(rec). */
static int record_getbuffer(RecordObject *r, Py_buffer *view, int flags) {
  return PyObject_GetBuffer(r->data, view, flags);
}

static PyMemberDef record_members[] = {
    {"version", T_ULONGLONG, offsetof(RecordObject, version), READONLY,
     "The record's version: 1, 2, 3, ... per bus, across writer restarts."},
    {"timestamp_ns", T_ULONGLONG, offsetof(RecordObject, timestamp_ns), READONLY,
     "CLOCK_REALTIME (time.time_ns()) when the writer published it."},
    {"lost", T_ULONGLONG, offsetof(RecordObject, lost), READONLY,
     "Records skipped (overwritten unread) since the previous record this subscriber read."},
    {"data", T_OBJECT, offsetof(RecordObject, data), READONLY,
     "The record's bytes: a bytes object (next(), read_latest()), or a memoryview of the "
     "caller's buffer (next_into(), read_latest_into())."},
    {NULL, 0, 0, 0, NULL},
};

static PyGetSetDef record_getset[] = {
    {"timestamp", (getter)record_timestamp, NULL,
     "timestamp_ns in seconds (a float, as time.time()).", NULL},
    {"value", (getter)record_value, NULL,
     "A typed record as a numpy structured scalar of the Subscriber's dtype (a read-only view "
     "of data). TypeError on an untyped bus; ValueError when the record is not the struct's "
     "size.",
     NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PySequenceMethods record_as_sequence = {.sq_length = (lenfunc)record_len};
static PyBufferProcs record_as_buffer = {.bf_getbuffer = (getbufferproc)record_getbuffer};

static PyTypeObject RecordType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "shmbus.Record",
    .tp_basicsize = sizeof(RecordObject),
    .tp_dealloc = (destructor)record_dealloc,
    .tp_repr = (reprfunc)record_repr,
    .tp_as_sequence = &record_as_sequence,
    .tp_as_buffer = &record_as_buffer,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Record - one record read from a bus: version, timestamp_ns (timestamp), lost, "
              "data.\n\nA record is also a read-only buffer of its data: bytes(rec), len(rec), "
              "numpy.frombuffer(rec, dtype).",
    .tp_members = record_members,
    .tp_methods = record_methods,
    .tp_getset = record_getset,
};

/* ---------------------------------------------------------------- Publisher */

typedef struct LoanObject LoanObject;

typedef struct {
  PyObject_HEAD shmbus_pub *p;
  PyObject *name;
  LoanObject *loan; /* the live loan (borrowed: the loan clears it), or NULL */
  PyObject *weakrefs;
} PublisherObject;

struct LoanObject {
  PyObject_HEAD PublisherObject *pub; /* strong */
  void *data;                         /* inside the slot, between __enter__ and __exit__ */
  Py_ssize_t size;
  Py_ssize_t length; /* bytes to commit (default: size) */
  Py_ssize_t exports;
  PyObject *view; /* the memoryview handed out by __enter__ */
  int state;      /* 0 new, 1 entered, 2 finished */
};

static PyTypeObject PublisherType;
static PyTypeObject LoanType;

static int pub_init(PublisherObject *self, PyObject *args, PyObject *kw) {
  static char *kwlist[] = {"name", "capacity", "slots", "mode", "group", "type", "schema", NULL};
  PyObject *name, *schema = Py_None;
  unsigned long long capacity = 0;
  unsigned int slots = 0;
  unsigned int mode = 0600;
  PyObject *group = Py_None;
  const char *type = NULL;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "U|$KIIOzO:Publisher", kwlist, &name, &capacity,
                                   &slots, &mode, &group, &type, &schema))
    return -1;
  /* schema: None, or (type_name, schema_encoding, message_encoding, text: bytes) */
  struct shmbus_schema sc;
  memset(&sc, 0, sizeof sc);
  Py_ssize_t text_len = 0;
  if (schema != Py_None) {
    if (!PyArg_ParseTuple(schema, "sssy#:schema", &sc.type_name, &sc.schema_encoding,
                          &sc.message_encoding, (const char **)&sc.text, &text_len))
      return -1;
    sc.text_len = (size_t)text_len;
  }
  if (self->p != NULL) {
    PyErr_SetString(PyExc_RuntimeError, "Publisher already initialised");
    return -1;
  }
  const char *cname = PyUnicode_AsUTF8(name);
  if (cname == NULL) return -1;
  struct shmbus_pub_opts o;
  shmbus_pub_opts_init(&o);
  o.capacity = capacity;
  o.slots = slots;
  o.mode = (mode_t)mode;
  o.type = type;
  if (schema != Py_None) o.schema = &sc; /* its strings live in @schema while we open */
  if (group != Py_None) {
    long g = PyLong_AsLong(group);
    if (g == -1 && PyErr_Occurred()) return -1;
    o.gid = (gid_t)g;
  }
  shmbus_pub *p = NULL;
  int rc;
  Py_BEGIN_ALLOW_THREADS rc =
      shmbus_pub_open(cname, &o, &p); /* allocates and pre-faults the segment */
  Py_END_ALLOW_THREADS if (rc < 0) {
    raise_rc(rc, "shmbus_pub_open", name);
    return -1;
  }
  self->p = p;
  Py_INCREF(name);
  Py_XSETREF(self->name, name);
  return 0;
}

static PyObject *pub_new(PyTypeObject *t, PyObject *a, PyObject *k) {
  (void)a;
  (void)k;
  PublisherObject *self = (PublisherObject *)t->tp_alloc(t, 0);
  if (self != NULL) {
    self->name = Py_None;
    Py_INCREF(Py_None);
  }
  return (PyObject *)self;
}

static void pub_dealloc(PublisherObject *self) {
  if (self->weakrefs != NULL) PyObject_ClearWeakRefs((PyObject *)self);
  shmbus_pub_close(self->p); /* no loan can be alive: it holds a reference to us */
  Py_XDECREF(self->name);
  Py_TYPE(self)->tp_free((PyObject *)self);
}

#define PUB_CHECK(self, what)                         \
  do {                                                \
    if ((self)->p == NULL) return raise_closed(what); \
  } while (0)

static PyObject *pub_publish(PublisherObject *self, PyObject *obj) {
  PUB_CHECK(self, "Publisher.publish");
  if (self->loan != NULL && self->loan->state == 1) {
    PyErr_SetString(PyExc_RuntimeError, "publish() while a reserve() is open on this Publisher");
    return NULL;
  }
  Py_buffer b;
  if (PyObject_GetBuffer(obj, &b, PyBUF_SIMPLE) < 0) return NULL;
  int rc = shmbus_pub_publish(self->p, b.buf, (size_t)b.len); /* never blocks: GIL kept */
  PyBuffer_Release(&b);
  if (rc < 0) return raise_rc(rc, "shmbus_pub_publish", self->name);
  return PyLong_FromUnsignedLongLong(shmbus_pub_version(self->p));
}

static PyObject *pub_reserve(PublisherObject *self, PyObject *args, PyObject *kw) {
  static char *kwlist[] = {"size", NULL};
  PyObject *size_o = Py_None;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "|O:reserve", kwlist, &size_o)) return NULL;
  PUB_CHECK(self, "Publisher.reserve");
  Py_ssize_t size;
  if (size_o == Py_None) {
    struct shmbus_bus_info in;
    int rc = shmbus_pub_info(self->p, &in);
    if (rc < 0) return raise_rc(rc, "shmbus_pub_info", self->name);
    size = (Py_ssize_t)in.capacity;
  } else {
    size = PyLong_AsSsize_t(size_o);
    if (size == -1 && PyErr_Occurred()) return NULL;
    if (size < 0) {
      PyErr_SetString(PyExc_ValueError, "size must be >= 0");
      return NULL;
    }
  }
  LoanObject *l = PyObject_New(LoanObject, &LoanType);
  if (l == NULL) return NULL;
  Py_INCREF(self);
  l->pub = self;
  l->data = NULL;
  l->size = size;
  l->length = size;
  l->exports = 0;
  l->view = NULL;
  l->state = 0;
  return (PyObject *)l;
}

static PyObject *pub_version(PublisherObject *self, void *c) {
  (void)c;
  if (self->p == NULL) return raise_closed("Publisher.version");
  return PyLong_FromUnsignedLongLong(shmbus_pub_version(self->p));
}

static PyObject *bus_info_dict(const struct shmbus_bus_info *in);

static PyObject *pub_info(PublisherObject *self, PyObject *unused) {
  (void)unused;
  PUB_CHECK(self, "Publisher.info");
  struct shmbus_bus_info in;
  int rc = shmbus_pub_info(self->p, &in);
  if (rc < 0) return raise_rc(rc, "shmbus_pub_info", self->name);
  return bus_info_dict(&in);
}

static PyObject *pub_schema(PublisherObject *self, PyObject *unused) {
  (void)unused;
  PUB_CHECK(self, "Publisher._schema");
  struct shmbus_schema sc;
  return schema_tuple(shmbus_pub_schema(self->p, &sc), &sc, "shmbus_pub_schema", self->name);
}

static PyObject *pub_close(PublisherObject *self, PyObject *unused) {
  (void)unused;
  if (self->loan != NULL && self->loan->exports > 0) {
    PyErr_SetString(PyExc_BufferError,
                    "close() while a view of a reserved slot is alive: release it first");
    return NULL;
  }
  if (self->loan != NULL) self->loan->state = 2; /* dropped: never committed */
  shmbus_pub_close(self->p);
  self->p = NULL;
  Py_RETURN_NONE;
}

static PyObject *pub_closed(PublisherObject *self, void *c) {
  (void)c;
  return PyBool_FromLong(self->p == NULL);
}

static PyObject *pub_name(PublisherObject *self, void *c) {
  (void)c;
  Py_INCREF(self->name);
  return self->name;
}

static PyMethodDef pub_methods[] = {
    {"publish", (PyCFunction)pub_publish, METH_O,
     "publish(data) -> int\n\nPublish the bytes of @data (anything with the buffer protocol: "
     "bytes, bytearray, memoryview, numpy arrays and scalars) as the next version; return "
     "that version. Never waits for readers.\nRaises RecordTooLarge (EMSGSIZE) when longer "
     "than the capacity (nothing published), BusReplaced (ESTALE) when this writer was forced "
     "out."},
    {"reserve", (PyCFunction)(void (*)(void))pub_reserve, METH_VARARGS | METH_KEYWORDS,
     "reserve(size=None) -> Loan\n\nA context manager writing the next record in place: "
     "`with pub.reserve(n) as mv:` gives a writable memoryview of n bytes (default: the "
     "capacity) inside the slot; leaving the block commits it (loan.length bytes, default "
     "n), an exception leaving it drops it (readers never see it). Views of mv must be "
     "released before the block ends (else BufferError, and nothing is published)."},
    {"info", (PyCFunction)pub_info, METH_NOARGS, "info() -> BusInfo fields as a dict."},
    {"_schema", (PyCFunction)pub_schema, METH_NOARGS,
     "_schema() -> (type_name, schema_encoding, message_encoding, text, hash) | None"},
    {"close", (PyCFunction)pub_close, METH_NOARGS,
     "close()\n\nStop being the writer: readers see the writer closed (WriterDied from "
     "wait()); the bus and its latest record stay. Closing twice is a no-op."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef pub_getset[] = {
    {"version", (getter)pub_version, NULL, "The last version published on the bus (0: none).",
     NULL},
    {"closed", (getter)pub_closed, NULL, "True after close().", NULL},
    {"name", (getter)pub_name, NULL, "The bus name.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject PublisherType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "shmbus._shmbus.Publisher",
    .tp_basicsize = sizeof(PublisherObject),
    .tp_dealloc = (destructor)pub_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "The C half of shmbus.Publisher.",
    .tp_weaklistoffset = offsetof(PublisherObject, weakrefs),
    .tp_methods = pub_methods,
    .tp_getset = pub_getset,
    .tp_init = (initproc)pub_init,
    .tp_new = pub_new,
};

/* ---------------------------------------------------------------- Loan */

static void loan_dealloc(LoanObject *l) {
  if (l->pub->loan == l) l->pub->loan = NULL; /* never entered or never exited: dropped */
  Py_XDECREF(l->view);
  Py_DECREF(l->pub);
  PyObject_Free(l);
}

static int loan_getbuffer(LoanObject *l, Py_buffer *view, int flags) {
  if (l->state != 1 || l->pub->p == NULL) {
    PyErr_SetString(PyExc_BufferError, "the loan is not open (use it inside its with block)");
    return -1;
  }
  if (PyBuffer_FillInfo(view, (PyObject *)l, l->data, l->size, 0, flags) < 0) return -1;
  l->exports++;
  return 0;
}

static void loan_releasebuffer(LoanObject *l, Py_buffer *view) {
  (void)view;
  l->exports--;
}

static PyObject *loan_enter(LoanObject *l, PyObject *unused) {
  (void)unused;
  if (l->state != 0) {
    PyErr_SetString(PyExc_RuntimeError, "a Loan is entered once");
    return NULL;
  }
  PublisherObject *pub = l->pub;
  PUB_CHECK(pub, "Loan.__enter__");
  if (pub->loan != NULL && pub->loan->state == 1) {
    PyErr_SetString(PyExc_RuntimeError, "another reserve() is open on this Publisher");
    return NULL;
  }
  void *data = NULL;
  int rc = shmbus_pub_reserve(pub->p, (size_t)l->size, &data);
  if (rc < 0) return raise_rc(rc, "shmbus_pub_reserve", pub->name);
  l->data = data;
  l->state = 1;
  pub->loan = l;
  PyObject *mv = PyMemoryView_FromObject((PyObject *)l);
  if (mv == NULL) {
    l->state = 2;
    pub->loan = NULL;
    return NULL;
  }
  Py_INCREF(mv);
  Py_XSETREF(l->view, mv);
  return mv;
}

/* loan_exit() - commit (no exception) or drop (an exception is leaving the block). */
static PyObject *loan_exit(LoanObject *l, PyObject *args) {
  PyObject *et, *ev, *tb;
  if (!PyArg_ParseTuple(args, "OOO:__exit__", &et, &ev, &tb)) return NULL;
  PublisherObject *pub = l->pub;
  if (l->state == 2 && pub->p == NULL && l->view != NULL) {
    /* The publisher was closed inside the block: the record was dropped; say nothing more
     * than the exception already leaving, if any. */
    PyObject *r = PyObject_CallMethod(l->view, "release", NULL);
    if (r == NULL) PyErr_Clear();
    Py_XDECREF(r);
    Py_CLEAR(l->view);
    Py_RETURN_FALSE;
  }
  if (l->state != 1) {
    PyErr_SetString(PyExc_RuntimeError, "the Loan is not open");
    return NULL;
  }
  l->state = 2;
  if (pub->loan == l) pub->loan = NULL;
  if (l->view != NULL) {
    PyObject *r = PyObject_CallMethod(l->view, "release", NULL);
    if (r == NULL) { /* BufferError: a view of the memoryview is alive; nothing published */
      if (et == Py_None) return NULL;
      PyErr_Clear(); /* the block's own exception goes on */
      Py_RETURN_FALSE;
    }
    Py_DECREF(r);
    Py_CLEAR(l->view);
  }
  if (et != Py_None || pub->p == NULL) Py_RETURN_FALSE; /* dropped; the exception goes on */
  if (l->exports > 0) {
    PyErr_SetString(PyExc_BufferError,
                    "a view of the reserved slot is still alive at the end of the with block: "
                    "nothing was published (del the view inside the block)");
    return NULL;
  }
  int rc = shmbus_pub_commit(pub->p, (size_t)l->length);
  if (rc < 0) return raise_rc(rc, "shmbus_pub_commit", pub->name);
  Py_RETURN_FALSE;
}

static int loan_set_length(LoanObject *l, PyObject *v, void *c) {
  (void)c;
  if (v == NULL) {
    PyErr_SetString(PyExc_AttributeError, "cannot delete length");
    return -1;
  }
  Py_ssize_t n = PyLong_AsSsize_t(v);
  if (n == -1 && PyErr_Occurred()) return -1;
  if (n < 0 || n > l->size) {
    PyErr_Format(PyExc_ValueError, "length must be 0..%zd", l->size);
    return -1;
  }
  l->length = n;
  return 0;
}

static PyObject *loan_get_length(LoanObject *l, void *c) {
  (void)c;
  return PyLong_FromSsize_t(l->length);
}

static PyObject *loan_get_size(LoanObject *l, void *c) {
  (void)c;
  return PyLong_FromSsize_t(l->size);
}

static PyMethodDef loan_methods[] = {
    {"__enter__", (PyCFunction)loan_enter, METH_NOARGS,
     "Reserve the slot; return a writable memoryview of it."},
    {"__exit__", (PyCFunction)loan_exit, METH_VARARGS,
     "Commit loan.length bytes, or drop the record when an exception leaves the block."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef loan_getset[] = {
    {"length", (getter)loan_get_length, (setter)loan_set_length,
     "Bytes committed on exit (0..size; default size). Set it inside the block.", NULL},
    {"size", (getter)loan_get_size, NULL, "Bytes reserved.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyBufferProcs loan_as_buffer = {
    .bf_getbuffer = (getbufferproc)loan_getbuffer,
    .bf_releasebuffer = (releasebufferproc)loan_releasebuffer,
};

static PyTypeObject LoanType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "shmbus.Loan",
    .tp_basicsize = sizeof(LoanObject),
    .tp_dealloc = (destructor)loan_dealloc,
    .tp_as_buffer = &loan_as_buffer,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Loan - a record being written in place (Publisher.reserve()). A context "
              "manager: the with block gets a writable memoryview into the slot; a normal exit "
              "commits loan.length bytes, an exception drops the record.",
    .tp_methods = loan_methods,
    .tp_getset = loan_getset,
};

/* ---------------------------------------------------------------- Subscriber */

typedef struct {
  PyObject_HEAD shmbus_sub *s;
  PyObject *name;
  size_t guess;      /* size of the bytes object next() reads into: the last record's length */
  int busy;          /* a call has released the GIL (a wait) */
  int close_pending; /* close() from another thread during a wait */
  PyObject *weakrefs;
  PyObject *typed; /* _typed: the decoder the records carry (set by shmbus.Subscriber) */
} SubscriberObject;

static PyTypeObject SubscriberType;

static PyObject *sub_new(PyTypeObject *t, PyObject *a, PyObject *k) {
  (void)a;
  (void)k;
  SubscriberObject *self = (SubscriberObject *)t->tp_alloc(t, 0);
  if (self != NULL) {
    self->name = Py_None;
    Py_INCREF(Py_None);
  }
  return (PyObject *)self;
}

/* sub_init() - open; with wait_for_bus, retry a missing bus every 10 ms (GIL released)
 * until @timeout (then shmbus.Timeout). */
static int sub_init(SubscriberObject *self, PyObject *args, PyObject *kw) {
  static char *kwlist[] = {"name", "wait_for_bus", "timeout", "owner", NULL};
  PyObject *name, *timeout = Py_None, *owner = Py_None;
  int wait_for_bus = 0;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "U|$pOO:Subscriber", kwlist, &name, &wait_for_bus,
                                   &timeout, &owner))
    return -1;
  if (self->s != NULL || self->busy) {
    PyErr_SetString(PyExc_RuntimeError, "Subscriber already initialised");
    return -1;
  }
  const char *cname = PyUnicode_AsUTF8(name);
  if (cname == NULL) return -1;
  int64_t tmo;
  if (timeout_ns(timeout, &tmo) < 0) return -1;
  long uid = -1;
  if (owner != Py_None) {
    uid = PyLong_AsLong(owner);
    if (uid == -1 && PyErr_Occurred()) return -1;
  }
  int64_t deadline = tmo < 0 ? INT64_MAX : mono_ns() + tmo;
  shmbus_sub *s = NULL;
  int rc;
  for (;;) {
    rc = uid < 0 ? shmbus_sub_open(cname, 0, &s) : shmbus_sub_open_owner(cname, (uid_t)uid, 0, &s);
    if (rc != -ENOENT || !wait_for_bus) break;
    if (mono_ns() >= deadline) {
      rc = -ETIMEDOUT;
      break;
    }
    /* No bus to sleep on yet: poll (as shmsub --wait-for-bus does). */
    Py_BEGIN_ALLOW_THREADS struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
    Py_END_ALLOW_THREADS if (PyErr_CheckSignals() < 0) return -1;
  }
  if (rc < 0) {
    raise_rc(rc, "shmbus_sub_open", name);
    return -1;
  }
  self->s = s;
  Py_INCREF(name);
  Py_XSETREF(self->name, name);
  return 0;
}

static void sub_dealloc(SubscriberObject *self) {
  if (self->weakrefs != NULL) PyObject_ClearWeakRefs((PyObject *)self);
  shmbus_sub_close(self->s); /* no wait runs: a waiting thread holds a reference */
  Py_XDECREF(self->name);
  Py_XDECREF(self->typed);
  Py_TYPE(self)->tp_free((PyObject *)self);
}

/* sub_check() - the object is open and no other thread is inside a call on it. */
static int sub_check(SubscriberObject *self, const char *what) {
  if (self->s == NULL || self->close_pending) {
    raise_closed(what);
    return -1;
  }
  if (self->busy) {
    PyErr_Format(PyExc_RuntimeError,
                 "%s: another thread is waiting on this Subscriber (use one Subscriber per "
                 "thread)",
                 what);
    return -1;
  }
  return 0;
}

/* sub_read() - next() (@latest 0) or read_latest() (1) into a new bytes object sized by the
 * last record (fixed-size records: no copy but the library's). None when nothing is there. */
static PyObject *sub_read(SubscriberObject *self, int latest) {
  if (sub_check(self, latest ? "Subscriber.read_latest" : "Subscriber.next") < 0) return NULL;
  for (;;) {
    size_t cap = self->guess;
    PyObject *b = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)cap);
    if (b == NULL) return NULL;
    struct shmbus_record_info in;
    ssize_t n = latest ? shmbus_sub_read_latest(self->s, PyBytes_AS_STRING(b), cap, &in)
                       : shmbus_sub_next(self->s, PyBytes_AS_STRING(b), cap, &in);
    if (n == -ENOBUFS) { /* nothing consumed: retry with the size needed */
      Py_DECREF(b);
      self->guess = (size_t)in.length;
      continue;
    }
    if (n == -EAGAIN || n == -ENODATA) {
      Py_DECREF(b);
      Py_RETURN_NONE;
    }
    if (n < 0) {
      Py_DECREF(b);
      return raise_rc(n, latest ? "shmbus_sub_read_latest" : "shmbus_sub_next", self->name);
    }
    if ((size_t)n != cap && _PyBytes_Resize(&b, n) < 0) return NULL;
    return record_new(&in, b, self->typed);
  }
}

static PyObject *sub_next(SubscriberObject *self, PyObject *unused) {
  (void)unused;
  return sub_read(self, 0);
}

static PyObject *sub_read_latest(SubscriberObject *self, PyObject *unused) {
  (void)unused;
  return sub_read(self, 1);
}

/* sub_read_into() - next_into()/read_latest_into(): straight into the caller's buffer. */
static PyObject *sub_read_into(SubscriberObject *self, PyObject *buf, int latest) {
  if (sub_check(self, latest ? "Subscriber.read_latest_into" : "Subscriber.next_into") < 0)
    return NULL;
  Py_buffer b;
  if (PyObject_GetBuffer(buf, &b, PyBUF_WRITABLE) < 0) return NULL;
  struct shmbus_record_info in;
  ssize_t n = latest ? shmbus_sub_read_latest(self->s, b.buf, (size_t)b.len, &in)
                     : shmbus_sub_next(self->s, b.buf, (size_t)b.len, &in);
  PyBuffer_Release(&b);
  if (n == -EAGAIN || n == -ENODATA) Py_RETURN_NONE;
  if (n == -ENOBUFS) {
    raise_rc(n, latest ? "shmbus_sub_read_latest" : "shmbus_sub_next", self->name);
    PyObject *t, *e, *tb;
    PyErr_Fetch(&t, &e, &tb);
    PyErr_NormalizeException(&t, &e, &tb);
    PyObject *need = PyLong_FromUnsignedLongLong(in.length);
    if (e != NULL && need != NULL && PyObject_SetAttrString(e, "needed", need) < 0) PyErr_Clear();
    Py_XDECREF(need);
    PyErr_Restore(t, e, tb);
    return NULL;
  }
  if (n < 0) return raise_rc(n, latest ? "shmbus_sub_read_latest" : "shmbus_sub_next", self->name);
  PyObject *mv = PyMemoryView_FromObject(buf);
  if (mv == NULL) return NULL;
  const Py_buffer *v = PyMemoryView_GET_BUFFER(mv);
  if (v->ndim != 1 || v->itemsize != 1 || (v->format != NULL && strcmp(v->format, "B") != 0)) {
    PyObject *flat = PyObject_CallMethod(mv, "cast", "s", "B"); /* bytes, whatever the shape */
    Py_DECREF(mv);
    if (flat == NULL) return NULL;
    mv = flat;
  }
  if (n == PyObject_Length(mv)) return record_new(&in, mv, self->typed);
  PyObject *sl = PySequence_GetSlice(mv, 0, n);
  Py_DECREF(mv);
  if (sl == NULL) return NULL;
  return record_new(&in, sl, self->typed);
}

static PyObject *sub_next_into(SubscriberObject *self, PyObject *buf) {
  return sub_read_into(self, buf, 0);
}

static PyObject *sub_read_latest_into(SubscriberObject *self, PyObject *buf) {
  return sub_read_into(self, buf, 1);
}

/* sub_next_many_into() - next() into the rows of a C-contiguous writable buffer (its first
 * dimension: the rows) until it is full or nothing newer is left: one C loop, no object per
 * record. Return: the rows filled. A record longer than a row stops the batch (nothing
 * consumed); errors are raised when no row was filled, else by the next call. */
static PyObject *sub_next_many_into(SubscriberObject *self, PyObject *buf) {
  if (sub_check(self, "Subscriber.next_many_into") < 0) return NULL;
  Py_buffer b;
  if (PyObject_GetBuffer(buf, &b, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) < 0) return NULL;
  Py_ssize_t rows = b.ndim >= 1 ? b.shape[0] : 1;
  size_t rowsize = rows > 0 ? (size_t)(b.len / rows) : 0;
  Py_ssize_t i = 0;
  ssize_t n = 0;
  struct shmbus_record_info in;
  for (; i < rows; i++) {
    n = shmbus_sub_next(self->s, (char *)b.buf + (size_t)i * rowsize, rowsize, &in);
    if (n < 0) break;
  }
  PyBuffer_Release(&b);
  if (i == 0 && n < 0 && n != -EAGAIN) return raise_rc(n, "shmbus_sub_next", self->name);
  return PyLong_FromSsize_t(i); /* an error after some rows: the next call raises it */
}

/* sub_next_many_fill() - the C loop of Subscriber.next_many(): next() into the rows of @out
 * (a C-contiguous writable buffer; rows: its first dimension), each record's bytes at
 * @data_off (at most @data_size bytes, the rest of that field zeroed) and its version,
 * timestamp_ns, lost (uint64) and length (uint32) at their offsets in the row (-1: not
 * stored), until the rows are full or nothing newer is left. One C loop and no object per
 * record: the per-record cost is the library's copy plus a few stores. Return: the rows
 * filled. A record longer than @data_size stops the batch with nothing consumed (raised
 * when it is the first, with .needed); another error after some rows: the next call raises. */
static PyObject *sub_next_many_fill(SubscriberObject *self, PyObject *args) {
  PyObject *buf;
  Py_ssize_t data_off, data_size, off_version, off_ts, off_lost, off_len;
  if (!PyArg_ParseTuple(args, "Onnnnnn:_next_many_fill", &buf, &data_off, &data_size, &off_version,
                        &off_ts, &off_lost, &off_len))
    return NULL;
  if (sub_check(self, "Subscriber.next_many") < 0) return NULL;
  Py_buffer b;
  if (PyObject_GetBuffer(buf, &b, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) < 0) return NULL;
  Py_ssize_t rows = b.ndim >= 1 ? b.shape[0] : 1;
  if (rows == 0) {
    PyBuffer_Release(&b);
    return PyLong_FromLong(0);
  }
  Py_ssize_t rowsize = b.len / rows;
  /* Every field inside the row: the Python half computes them from the dtype, but a wrong
   * call must raise, never write past a row. */
  if (data_off < 0 || data_size < 0 || data_off + data_size > rowsize || off_version < -1 ||
      off_version + 8 > rowsize || off_ts < -1 || off_ts + 8 > rowsize || off_lost < -1 ||
      off_lost + 8 > rowsize || off_len < -1 || off_len + 4 > rowsize) {
    PyBuffer_Release(&b);
    PyErr_SetString(PyExc_ValueError, "_next_many_fill: a field lies outside the row");
    return NULL;
  }
  Py_ssize_t i = 0;
  ssize_t n = 0;
  struct shmbus_record_info in;
  for (; i < rows; i++) {
    char *row = (char *)b.buf + i * rowsize;
    n = shmbus_sub_next(self->s, row + data_off, (size_t)data_size, &in);
    if (n < 0) break;
    if (n < data_size) memset(row + data_off + n, 0, (size_t)(data_size - n));
    if (off_version >= 0) memcpy(row + off_version, &in.version, 8);
    if (off_ts >= 0) memcpy(row + off_ts, &in.timestamp_ns, 8);
    if (off_lost >= 0) memcpy(row + off_lost, &in.lost, 8);
    if (off_len >= 0) {
      uint32_t len = (uint32_t)n;
      memcpy(row + off_len, &len, 4);
    }
  }
  PyBuffer_Release(&b);
  if (i == 0 && n == -ENOBUFS) {
    raise_rc(n, "shmbus_sub_next", self->name);
    PyObject *t, *e, *tb;
    PyErr_Fetch(&t, &e, &tb);
    PyErr_NormalizeException(&t, &e, &tb);
    PyObject *need = PyLong_FromUnsignedLongLong(in.length);
    if (e != NULL && need != NULL && PyObject_SetAttrString(e, "needed", need) < 0) PyErr_Clear();
    Py_XDECREF(need);
    PyErr_Restore(t, e, tb);
    return NULL;
  }
  if (i == 0 && n < 0 && n != -EAGAIN) return raise_rc(n, "shmbus_sub_next", self->name);
  return PyLong_FromSsize_t(i);
}

/* sub_wait() - True (something new), False (timeout); WriterDied, BusReplaced. */
static PyObject *sub_wait(SubscriberObject *self, PyObject *args, PyObject *kw) {
  static char *kwlist[] = {"timeout", "mode", "through_death", NULL};
  PyObject *timeout = Py_None, *mode_o = Py_None;
  int through_death = 0;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "|O$Op:wait", kwlist, &timeout, &mode_o,
                                   &through_death))
    return NULL;
  int64_t tmo;
  int mode;
  if (timeout_ns(timeout, &tmo) < 0 || wait_mode(mode_o, &mode) < 0) return NULL;
  if (sub_check(self, "Subscriber.wait") < 0) return NULL;
  if (through_death) mode |= SHMBUS_WAIT_THROUGH_DEATH;
  const int64_t slice = 100 * 1000 * 1000; /* signals and close() are seen this often */
  int64_t deadline = tmo < 0 ? INT64_MAX : mono_ns() + tmo;
  int rc;
  Py_INCREF(self); /* a close() or del from another thread cannot free us meanwhile */
  self->busy = 1;
  int unborn = 0; /* the bus has never had a writer: wait through "death" for one slice */
  for (;;) {
    int64_t now = mono_ns();
    int64_t t = deadline - now;
    if (t < 0) t = 0;
    if (t > slice) t = slice;
    Py_BEGIN_ALLOW_THREADS rc =
        shmbus_sub_wait(self->s, t, unborn ? mode | SHMBUS_WAIT_THROUGH_DEATH : mode);
    Py_END_ALLOW_THREADS unborn = 0;
    if (rc == -EOWNERDEAD) {
      /* A new bus is visible a moment before its first writer runs (core/publisher.c):
       * that is not a death. Wait for the writer, one slice at a time. */
      struct shmbus_bus_info bi;
      if (shmbus_sub_info(self->s, &bi) == 0 && bi.writer_pid == 0 && bi.latest == 0) {
        unborn = 1;
        rc = -ETIMEDOUT;
      }
    }
    if (rc != -ETIMEDOUT || self->close_pending || mono_ns() >= deadline) break;
    if (PyErr_CheckSignals() < 0) {
      rc = 1; /* the signal handler's exception is set */
      break;
    }
  }
  self->busy = 0;
  PyObject *ret = NULL;
  if (self->close_pending) {
    shmbus_sub_close(self->s);
    self->s = NULL;
    self->close_pending = 0;
    if (rc != 1) raise_closed("Subscriber.wait (closed by another thread)");
  } else if (rc == 0) {
    ret = Py_True;
    Py_INCREF(ret);
  } else if (rc == -ETIMEDOUT) {
    ret = Py_False;
    Py_INCREF(ret);
  } else if (rc < 0) {
    raise_rc(rc, "shmbus_sub_wait", self->name);
  }
  Py_DECREF(self);
  return ret;
}

static PyObject *sub_seek(SubscriberObject *self, PyObject *whence_o) {
  if (sub_check(self, "Subscriber.seek") < 0) return NULL;
  int whence;
  const char *w = PyUnicode_Check(whence_o) ? PyUnicode_AsUTF8(whence_o) : NULL;
  if (w == NULL) {
    PyErr_SetString(PyExc_ValueError, "seek() takes \"latest\", \"new\" or \"oldest\"");
    return NULL;
  }
  if (strcmp(w, "latest") == 0) whence = SHMBUS_SEEK_LATEST;
  else if (strcmp(w, "new") == 0) whence = SHMBUS_SEEK_NEW;
  else if (strcmp(w, "oldest") == 0) whence = SHMBUS_SEEK_OLDEST;
  else {
    PyErr_SetString(PyExc_ValueError, "seek() takes \"latest\", \"new\" or \"oldest\"");
    return NULL;
  }
  int rc = shmbus_sub_seek(self->s, whence);
  if (rc < 0) return raise_rc(rc, "shmbus_sub_seek", self->name);
  Py_RETURN_NONE;
}

static PyObject *sub_fileno(SubscriberObject *self, PyObject *unused) {
  (void)unused;
  if (sub_check(self, "Subscriber.fileno") < 0) return NULL;
  int fd = shmbus_sub_fd(self->s);
  if (fd < 0) return raise_rc(fd, "shmbus_sub_fd", self->name);
  return PyLong_FromLong(fd);
}

static PyObject *sub_info(SubscriberObject *self, PyObject *unused) {
  (void)unused;
  if (sub_check(self, "Subscriber.info") < 0) return NULL;
  struct shmbus_bus_info in;
  int rc = shmbus_sub_info(self->s, &in);
  if (rc < 0) return raise_rc(rc, "shmbus_sub_info", self->name);
  return bus_info_dict(&in);
}

static PyObject *sub_schema(SubscriberObject *self, PyObject *unused) {
  (void)unused;
  if (sub_check(self, "Subscriber._schema") < 0) return NULL;
  struct shmbus_schema sc;
  return schema_tuple(shmbus_sub_schema(self->s, &sc), &sc, "shmbus_sub_schema", self->name);
}

static PyObject *sub_latest(SubscriberObject *self, void *c) {
  (void)c;
  if (sub_check(self, "Subscriber.latest") < 0) return NULL;
  return PyLong_FromUnsignedLongLong(shmbus_sub_latest(self->s));
}

static PyObject *sub_capacity(SubscriberObject *self, void *c) {
  (void)c;
  if (sub_check(self, "Subscriber.capacity") < 0) return NULL;
  return PyLong_FromUnsignedLongLong(shmbus_sub_capacity(self->s));
}

static PyObject *sub_close(SubscriberObject *self, PyObject *unused) {
  (void)unused;
  if (self->busy) { /* another thread waits: it closes when its slice ends (<= 100 ms) */
    self->close_pending = 1;
    Py_RETURN_NONE;
  }
  shmbus_sub_close(self->s);
  self->s = NULL;
  Py_RETURN_NONE;
}

static PyObject *sub_closed(SubscriberObject *self, void *c) {
  (void)c;
  return PyBool_FromLong(self->s == NULL || self->close_pending);
}

static PyObject *sub_name(SubscriberObject *self, void *c) {
  (void)c;
  Py_INCREF(self->name);
  return self->name;
}

static PyMethodDef sub_methods[] = {
    {"next", (PyCFunction)sub_next, METH_NOARGS,
     "next() -> Record | None\n\nThe record at the cursor (every record in order), or None "
     "when nothing newer exists. Never blocks. A reader lapped by the writer skips to the "
     "oldest record still held; Record.lost counts the records skipped."},
    {"read_latest", (PyCFunction)sub_read_latest, METH_NOARGS,
     "read_latest() -> Record | None\n\nThe newest record (moves the cursor past it), or None "
     "when nothing was ever published. Never blocks."},
    {"next_into", (PyCFunction)sub_next_into, METH_O,
     "next_into(buffer) -> Record | None\n\nnext() straight into a writable buffer of yours "
     "(bytearray, numpy array): no allocation; Record.data is a memoryview of its first "
     "bytes, overwritten by your next *_into call with that buffer. A buffer smaller than "
     "the record raises Error(ENOBUFS) with .needed, and nothing is consumed."},
    {"read_latest_into", (PyCFunction)sub_read_latest_into, METH_O,
     "read_latest_into(buffer) -> Record | None\n\nread_latest() into your buffer, as "
     "next_into()."},
    {"next_many_into", (PyCFunction)sub_next_many_into, METH_O,
     "next_many_into(out) -> int\n\nnext() into the rows of `out` (a C-contiguous writable "
     "buffer, e.g. numpy.zeros(n, dtype) with your structured dtype; rows: its first "
     "dimension) until it is full or nothing newer is left, in one C loop; return the rows "
     "filled. Never blocks. A record shorter than a row leaves the rest of the row as it "
     "was; a longer one ends the batch with nothing consumed (raised as Error(ENOBUFS) when "
     "it is the first). Records' versions and lost counts are not reported: put a sequence "
     "number in the record."},
    {"_next_many_fill", (PyCFunction)sub_next_many_fill, METH_VARARGS,
     "_next_many_fill(out, data_off, data_size, version_off, timestamp_off, lost_off, "
     "length_off) -> int\n\nThe C loop of next_many() (use that): records into the rows of "
     "out, the record info at the given offsets (-1: not stored)."},
    {"wait", (PyCFunction)(void (*)(void))sub_wait, METH_VARARGS | METH_KEYWORDS,
     "wait(timeout=None, *, mode=\"hybrid\", through_death=False) -> bool\n\nWait until a "
     "record newer than the last one read exists: True; False on timeout (seconds; None: "
     "for ever; 0: just check). Releases the GIL while it waits. mode: \"hybrid\" (spin "
     "~20 us where a core is free, then sleep), \"spin\" or \"sleep\". Raises WriterDied when "
     "the writer died or closed and nothing newer exists (unless through_death: then it "
     "waits for a new writer), BusReplaced when the bus was replaced or removed. A bus whose "
     "first writer has not started yet is waited for, not reported dead."},
    {"seek", (PyCFunction)sub_seek, METH_O,
     "seek(whence)\n\nMove the cursor: \"latest\" (next() returns the latest record, then "
     "newer), \"new\" (only records published from now on), \"oldest\" (the oldest record "
     "still in the ring)."},
    {"fileno", (PyCFunction)sub_fileno, METH_NOARGS,
     "fileno() -> int\n\nA descriptor for select/poll/epoll/asyncio, readable while wait(0) "
     "would not return False. Owned by the Subscriber: do not close it. Starts a notifier "
     "thread in the library (one per Subscriber that asks)."},
    {"info", (PyCFunction)sub_info, METH_NOARGS, "info() -> BusInfo fields as a dict."},
    {"_schema", (PyCFunction)sub_schema, METH_NOARGS,
     "_schema() -> (type_name, schema_encoding, message_encoding, text, hash) | None"},
    {"close", (PyCFunction)sub_close, METH_NOARGS,
     "close()\n\nUnmap the bus. Closing twice is a no-op; called from another thread while "
     "one waits, the wait ends (Closed) within 100 ms and closes."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef sub_getset[] = {
    {"latest", (getter)sub_latest, NULL, "The newest complete version now (0: none).", NULL},
    {"capacity", (getter)sub_capacity, NULL, "The largest record the bus holds, in bytes.", NULL},
    {"closed", (getter)sub_closed, NULL, "True after close().", NULL},
    {"name", (getter)sub_name, NULL, "The bus name.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMemberDef sub_members[] = {
    {"_typed", T_OBJECT, offsetof(SubscriberObject, typed), 0,
     "The decoder records of a typed bus carry (shmbus._Typed), or None."},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject SubscriberType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "shmbus._shmbus.Subscriber",
    .tp_basicsize = sizeof(SubscriberObject),
    .tp_dealloc = (destructor)sub_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "The C half of shmbus.Subscriber.",
    .tp_weaklistoffset = offsetof(SubscriberObject, weakrefs),
    .tp_methods = sub_methods,
    .tp_members = sub_members,
    .tp_getset = sub_getset,
    .tp_init = (initproc)sub_init,
    .tp_new = sub_new,
};

/* ---------------------------------------------------------------- Type */

/* A parsed omgidl struct (types/shmbus_types.h): its layout and the record <-> JSON calls.
 * Immutable after __init__: any thread may use it (the library's contract). */
typedef struct {
  PyObject_HEAD shmbus_type *t;
} TypeObject;

static PyTypeObject TypeType;

/* raise_type() - ValueError with the library's message (MemoryError for -ENOMEM). */
static PyObject *raise_type(long rc, const char *err, const char *what) {
  if (rc == -ENOMEM) return PyErr_NoMemory();
  PyErr_Format(PyExc_ValueError, "%s: %s", what, err[0] ? err : shmbus_strerror((int)rc));
  return NULL;
}

static int type_init(TypeObject *self, PyObject *args, PyObject *kw) {
  static char *kwlist[] = {"idl", "type_name", NULL};
  const char *idl, *name;
  Py_ssize_t len;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "s#s:Type", kwlist, &idl, &len, &name)) return -1;
  char err[512] = "";
  shmbus_type *t = NULL;
  int rc = shmbus_type_parse(idl, (size_t)len, name, &t, err, sizeof err);
  if (rc < 0) {
    raise_type(rc, err, "schema");
    return -1;
  }
  shmbus_type_free(self->t);
  self->t = t;
  return 0;
}

static void type_dealloc(TypeObject *self) {
  shmbus_type_free(self->t);
  Py_TYPE(self)->tp_free((PyObject *)self);
}

#define TYPE_CHECK(self)                                         \
  do {                                                           \
    if ((self)->t == NULL) {                                     \
      PyErr_SetString(PyExc_ValueError, "Type not initialised"); \
      return NULL;                                               \
    }                                                            \
  } while (0)

static PyObject *type_describe(TypeObject *self, PyObject *unused) {
  (void)unused;
  TYPE_CHECK(self);
  char *out = NULL;
  ssize_t n = shmbus_type_describe(self->t, &out);
  if (n < 0) return raise_type(n, "", "describe");
  PyObject *r = PyUnicode_FromStringAndSize(out, n);
  free(out);
  return r;
}

static PyObject *type_to_json(TypeObject *self, PyObject *rec) {
  TYPE_CHECK(self);
  Py_buffer b;
  if (PyObject_GetBuffer(rec, &b, PyBUF_SIMPLE) < 0) return NULL;
  char err[512] = "", *out = NULL;
  ssize_t n = shmbus_type_to_json(self->t, b.buf, (size_t)b.len, &out, err, sizeof err);
  PyBuffer_Release(&b);
  if (n < 0) return raise_type(n, err, shmbus_type_name(self->t));
  PyObject *r = PyUnicode_FromStringAndSize(out, n);
  free(out);
  return r;
}

static PyObject *type_from_json(TypeObject *self, PyObject *json) {
  TYPE_CHECK(self);
  Py_ssize_t len;
  const char *j = PyUnicode_Check(json) ? PyUnicode_AsUTF8AndSize(json, &len) : NULL;
  if (j == NULL) {
    if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "from_json() takes a str");
    return NULL;
  }
  size_t size = shmbus_type_size(self->t);
  PyObject *b = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)size);
  if (b == NULL) return NULL;
  char err[512] = "";
  ssize_t n =
      shmbus_type_from_json(self->t, j, (size_t)len, PyBytes_AS_STRING(b), size, err, sizeof err);
  if (n < 0) {
    Py_DECREF(b);
    return raise_type(n, err, shmbus_type_name(self->t));
  }
  return b;
}

static PyObject *type_size(TypeObject *self, void *c) {
  (void)c;
  TYPE_CHECK(self);
  return PyLong_FromSize_t(shmbus_type_size(self->t));
}

static PyObject *type_align(TypeObject *self, void *c) {
  (void)c;
  TYPE_CHECK(self);
  return PyLong_FromSize_t(shmbus_type_align(self->t));
}

static PyObject *type_name(TypeObject *self, void *c) {
  (void)c;
  TYPE_CHECK(self);
  return PyUnicode_FromString(shmbus_type_name(self->t));
}

static PyMethodDef type_methods[] = {
    {"describe", (PyCFunction)type_describe, METH_NOARGS,
     "describe() -> str\n\nThe C layout as JSON (shmbus_type_describe()): name, size, align, "
     "fields with offsets, types and dims."},
    {"to_json", (PyCFunction)type_to_json, METH_O,
     "to_json(record) -> str\n\nA record (a buffer of exactly size bytes) as one JSON object "
     "(shmbus_type_to_json()). ValueError otherwise."},
    {"from_json", (PyCFunction)type_from_json, METH_O,
     "from_json(json: str) -> bytes\n\nOne JSON object as a record of size bytes "
     "(shmbus_type_from_json()); ValueError naming the field when it does not convert."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef type_getset[] = {
    {"size", (getter)type_size, NULL, "sizeof the C struct.", NULL},
    {"align", (getter)type_align, NULL, "alignof the C struct.", NULL},
    {"name", (getter)type_name, NULL, "The struct's scoped name (\"sensors::Imu\").", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject TypeType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "shmbus._shmbus.Type",
    .tp_basicsize = sizeof(TypeObject),
    .tp_dealloc = (destructor)type_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Type(idl, type_name) - an OMG IDL struct parsed by the library "
              "(types/shmbus_types.h): its C layout and record <-> JSON. ValueError with the "
              "library's message when the IDL does not parse or the type is unsupported.",
    .tp_methods = type_methods,
    .tp_getset = type_getset,
    .tp_init = (initproc)type_init,
    .tp_new = PyType_GenericNew,
};

/* ---------------------------------------------------------------- administration */

static PyObject *bus_info_dict(const struct shmbus_bus_info *in) {
  PyObject *d =
      Py_BuildValue("{s:s,s:I,s:K,s:K,s:K,s:K,s:K,s:i,s:O,s:O,s:O,s:i,s:I,s:I,s:I,s:i,s:I}", "type",
                    in->type, "slots", (unsigned)in->slots, "capacity",
                    (unsigned long long)in->capacity, "total_size",
                    (unsigned long long)in->total_size, "latest", (unsigned long long)in->latest,
                    "last_publish_ns", (unsigned long long)in->last_publish_ns, "created_ns",
                    (unsigned long long)in->created_ns, "writer_pid", (int)in->writer_pid,
                    "writer_alive", in->writer_alive ? Py_True : Py_False, "writer_closed",
                    in->writer_closed ? Py_True : Py_False, "replaced",
                    in->replaced ? Py_True : Py_False, "sleepers", in->sleepers, "uid",
                    (unsigned)in->uid, "gid", (unsigned)in->gid, "mode", (unsigned)in->mode,
                    "readers", in->readers, "layout_version", (unsigned)in->layout_version);
  if (d == NULL) return NULL;
  PyObject *sc =
      Py_BuildValue("{s:s,s:s,s:s,s:K,s:K}", "type_name", in->type_name, "schema_encoding",
                    in->schema_encoding, "message_encoding", in->message_encoding, "schema_len",
                    (unsigned long long)in->schema_len, "schema_hash",
                    (unsigned long long)in->schema_hash);
  if (sc == NULL || PyDict_Update(d, sc) < 0) {
    Py_XDECREF(sc);
    Py_DECREF(d);
    return NULL;
  }
  Py_DECREF(sc);
  return d;
}

static PyObject *mod_stat(PyObject *m, PyObject *name) {
  (void)m;
  const char *c = PyUnicode_Check(name) ? PyUnicode_AsUTF8(name) : NULL;
  if (c == NULL) {
    if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "name must be a str");
    return NULL;
  }
  struct shmbus_bus_info in;
  int rc = shmbus_stat(c, &in);
  if (rc < 0) return raise_rc(rc, "shmbus_stat", name);
  return bus_info_dict(&in);
}

static PyObject *mod_rm(PyObject *m, PyObject *args, PyObject *kw) {
  (void)m;
  static char *kwlist[] = {"name", "force", NULL};
  PyObject *name;
  int force = 0;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "U|$p:rm", kwlist, &name, &force)) return NULL;
  const char *c = PyUnicode_AsUTF8(name);
  if (c == NULL) return NULL;
  int rc = shmbus_unlink(c, force);
  if (rc < 0) return raise_rc(rc, "shmbus_unlink", name);
  Py_RETURN_NONE;
}

static int list_cb(const char *name, void *arg) {
  PyObject *s = PyUnicode_DecodeFSDefault(name);
  if (s == NULL) return 1;
  int r = PyList_Append((PyObject *)arg, s);
  Py_DECREF(s);
  return r < 0 ? 1 : 0;
}

static PyObject *mod_ls(PyObject *m, PyObject *unused) {
  (void)m;
  (void)unused;
  PyObject *l = PyList_New(0);
  if (l == NULL) return NULL;
  int rc = shmbus_list(list_cb, l);
  if (rc == 1 && PyErr_Occurred()) {
    Py_DECREF(l);
    return NULL;
  }
  if (rc < 0) {
    Py_DECREF(l);
    return raise_rc(rc, "shmbus_list", NULL);
  }
  if (PyList_Sort(l) < 0) {
    Py_DECREF(l);
    return NULL;
  }
  return l;
}

static PyObject *mod_readers(PyObject *m, PyObject *name) {
  (void)m;
  const char *c = PyUnicode_Check(name) ? PyUnicode_AsUTF8(name) : NULL;
  if (c == NULL) {
    if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "name must be a str");
    return NULL;
  }
  struct shmbus_reader_info r[1024];
  int n = shmbus_readers(c, r, 1024);
  if (n < 0) return raise_rc(n, "shmbus_readers", name);
  if (n > 1024) n = 1024;
  PyObject *l = PyList_New(n);
  if (l == NULL) return NULL;
  static const char *modes[] = {"hybrid", "spin", "sleep", "hybrid"};
  for (int i = 0; i < n; i++) {
    PyObject *d =
        Py_BuildValue("{s:i,s:s,s:O,s:O,s:O,s:K,s:K,s:K,s:K}", "pid", (int)r[i].pid, "mode",
                      modes[r[i].mode & 3], "asleep", r[i].asleep ? Py_True : Py_False, "spinning",
                      r[i].spinning ? Py_True : Py_False, "pollfd",
                      r[i].pollfd ? Py_True : Py_False, "cursor", (unsigned long long)r[i].cursor,
                      "lost", (unsigned long long)r[i].lost, "active_ns",
                      (unsigned long long)r[i].active_ns, "opened_ns",
                      (unsigned long long)r[i].opened_ns);
    if (d == NULL) {
      Py_DECREF(l);
      return NULL;
    }
    PyList_SET_ITEM(l, i, d);
  }
  return l;
}

static PyObject *mod_strerror(PyObject *m, PyObject *arg) {
  (void)m;
  int e = PyLong_AsLong(arg);
  if (e == -1 && PyErr_Occurred()) return NULL;
  return PyUnicode_FromString(shmbus_strerror(e));
}

static PyMethodDef mod_methods[] = {
    {"ls", (PyCFunction)mod_ls, METH_NOARGS, "ls() -> list[str]\n\nEvery bus in /dev/shm, sorted."},
    {"stat", (PyCFunction)mod_stat, METH_O,
     "stat(name) -> dict\n\nThe bus's geometry and state, without registering as a reader."},
    {"rm", (PyCFunction)(void (*)(void))mod_rm, METH_VARARGS | METH_KEYWORDS,
     "rm(name, *, force=False)\n\nRemove a bus. Busy while a live writer holds it, unless "
     "force (then its readers and writer get BusReplaced)."},
    {"readers", (PyCFunction)mod_readers, METH_O,
     "readers(name) -> list[dict]\n\nThe live readers of a bus, from its reader registry."},
    {"strerror", (PyCFunction)mod_strerror, METH_O,
     "strerror(errno) -> str\n\nThe library's sentence for an errno (shmbus_strerror())."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef moddef = {
    PyModuleDef_HEAD_INIT,
    .m_name = "shmbus._shmbus",
    .m_doc = "The C extension of shmbus: use the shmbus package.",
    .m_size = -1,
    .m_methods = mod_methods,
};

PyMODINIT_FUNC PyInit__shmbus(void) {
  PyTypeObject *types[] = {&RecordType, &PublisherType, &LoanType, &SubscriberType, &TypeType};
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
    if (PyType_Ready(types[i]) < 0) return NULL;
  PyObject *errors = PyImport_ImportModule("shmbus._errors");
  if (errors == NULL) return NULL;
  from_errno = PyObject_GetAttrString(errors, "from_errno");
  Py_DECREF(errors);
  if (from_errno == NULL) return NULL;
  PyObject *m = PyModule_Create(&moddef);
  if (m == NULL) return NULL;
  if (PyModule_AddType(m, &RecordType) < 0 || PyModule_AddType(m, &PublisherType) < 0 ||
      PyModule_AddType(m, &LoanType) < 0 || PyModule_AddType(m, &SubscriberType) < 0 ||
      PyModule_AddType(m, &TypeType) < 0 ||
      PyModule_AddStringConstant(m, "MSG_CSTRUCT", SHMBUS_MSG_CSTRUCT) < 0 ||
      PyModule_AddStringConstant(m, "LIBRARY_VERSION", SHMBUS_VERSION_STRING) < 0 ||
      PyModule_AddIntConstant(m, "NAME_MAX", SHMBUS_NAME_MAX) < 0 ||
      PyModule_AddIntConstant(m, "TYPE_MAX", SHMBUS_TYPE_MAX) < 0) {
    Py_DECREF(m);
    return NULL;
  }
  return m;
}
