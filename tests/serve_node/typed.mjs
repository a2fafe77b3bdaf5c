// typed.mjs - a typed C-struct bus through `shmbus serve`, decoded by Foxglove's own code:
// advertised as encoding "cdr" with its OMG IDL as an "omgidl" schema, every payload decoded by
// @foxglove/omgidl-serialization (the schema parsed by @foxglove/omgidl-parser) to exactly the
// values typed_pub published; a JSON client publishing onto a typed bus is converted to the struct.
//   node typed.mjs A R B P T U   (T: the typed bus; env SHMBUS, SHMPUB, TMP_DIR, RUN, TYPED_PUB)
import { spawn } from "node:child_process";
import { parseIDL } from "@foxglove/omgidl-parser";
import { MessageReader } from "@foxglove/omgidl-serialization";
import { check, done, waitFor, serve, killAll, busLatest, env, connect, channelOf, run } from "./common.mjs";

const T = process.argv[6];

function expected(seq) {
  return {
    seq, i: -seq, f: seq * 0.5, d: seq * 0.25, v: { x: seq, y: -seq, z: seq / 4 },
    arr: [seq % 100, -(seq % 100), 7], ok: seq % 2 === 1, mode: seq % 3, b: seq % 256,
  };
}

function same(got, want, path = "") {
  if (typeof want === "object") {
    for (const k of Object.keys(want)) {
      const r = same(got?.[k], want[k], `${path}.${k}`);
      if (r) return r;
    }
    return null;
  }
  let g = got;
  if (typeof g === "bigint") g = Number(g);
  if (typeof want === "boolean") g = Boolean(g);
  return g === want ? null : `${path}: got ${String(got)}, want ${want}`;
}

async function main() {
  const pub = spawn(process.env.TYPED_PUB, [T, "0", "200"], { stdio: "inherit" });
  process.on("exit", () => pub.kill("SIGTERM"));
  await waitFor(() => busLatest(T) >= 1, `typed bus ${T}`);
  const srv = await serve([`${process.env.RUN}*`]);
  const st = await connect(srv.port);
  const ch = await waitFor(() => channelOf(st, T), `the advertisement of ${T}`);
  check(ch.encoding === "cdr", `typed bus encoding: ${ch.encoding}`);
  check(ch.schemaEncoding === "omgidl", `schemaEncoding: ${ch.schemaEncoding}`);
  check(ch.schemaName === "test::Sample", `schemaName: ${ch.schemaName}`);
  check(/struct Sample/.test(ch.schema), "the schema is the bus's IDL");
  const reader = new MessageReader(ch.schemaName, parseIDL(ch.schema));
  const sub = st.client.subscribe(ch.id);
  await waitFor(() => st.messages.filter((m) => m.subscriptionId === sub).length >= 50, "50 typed records", 120);
  const msgs = st.messages.filter((m) => m.subscriptionId === sub);
  let bad = null, prev = 0;
  for (const m of msgs) {
    const v = reader.readMessage(m.data);
    const seq = Number(v.seq);
    bad = bad || same(v, expected(seq), `seq ${seq}`) || (seq <= prev ? `seq ${seq} after ${prev}` : null);
    prev = seq;
  }
  check(bad === null, `every CDR payload decodes to exactly what was published (${msgs.length} records): ${bad}`);

  // The status channel carries the layout the page decodes CDR with.
  const subS = st.client.subscribe(channelOf(st, "/shmbus/buses").id);
  const status = await waitFor(() => {
    const m = st.messages.filter((m) => m.subscriptionId === subS).pop();
    const j = m && JSON.parse(new TextDecoder().decode(m.data));
    return j && j.buses.find((b) => b.name === T && b.layout) ? j : null;
  }, "the typed bus's layout in the status channel");
  const lay = status.buses.find((b) => b.name === T).layout;
  check(lay.name === "test::Sample" && lay.fields.length === 9, `layout: ${JSON.stringify(lay).slice(0, 200)}`);
  st.client.close();
  srv.proc.kill("SIGTERM");
  pub.kill("SIGTERM");
  await new Promise((r) => pub.on("exit", r));

  // Client publishing in JSON onto the typed bus: the server converts it to the C struct.
  const srv2 = await serve(["--allow-publish", T, `${process.env.RUN}*`], "typed-publish");
  const st2 = await connect(srv2.port);
  await waitFor(() => channelOf(st2, T), "advertisement");
  const before = busLatest(T);
  const cid = st2.client.advertise({ topic: T, encoding: "json", schemaName: "test::Sample" });
  st2.client.sendMessage(cid, new TextEncoder().encode(JSON.stringify({ seq: 4242, i: -4242, f: 2121, d: 1060.5, v: { x: 4242, y: -4242, z: 1060.5 }, arr: [42, -42, 7], ok: false, mode: "IDLE", b: 146 })));
  await waitFor(() => busLatest(T) > before, "the client's record on the bus");
  const r = run(env.shmbus.replace(/shmbus$/, "shmsub"), [T, "-1", "-F", "json"]);
  check(/"seq":4242/.test(r.stdout) && /"mode":"IDLE"/.test(r.stdout), `the record the client published, as shmsub reads it: ${r.stdout} ${r.stderr}`);
  st2.client.close();
  srv2.proc.kill("SIGTERM");
}

main()
  .catch((e) => check(false, e.stack || String(e)))
  .finally(() => {
    killAll();
    process.exit(done() ? 0 : 1);
  });
