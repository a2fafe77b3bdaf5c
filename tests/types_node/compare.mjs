// compare.mjs - our JSON of a C-struct record (shmbus_type_to_json(), shmsub -F json) against
// the value Foxglove's @foxglove/omgidl-serialization decoded from its CDR, exactly: shared by
// tests/types_node/check.mjs and tests/mcap_node/typed.mjs. No imports: the callers parse the
// IDL (@foxglove/omgidl-parser) and hand its definitions to Checker.
//
// How Foxglove represents each value, and how it is compared with our JSON:
//   int8..uint32      number (typed arrays for arrays)  BigInt(our literal) === BigInt(value)
//   int64, uint64     bigint (BigInt64Array ...)         BigInt(our literal) === value
//   float32           number (Float32Array)              Object.is(Math.fround(ours), value)
//   float64           number (Float64Array)              Object.is(Number(ours), value)
//                     ours "NaN"/"Infinity"/"-Infinity"  isNaN / +-Infinity; Object.is tells -0
//   boolean           true/false                         ===
//   char              uint8 (Uint8Array for arrays)      ours a Latin-1 string: each char code
//                                                        is a byte, then zeros up to the length
//   enum              uint32, field.enumType names it    ours a name (its value among the
//                                                        enum's constants) or a number
//   struct, arrays    objects, nested arrays             field by field, element by element

export function fail(msg) {
  console.error(`FAIL: ${msg}`);
  process.exit(1);
}

// Our JSON with every number kept as its literal text ({num: "..."}): JSON.parse would round
// 64-bit integers to doubles, and the check must see the exact digits.
export function parseExact(text) {
  let i = 0;
  const ws = () => { while (/\s/.test(text[i] ?? "")) i++; };
  const value = () => {
    ws();
    const c = text[i];
    if (c === "{") {
      i++; const o = {}; ws();
      if (text[i] === "}") { i++; return o; }
      for (;;) {
        ws(); const k = value(); ws();
        if (text[i++] !== ":") throw new Error(`expected : at ${i}`);
        o[k] = value(); ws();
        if (text[i] === ",") { i++; continue; }
        if (text[i++] !== "}") throw new Error(`expected } at ${i}`);
        return o;
      }
    }
    if (c === "[") {
      i++; const a = []; ws();
      if (text[i] === "]") { i++; return a; }
      for (;;) {
        a.push(value()); ws();
        if (text[i] === ",") { i++; continue; }
        if (text[i++] !== "]") throw new Error(`expected ] at ${i}`);
        return a;
      }
    }
    if (c === '"') {
      const m = /^"(?:[^"\\]|\\.)*"/.exec(text.slice(i));
      i += m[0].length;
      return JSON.parse(m[0]);
    }
    const m = /^(true|false|null|-?[0-9][0-9.eE+-]*)/.exec(text.slice(i));
    if (!m) throw new Error(`unexpected ${c} at ${i}`);
    i += m[0].length;
    if (m[0] === "true") return true;
    if (m[0] === "false") return false;
    if (m[0] === "null") return null;
    return { num: m[0] };
  };
  const v = value();
  ws();
  if (i !== text.length) throw new Error(`trailing text at ${i}`);
  return v;
}

export const isNum = (v) => v !== null && typeof v === "object" && typeof v.num === "string";

export function floatOf(ours, path) {
  if (ours === "NaN") return NaN;
  if (ours === "Infinity") return Infinity;
  if (ours === "-Infinity") return -Infinity;
  if (!isNum(ours)) fail(`${path}: ours is ${JSON.stringify(ours)}, not a number`);
  return Number(ours.num);
}

function sameFloat(a, b) {
  return (Number.isNaN(a) && Number.isNaN(b)) || Object.is(a, b);
}

export class Checker {
  constructor(defs) {
    this.defs = new Map(defs.map((d) => [d.name, d]));
  }

  enumValue(enumType, ours, path) {
    if (isNum(ours)) return BigInt(ours.num);
    const c = this.defs.get(enumType)?.definitions.find((d) => d.name === ours);
    if (c === undefined) fail(`${path}: ${JSON.stringify(ours)} is not an enumerator of ${enumType}`);
    return BigInt(c.value);
  }

  scalar(field, ours, theirs, path) {
    const t = field.type;
    if (field.enumType !== undefined) {
      if (this.enumValue(field.enumType, ours, path) !== BigInt(theirs))
        fail(`${path}: ours ${JSON.stringify(ours)}, Foxglove's ${theirs}`);
    } else if (t === "bool") {
      if (ours !== theirs) fail(`${path}: ours ${ours}, Foxglove's ${theirs}`);
    } else if (t === "float32" || t === "float64") {
      const v = floatOf(ours, path);
      if (!sameFloat(t === "float32" ? Math.fround(v) : v, theirs))
        fail(`${path}: ours ${JSON.stringify(ours)}, Foxglove's ${Object.is(theirs, -0) ? "-0" : theirs}`);
    } else if (typeof ours === "string" && t === "uint8") {  // a char
      const want = ours.length ? ours.charCodeAt(0) : 0;
      if (ours.length > 1 || want !== theirs) fail(`${path}: ours ${JSON.stringify(ours)}, Foxglove's ${theirs}`);
    } else {
      if (!isNum(ours)) fail(`${path}: ours ${JSON.stringify(ours)} is not a number (${t})`);
      if (BigInt(ours.num) !== BigInt(theirs)) fail(`${path}: ours ${ours.num}, Foxglove's ${theirs}`);
    }
  }

  chars(ours, theirs, path) {  // a char array shown as a string: the innermost dimension
    const bytes = Array.from(theirs);
    for (let k = 0; k < bytes.length; k++) {
      const want = k < ours.length ? ours.charCodeAt(k) : 0;
      if (bytes[k] !== want) fail(`${path}: ours ${JSON.stringify(ours)}, Foxglove's bytes ${bytes}`);
    }
    if (ours.length > bytes.length) fail(`${path}: ours ${JSON.stringify(ours)} is longer than ${bytes.length}`);
  }

  array(field, ours, theirs, dims, path) {
    if (typeof ours === "string" && dims.length === 1 && field.type === "uint8")
      return this.chars(ours, theirs, path);
    if (!Array.isArray(ours)) fail(`${path}: ours ${JSON.stringify(ours)} is not an array`);
    if (ours.length !== dims[0] || theirs.length !== dims[0])
      fail(`${path}: ${ours.length} elements in ours, ${theirs.length} in Foxglove's, ${dims[0]} declared`);
    for (let k = 0; k < dims[0]; k++) {
      const p = `${path}[${k}]`;
      if (dims.length > 1) this.array(field, ours[k], theirs[k], dims.slice(1), p);
      else this.element(field, ours[k], theirs[k], p);
    }
  }

  element(field, ours, theirs, path) {
    if (field.isComplex) this.struct(this.defs.get(field.type), ours, theirs, path);
    else this.scalar(field, ours, theirs, path);
  }

  struct(def, ours, theirs, path) {
    const fields = def.definitions.filter((f) => !f.isConstant);
    const names = fields.map((f) => f.name).join(",");
    if (Object.keys(ours).join(",") !== names) fail(`${path || "record"}: ours has ${Object.keys(ours)}, the IDL ${names}`);
    if (Object.keys(theirs).join(",") !== names) fail(`${path || "record"}: Foxglove's has ${Object.keys(theirs)}`);
    for (const f of fields) {
      const p = path ? `${path}.${f.name}` : f.name;
      if (f.isArray) this.array(f, ours[f.name], theirs[f.name], f.arrayLengths, p);
      else this.element(f, ours[f.name], theirs[f.name], p);
    }
  }
}
