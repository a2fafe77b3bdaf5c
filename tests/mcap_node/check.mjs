// check.mjs - Foxglove's MCAP library (@mcap/core, @mcap/support) against shmbus's (mcap/).
//   node check.mjs read DIR      read every file mcap_sample wrote into DIR, streamed and
//                                (with a summary) indexed; compare with the expected messages
//   node check.mjs write FILE    write FILE with @mcap/core's writer; print its messages in
//                                mcap_sample's "TOPIC SEQ LOG PUBLISH HEX" format
// Prints "ok ..." lines and exits non-zero on the first mismatch.
import { McapIndexedReader, McapStreamReader, McapWriter, TempBuffer } from "@mcap/core";
import { loadDecompressHandlers } from "@mcap/support";
import { readFileSync, writeFileSync } from "node:fs";

const N = 500, FLUSHED = 200;
const hex = (u8) => Buffer.from(u8).toString("hex");

function expected(n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const p = new Uint8Array(i % 40);
    for (let k = 0; k < p.length; k++) p[k] = (i * 31 + k) & 0xff;
    const t = 1000000000000000000n + BigInt(i) * 1000000n;
    out.push(`${i % 2 ? "b" : "a"} ${i + 1} ${t} ${t - 5n} ${hex(p)}`);
  }
  return out;
}

function fail(msg) {
  console.error(`FAIL: ${msg}`);
  process.exit(1);
}

function same(name, got, want) {
  if (got.length !== want.length) fail(`${name}: ${got.length} messages, wanted ${want.length}`);
  for (let i = 0; i < want.length; i++)
    if (got[i] !== want[i]) fail(`${name}: message ${i} is\n  ${got[i]}\nwanted\n  ${want[i]}`);
}

const line = (channels, m) =>
  `${channels.get(m.channelId).topic} ${m.sequence} ${m.logTime} ${m.publishTime} ${hex(m.data)}`;

function stream(bytes, handlers) {
  const r = new McapStreamReader({ decompressHandlers: handlers, validateCrcs: true });
  r.append(bytes);
  const channels = new Map(), msgs = [], kinds = new Set();
  let rec;
  while ((rec = r.nextRecord())) {
    kinds.add(rec.type);
    if (rec.type === "Channel") channels.set(rec.id, rec);
    if (rec.type === "Message") msgs.push(line(channels, rec));
  }
  return { msgs, channels, kinds, done: r.done() };
}

async function indexed(bytes, handlers) {
  const readable = {
    size: async () => BigInt(bytes.length),
    read: async (off, size) => bytes.subarray(Number(off), Number(off + size)),
  };
  const r = await McapIndexedReader.Initialize({ readable, decompressHandlers: handlers });
  const msgs = [];
  for await (const m of r.readMessages({ validateCrcs: true })) msgs.push(line(r.channelsById, m));
  return { msgs, r };
}

async function readAll(dir) {
  const handlers = await loadDecompressHandlers();
  const want = expected(N);
  for (const f of ["zstd", "lz4", "none", "zstd-nosummary", "lz4-nosummary", "unchunked"]) {
    const bytes = readFileSync(`${dir}/${f}.mcap`);
    const s = stream(bytes, handlers);
    if (!s.done) fail(`${f}: the stream reader did not reach the end`);
    same(`${f} streamed`, s.msgs, want);
    const a = [...s.channels.values()].find((c) => c.topic === "a");
    if (a.messageEncoding !== "x-shmbus-raw" || a.schemaId !== 0 || a.metadata.get("shmbus.slots") !== "64")
      fail(`${f}: channel a is ${JSON.stringify([a.messageEncoding, a.schemaId, [...a.metadata]])}`);
    console.log(`ok ${f}: streamed ${s.msgs.length} messages, records ${[...s.kinds].sort().join(",")}`);
    if (f.includes("nosummary") || f === "unchunked") continue;
    const { msgs, r } = await indexed(bytes, handlers);
    same(`${f} indexed`, msgs, want);
    if (r.statistics.messageCount !== BigInt(N)) fail(`${f}: statistics say ${r.statistics.messageCount}`);
    if (r.statistics.channelMessageCounts.get(0) !== BigInt(N / 2)) fail(`${f}: channel counts`);
    if (r.chunkIndexes.length < 2) fail(`${f}: ${r.chunkIndexes.length} chunk indexes`);
    if (r.metadataIndexes.length !== 1) fail(`${f}: ${r.metadataIndexes.length} metadata indexes`);
    console.log(`ok ${f}: indexed ${msgs.length} messages in ${r.chunkIndexes.length} chunks`);
  }
  // A killed writer's file: the stream reader reads up to its last chunk and waits for more.
  const k = stream(readFileSync(`${dir}/killed.mcap`), handlers);
  if (k.done) fail("killed: the stream reader saw an end");
  same("killed streamed", k.msgs, want.slice(0, FLUSHED));
  console.log(`ok killed: streamed ${k.msgs.length} messages, then a truncated chunk`);
}

async function writeOne(path) {
  const buf = new TempBuffer();
  const w = new McapWriter({ writable: buf, chunkSize: 1000 });
  await w.start({ profile: "", library: "@mcap/core test" });
  const schemaId = await w.registerSchema({ name: "Num", encoding: "jsonschema", data: new TextEncoder().encode("{}") });
  const ch = [
    await w.registerChannel({ topic: "/npm/json", messageEncoding: "json", schemaId, metadata: new Map() }),
    await w.registerChannel({ topic: "raw", messageEncoding: "x-shmbus-raw", schemaId: 0, metadata: new Map([["shmbus.slots", "256"]]) }),
  ];
  const topics = ["/npm/json", "raw"], out = [];
  for (let i = 0; i < 120; i++) {
    const data = i % 2 ? Uint8Array.from({ length: i % 17 }, (_, k) => (i + k * 3) & 0xff)
                       : new TextEncoder().encode(JSON.stringify({ i }));
    const t = 2000000000000000000n + BigInt(i) * 2000000n;
    await w.addMessage({ channelId: ch[i % 2], sequence: i, logTime: t, publishTime: t, data });
    out.push(`${topics[i % 2]} ${i} ${t} ${t} ${hex(data)}`);
  }
  await w.addMetadata({ name: "npm", metadata: new Map([["k", "v"]]) });
  await w.addAttachment({ name: "a.txt", logTime: 1n, createTime: 2n, mediaType: "text/plain", data: new Uint8Array([104, 105]) });
  await w.end();
  writeFileSync(path, buf.get());
  console.log(out.join("\n"));
}

const [mode, arg] = process.argv.slice(2);
if (mode === "read") await readAll(arg);
else if (mode === "write") await writeOne(arg);
else fail("usage: node check.mjs read DIR | write FILE");
