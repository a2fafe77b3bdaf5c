"""Typed buses: schemas, numpy dtypes from the C layout, records <-> dicts (docs/TYPES.md).

The layout is the library's (shmbus_type_describe(), types/shmbus_types.h), never recomputed
here: every field of the dtype sits at the offset and has the size the library says, so a
numpy view of a record is the C struct idlc makes from the same IDL.
"""
import dataclasses
import json
import math
import os

from . import _shmbus

MSG_CSTRUCT = _shmbus.MSG_CSTRUCT

# The scalar types of shmbus_type_describe() as numpy types (little-endian: docs/TYPES.md).
_SCALARS = {
    "int8": "i1", "uint8": "u1", "octet": "u1", "char": "S1", "bool": "?",
    "int16": "<i2", "uint16": "<u2", "int32": "<i4", "uint32": "<u4",
    "int64": "<i8", "uint64": "<u8", "float32": "<f4", "float64": "<f8",
}
_ENUM_WIDTH = {1: "u1", 2: "<u2", 4: "<u4", 8: "<u8"}

# The message encoding a schema encoding implies when none is given (as shmpub's).
_DEFAULT_MESSAGE_ENCODING = {
    "omgidl": MSG_CSTRUCT, "ros2msg": "cdr", "ros2idl": "cdr", "jsonschema": "json",
    "protobuf": "protobuf", "flatbuffer": "flatbuffer",
}


@dataclasses.dataclass(frozen=True)
class Schema:
    """The schema a typed bus carries (struct shmbus_schema): the type name
    ("sensors::Imu"), the schema encoding ("omgidl", ...), the message encoding
    ("x-shmbus-cstruct", "cdr", "json", ...), the schema text (bytes: some encodings, such
    as protobuf's descriptor sets, are binary; .text.decode() for IDL) and its hash
    (shmbus_schema_hash(), 64-bit FNV-1a)."""

    type_name: str
    schema_encoding: str
    message_encoding: str
    text: bytes
    hash: int

    @property
    def cstruct(self):
        """True for C-struct records described by OMG IDL (what dtype and decoding need)."""
        return self.schema_encoding == "omgidl" and self.message_encoding == MSG_CSTRUCT


def _field_format(t):
    """The numpy format of one describe() type T (without its dims)."""
    if isinstance(t, str):
        try:
            return _SCALARS[t]
        except KeyError:
            raise ValueError(f"describe: unknown type {t!r}") from None
    if "chars" in t:
        return f"S{int(t['chars'])}"
    if "enum" in t:
        return _ENUM_WIDTH[int(t["size"])]
    if "struct" in t:
        return _struct_dtype(t)
    raise ValueError(f"describe: unknown type {t!r}")


def _struct_dtype(d):
    import numpy as np
    names, formats, offsets = [], [], []
    for f in d["fields"]:
        fmt = _field_format(f["type"])
        dims = tuple(f.get("dims") or ())
        names.append(f["name"])
        formats.append((fmt, dims) if dims else fmt)
        offsets.append(int(f["offset"]))
    return np.dtype({"names": names, "formats": formats, "offsets": offsets,
                     "itemsize": int(d["size"])}, align=True)


def dtype_from_describe(desc):
    """dtype_from_describe(desc) -> numpy.dtype: the structured dtype of a layout given by
    shmbus_type_describe() (a JSON str or its dict): the C layout (align=True), each field at
    its offset, itemsize the struct's sizeof; nested structs as nested dtypes, arrays as
    sub-array shapes, enums as their unsigned integer width, char arrays as S<n>, booleans
    as ?, char as S1, octet as u1."""
    if isinstance(desc, (str, bytes)):
        desc = json.loads(desc)
    return _struct_dtype(desc)


def _float_paths(d, prefix=()):
    """The paths (tuples of names) of float fields, where JSON strings mean NaN/infinities."""
    out = []
    for f in d["fields"]:
        t = f["type"]
        if t in ("float32", "float64"):
            out.append(prefix + (f["name"],))
        elif isinstance(t, dict) and "struct" in t:
            out.extend(_float_paths(t, prefix + (f["name"],)))
    return out


_SPECIAL = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _floats_in(v):
    """JSON's "NaN"/"Infinity"/"-Infinity" strings (in nested lists) as floats."""
    if isinstance(v, list):
        return [_floats_in(x) for x in v]
    if isinstance(v, str):
        return _SPECIAL.get(v, v)
    return v


def _fix_floats(obj, path):
    """In place: the float field at @path of @obj (through lists of structs) as floats."""
    if isinstance(obj, list):
        for x in obj:
            _fix_floats(x, path)
        return
    if not isinstance(obj, dict) or path[0] not in obj:
        return
    if len(path) == 1:
        obj[path[0]] = _floats_in(obj[path[0]])
    else:
        _fix_floats(obj[path[0]], path[1:])


def _json_value(v):
    """A value of a dict to publish, as JSON can carry it: non-finite floats as the library's
    strings, numpy scalars and arrays as Python numbers and lists, bytes as Latin-1 str."""
    if isinstance(v, dict):
        return {k: _json_value(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_json_value(x) for x in v]
    if hasattr(v, "tolist") and not isinstance(v, (str, bytes)):  # numpy scalar or array
        return _json_value(v.tolist())
    if isinstance(v, float) and not math.isfinite(v):
        return "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).decode("latin-1")
    return v


class _Typed:
    """The decoder and encoder of one C-struct schema: the parsed type (shmbus._shmbus.Type),
    its numpy dtype (built on first use: numpy is needed only for it), and the float fields."""

    def __init__(self, schema):
        text = schema.text
        self.schema = schema
        self.type = _shmbus.Type(text, schema.type_name)
        self.size = self.type.size
        self.layout = json.loads(self.type.describe())
        self._floats = _float_paths(self.layout)
        self._dtype = None

    @property
    def dtype(self):
        if self._dtype is None:
            self._dtype = dtype_from_describe(self.layout)
        return self._dtype

    def _check_len(self, n):
        if n != self.size:
            raise ValueError(f"{self.schema.type_name}: the record has {n} bytes, the struct "
                             f"{self.size}")

    def _value(self, rec):
        import numpy as np
        data = rec.data
        self._check_len(len(data))
        return np.frombuffer(data, self.dtype, count=1)[0]

    def _as_dict(self, rec):
        return self.decode(rec.data)

    def decode(self, data):
        """Record bytes -> dict (shmbus_type_to_json(), then json.loads, floats restored)."""
        d = json.loads(self.type.to_json(data))
        for p in self._floats:
            _fix_floats(d, p)
        return d

    def encode_dict(self, d):
        """dict -> record bytes (json.dumps, then shmbus_type_from_json()): ValueError naming
        the field when it does not convert."""
        return self.type.from_json(json.dumps(_json_value(d), allow_nan=False))

    def check_numpy(self, obj):
        """A numpy structured scalar or 0-d/one-row array of exactly this dtype, as an array
        to publish; TypeError otherwise."""
        import numpy as np
        dt = getattr(obj, "dtype", None)
        if dt is None:
            raise TypeError(f"publish: {type(obj).__name__} is not a numpy object")
        want = self.dtype
        if dt.itemsize != want.itemsize or dt != want:
            raise TypeError(f"publish: a record of {self.schema.type_name} must have the bus's "
                            f"dtype (Publisher.dtype, itemsize {want.itemsize}), not {dt} "
                            f"(itemsize {dt.itemsize})")
        a = np.ascontiguousarray(obj)
        if a.size != 1:
            raise TypeError(f"publish: one record at a time (a scalar or one row), not an "
                            f"array of {a.size}")
        return a


def schema_text(schema):
    """schema= of Publisher as bytes: a path (os.PathLike, or a str naming an existing file
    that holds no newline or brace) is read; other str is the text (UTF-8); bytes as given."""
    if isinstance(schema, os.PathLike):
        with open(schema, "rb") as f:
            return f.read()
    if isinstance(schema, str):
        if "\n" not in schema and "{" not in schema and os.path.isfile(schema):
            with open(schema, "rb") as f:
                return f.read()
        return schema.encode()
    if isinstance(schema, (bytes, bytearray, memoryview)):
        return bytes(schema)
    raise TypeError("schema must be IDL text (str or bytes) or a path")


def default_message_encoding(schema_encoding):
    return _DEFAULT_MESSAGE_ENCODING.get(schema_encoding, "")
