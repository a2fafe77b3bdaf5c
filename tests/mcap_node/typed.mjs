// typed.mjs - typed buses in MCAP, checked by Foxglove's code: @mcap/core reads what
// `shmbus record` wrote of a C-struct bus, @foxglove/omgidl-parser parses the schema found in
// the file, @foxglove/omgidl-serialization decodes every message's CDR, and each value must be
// exactly what `shmsub -F json` printed live (the comparison of tests/types_node/compare.mjs:
// 64-bit integers exact, NaN, infinities, -0.0). And the other way: a file written by
// @mcap/core's writer with Foxglove's CDR encoder, for `shmbus play`.
//   node typed.mjs read FILE.mcap TOPIC TYPE LIVE [--flip N]
//        LIVE: shmsub -F json's lines, one per message; --flip N: invert the first payload
//        byte of message N (from 0) before decoding (the negative control)
//   node typed.mjs write FILE.mcap IDL TYPE LINES [--truncate N]
//        one message per line of our JSON (LINES), CDR little- and big-endian in turn;
//        --truncate N: message N (from 0) loses its last byte (the negative control)
// Prints "ok ..." lines and exits 1 on the first difference.
import { McapIndexedReader, McapStreamReader, McapWriter, TempBuffer } from "@mcap/core";
import { loadDecompressHandlers } from "@mcap/support";
import { parseIDL } from "@foxglove/omgidl-parser";
import { MessageReader, MessageWriter } from "@foxglove/omgidl-serialization";
import { readFileSync, writeFileSync } from "node:fs";
import { Checker, fail, floatOf, isNum, parseExact } from "../types_node/compare.mjs";

const lines = (file) => readFileSync(file, "utf8").split("\n").filter((l) => l.length);

async function read(file, topic, typeName, live, flip) {
  const bytes = readFileSync(file);
  const handlers = await loadDecompressHandlers();
  const r = new McapStreamReader({ decompressHandlers: handlers, validateCrcs: true });
  r.append(bytes);
  const schemas = new Map(), channels = new Map(), msgs = [];
  let rec;
  while ((rec = r.nextRecord())) {
    if (rec.type === "Schema") schemas.set(rec.id, rec);
    if (rec.type === "Channel") channels.set(rec.id, rec);
    if (rec.type === "Message" && channels.get(rec.channelId).topic === topic) msgs.push(rec);
  }
  if (!r.done()) fail("the stream reader did not reach the end of the file");
  const ch = [...channels.values()].filter((c) => c.topic === topic);
  if (ch.length !== 1) fail(`${ch.length} channels of topic ${topic}`);
  const schema = schemas.get(ch[0].schemaId);
  const md = Object.fromEntries(ch[0].metadata);
  if (schema === undefined || schema.encoding !== "omgidl" || schema.name !== typeName ||
      ch[0].messageEncoding !== "cdr" || md["shmbus.message_encoding"] !== "x-shmbus-cstruct" ||
      md["shmbus.type_name"] !== typeName)
    fail(`channel ${topic}: schema ${schema?.name} (${schema?.encoding}), message encoding ` +
         `${ch[0].messageEncoding}, metadata ${JSON.stringify(md)}`);
  console.log(`ok schema ${schema.name} (omgidl, ${schema.data.length} bytes), messages cdr, ` +
              `metadata ${JSON.stringify(md)}`);
  // The indexed reader (summary, chunk and message indexes) finds the same messages.
  const readable = { size: async () => BigInt(bytes.length),
                     read: async (off, size) => bytes.subarray(Number(off), Number(off + size)) };
  const ir = await McapIndexedReader.Initialize({ readable, decompressHandlers: handlers });
  const indexed = [];
  for await (const m of ir.readMessages({ topics: [topic], validateCrcs: true })) indexed.push(m);
  if (indexed.length !== msgs.length ||
      indexed.some((m, i) => Buffer.compare(Buffer.from(m.data), Buffer.from(msgs[i].data)) !== 0 ||
                             m.logTime !== msgs[i].logTime || m.sequence !== msgs[i].sequence))
    fail(`the indexed reader's ${indexed.length} messages differ from the streamed ${msgs.length}`);
  // Every message decoded by Foxglove's reader, from the IDL found in the file.
  const defs = parseIDL(new TextDecoder().decode(schema.data));
  const reader = new MessageReader(typeName, defs);
  const checker = new Checker(defs);
  const want = lines(live);
  if (msgs.length !== want.length) fail(`${msgs.length} messages, shmsub printed ${want.length} lines`);
  msgs.forEach((m, n) => {
    const data = Uint8Array.from(m.data);
    if (n === flip) data[4] ^= 0xff;
    if (n > 0 && m.sequence <= msgs[n - 1].sequence) fail(`message ${n}: sequence ${m.sequence} after ${msgs[n - 1].sequence}`);
    if (m.logTime !== m.publishTime) fail(`message ${n}: log time ${m.logTime}, publish time ${m.publishTime}`);
    checker.struct(checker.defs.get(typeName), parseExact(want[n]), reader.readMessage(data), `message ${n}`);
    console.log(`ok message ${n}: ${data.length} bytes of CDR decode to shmsub's line`);
  });
}

// Our JSON (parseExact's form) as the objects Foxglove's MessageWriter takes: the inverse of
// Checker's reading. One-dimensional arrays only (MessageWriter 1.0.3 writes only the first
// dimension of a multi-dimensional array).
function theirs(checker, defName, ours) {
  const out = {};
  for (const f of checker.defs.get(defName).definitions.filter((d) => !d.isConstant)) {
    const v = ours[f.name];
    const elem = (x) => {
      if (f.isComplex) return theirs(checker, f.type, x);
      if (f.enumType !== undefined) return Number(checker.enumValue(f.enumType, x, f.name));
      if (f.type === "bool") return x;
      if (f.type === "float32" || f.type === "float64") return floatOf(x, f.name);
      if (typeof x === "string") return x.length ? x.charCodeAt(0) : 0;  // a char
      if (!isNum(x)) fail(`${f.name}: ${JSON.stringify(x)} is not a number`);
      return f.type === "int64" || f.type === "uint64" ? BigInt(x.num) : Number(x.num);
    };
    if (f.isArray && (f.arrayLengths ?? []).length > 1) fail(`${f.name}: a multi-dimensional array`);
    if (f.isArray && typeof v === "string")  // a char array
      out[f.name] = Uint8Array.from({ length: f.arrayLengths[0] }, (_, k) => (k < v.length ? v.charCodeAt(k) : 0));
    else out[f.name] = f.isArray ? v.map(elem) : elem(v);
  }
  return out;
}

async function write(file, idlFile, typeName, jsonLines, truncate) {
  const idl = readFileSync(idlFile, "utf8");
  const defs = parseIDL(idl);
  const checker = new Checker(defs);
  const writers = [new MessageWriter(typeName, defs, { kind: 1 }),   // CDR_LE
                   new MessageWriter(typeName, defs, { kind: 0 })];  // CDR_BE
  const buf = new TempBuffer();
  const w = new McapWriter({ writable: buf, chunkSize: 512 });
  await w.start({ profile: "", library: "@mcap/core + @foxglove/omgidl-serialization test" });
  const schemaId = await w.registerSchema({ name: typeName, encoding: "omgidl", data: new TextEncoder().encode(idl) });
  const channelId = await w.registerChannel({ topic: "/foreign/pose", messageEncoding: "cdr", schemaId, metadata: new Map() });
  const all = lines(jsonLines);
  for (let i = 0; i < all.length; i++) {
    let data = writers[i % 2].writeMessage(theirs(checker, typeName, parseExact(all[i])));
    if (i === truncate) data = data.subarray(0, data.length - 1);
    const t = 3000000000000000000n + BigInt(i) * 1000000n;
    await w.addMessage({ channelId, sequence: i + 1, logTime: t, publishTime: t, data });
  }
  await w.end();
  writeFileSync(file, buf.get());
  console.log(`ok wrote ${all.length} messages of ${typeName}, CDR little- and big-endian`);
}

const args = process.argv.slice(2);
if (args[0] === "read" && args.length >= 5) {
  const i = args.indexOf("--flip");
  await read(args[1], args[2], args[3], args[4], i > 0 ? Number(args[i + 1]) : -1);
} else if (args[0] === "write" && args.length >= 5) {
  const i = args.indexOf("--truncate");
  await write(args[1], args[2], args[3], args[4], i > 0 ? Number(args[i + 1]) : -1);
} else fail("usage: node typed.mjs read FILE TOPIC TYPE LIVE [--flip N] | write FILE IDL TYPE LINES [--truncate N]");
