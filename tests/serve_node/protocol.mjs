// protocol.mjs - `shmbus serve` seen by Foxglove's own client (@foxglove/ws-protocol):
// advertisements with the right encodings, subscribing, exact payloads, the latest value at
// once, a bus created while connected advertised, a removed one unadvertised, a replaced one
// advertised anew, the status channel, malformed input answered with status messages (the
// connection survives), oversized input closed, and client publishing only where allowed.
//   node protocol.mjs A R B P   (four unique bus names; env SHMBUS, SHMPUB, TMP_DIR)
import WebSocket from "ws";
import wsProtocol from "@foxglove/ws-protocol";
const { FoxgloveClient } = wsProtocol;
import {
  check, done, waitFor, serve, linePublisher, run, env, connect, channelOf, text, killAll, busLatest,
} from "./common.mjs";

const [A, R, B, P] = process.argv.slice(2);
const prefix = process.env.RUN; // every bus of this run starts with it

async function main() {
  // A JSON-looking text bus fed line by line, and a raw one with one record.
  const pa = linePublisher(A, ["--slots", "64"]);
  pa.send(JSON.stringify({ seq: 0, x: 0 }));
  await waitFor(() => busLatest(A) >= 1, `bus ${A}`);
  check(run(env.shmpub, [R, "-m", "raw\u0001bytes", "-t", "blob"]).status === 0, "shmpub R");

  const srv = await serve([`${prefix}*`]);
  const st = await connect(srv.port);
  check(st.info.name.startsWith("shmbus serve"), `serverInfo name: ${st.info.name}`);
  check(Array.isArray(st.info.capabilities) && !st.info.capabilities.includes("clientPublish"),
    `no clientPublish without --allow-publish: ${JSON.stringify(st.info.capabilities)}`);

  // Advertisements: both buses as raw bytes, and the status channel.
  await waitFor(() => channelOf(st, A) && channelOf(st, R) && channelOf(st, "/shmbus/buses"), "advertisements");
  const ca = channelOf(st, A), cr = channelOf(st, R), cs = channelOf(st, "/shmbus/buses");
  check(ca.encoding === "x-shmbus-raw" && ca.schema === "", `untyped bus advertised as raw: ${JSON.stringify(ca)}`);
  check(cr.schemaName === "blob", `raw bus's schemaName is its type tag: ${JSON.stringify(cr)}`);
  check(cs.encoding === "json" && cs.schemaEncoding === "jsonschema", `status channel: ${JSON.stringify(cs)}`);

  // Subscribing: the latest value at once, then every new record, byte for byte, in order.
  const subA = st.client.subscribe(ca.id);
  const subR = st.client.subscribe(cr.id);
  await waitFor(() => st.messages.some((m) => m.subscriptionId === subR), "R's latest value");
  const mr = st.messages.find((m) => m.subscriptionId === subR);
  check(text(mr.data) === "raw\u0001bytes", `R's payload: ${JSON.stringify(text(mr.data))}`);
  await waitFor(() => st.messages.some((m) => m.subscriptionId === subA), "A's latest value");
  check(text(st.messages.find((m) => m.subscriptionId === subA).data) === '{"seq":0,"x":0}', "A's latest value is the one published before the server started");
  const N = 200;
  for (let i = 1; i <= N; i++) pa.send(JSON.stringify({ seq: i, x: i * 0.25 }));
  await waitFor(() => st.messages.some((m) => m.subscriptionId === subA && JSON.parse(text(m.data)).seq === N), `A's record ${N}`);
  const got = st.messages.filter((m) => m.subscriptionId === subA).map((m) => JSON.parse(text(m.data)));
  let ordered = true, exact = true;
  for (let i = 1; i < got.length; i++) if (got[i].seq <= got[i - 1].seq) ordered = false;
  for (const g of got) if (g.x !== g.seq * 0.25) exact = false;
  check(ordered, "records arrive in order, none twice");
  check(exact, "every payload is exactly what was published");
  const ts = st.messages.filter((m) => m.subscriptionId === subA).map((m) => m.timestamp);
  const now = BigInt(Date.now()) * 1000000n;
  check(ts.every((t) => t > now - 600n * 1000000000n && t <= now + 1000000000n), "timestamps are the records' publish times (ns since the epoch)");
  console.log(`A: ${got.length} of ${N + 1} records received (the rest dropped by latest-value queues, if any)`);

  // The status channel: the buses with their writer and readers, this client.
  const subS = st.client.subscribe(cs.id);
  const status = await waitFor(() => {
    const m = st.messages.filter((m) => m.subscriptionId === subS).pop();
    if (!m) return null;
    const j = JSON.parse(text(m.data));
    const b = j.buses.find((b) => b.name === A);
    return b && b.writer === pa.proc.pid && j.clients.length >= 1 ? j : null;
  }, "the status channel listing A with its writer");
  const sa = status.buses.find((b) => b.name === A);
  check(sa.writerState === "running" && sa.readers >= 1 && sa.latest >= 1, `status of A: ${JSON.stringify(sa)}`);
  check(status.clients.length >= 1 && status.clients.some((c) => c.subscriptions >= 2), `status clients: ${JSON.stringify(status.clients)}`);

  // A bus created while connected is advertised; removed, unadvertised.
  check(run(env.shmpub, [B, "-m", "hello"]).status === 0, "shmpub B");
  const cb = await waitFor(() => channelOf(st, B), `the advertisement of ${B} (created while connected)`);
  const subB = st.client.subscribe(cb.id);
  await waitFor(() => st.messages.some((m) => m.subscriptionId === subB), "B's latest value");
  check(run(env.shmbus, ["rm", B]).status === 0, "shmbus rm B");
  await waitFor(() => st.unadvertised.includes(cb.id), `the unadvertisement of ${B} (removed)`);
  check(!channelOf(st, B), "B is gone from the channel list");

  // A replaced bus (another geometry): unadvertised, advertised anew with another id.
  check(run(env.shmpub, [R, "-m", "v2", "-c", "4096"]).status === 0, "shmpub R -c 4096 (replaces R)");
  await waitFor(() => st.unadvertised.includes(cr.id), "the unadvertisement of the replaced R");
  const cr2 = await waitFor(() => channelOf(st, R), "the new advertisement of R");
  check(cr2.id !== cr.id, "a replaced bus gets a new channel id");

  // Malformed input: a status message each, and the connection keeps working.
  const before = st.statuses.length;
  const raw = st.ws;
  raw.send("this is not JSON");
  raw.send(JSON.stringify({ op: "noSuchOp" }));
  raw.send(JSON.stringify([1, 2, 3]));
  raw.send(JSON.stringify({ op: "subscribe", subscriptions: [{ id: 99, channelId: 123456 }] }));
  raw.send(JSON.stringify({ op: "subscribe", subscriptions: [{ id: subA, channelId: cr2.id }] }));
  raw.send(JSON.stringify({ op: "subscribe", subscriptions: "x" }));
  raw.send(JSON.stringify({ op: "unsubscribe", subscriptionIds: [424242] }));
  raw.send(JSON.stringify({ op: "subscribe", subscriptions: [{ id: -1, channelId: 1.5 }] }));
  raw.send(JSON.stringify({ op: "advertise", channels: [{ id: 1, topic: P, encoding: "json", schemaName: "" }] }));
  raw.send(JSON.stringify({ op: "getParameters", parameterNames: [] }));
  raw.send(new Uint8Array([1, 0, 0, 0, 0, 65]));
  raw.send(new Uint8Array([7]));
  raw.send(new Uint8Array([]));
  await waitFor(() => st.statuses.length >= before + 13, "13 status messages", 60);
  const news = st.statuses.slice(before);
  check(news.every((s) => s.level === 2 || s.level === 1), `statuses are warnings or errors: ${JSON.stringify(news)}`);
  check(news.some((s) => /invalid JSON/.test(s.message)), "bad JSON named");
  check(news.some((s) => /unknown op 'noSuchOp'/.test(s.message)), "unknown op named");
  check(news.some((s) => /no channel 123456/.test(s.message)), "unknown channel named");
  check(news.some((s) => /publishing is off/.test(s.message)), "advertise without --allow-publish refused");
  console.log(news.map((s) => `  status ${s.level}: ${s.message}`).join("\n"));
  check(st.closed === null, "the client is still connected after malformed input");
  const n0 = st.messages.length;
  pa.send(JSON.stringify({ seq: N + 1, x: (N + 1) * 0.25 }));
  await waitFor(() => st.messages.length > n0, "a record after the malformed input");

  // Oversized: a 2 MiB message closes the connection (1009), the server goes on.
  const big = new WebSocket(`ws://127.0.0.1:${srv.port}/`, [FoxgloveClient.SUPPORTED_SUBPROTOCOL]);
  let bigClose = null;
  big.on("close", (code) => (bigClose = code));
  big.on("error", () => {});
  await waitFor(() => big.readyState === WebSocket.OPEN, "a second connection");
  big.send("x".repeat(2 << 20));
  await waitFor(() => bigClose !== null, "the oversized client closed");
  check(bigClose === 1009, `oversized message: close code ${bigClose}, wanted 1009`);
  // A connection without the subprotocol is refused.
  const nop = new WebSocket(`ws://127.0.0.1:${srv.port}/`);
  let nopState = null;
  nop.on("open", () => (nopState = "open"));
  nop.on("error", () => (nopState = "refused"));
  nop.on("close", () => (nopState = nopState || "closed"));
  await waitFor(() => nopState, "the answer to a client without the subprotocol");
  check(nopState !== "open", `a client without foxglove.websocket.v1: ${nopState}`);
  check(srv.proc.exitCode === null, "the server survived");

  st.client.close();
  await pa.end();

  // Client publishing: only with --allow-publish, only to the buses it names.
  const srv2 = await serve([`--allow-publish`, P, `${prefix}*`], "publish");
  const st2 = await connect(srv2.port);
  check(st2.info.capabilities.includes("clientPublish"), `clientPublish advertised: ${JSON.stringify(st2.info.capabilities)}`);
  const pch = st2.client.advertise({ topic: P, encoding: "json", schemaName: "" });
  const cpA = st2.client.advertise({ topic: A, encoding: "json", schemaName: "" });
  await waitFor(() => busLatest(P) >= 0, `bus ${P} created by the server for the client`);
  st2.client.sendMessage(pch, new TextEncoder().encode('{"from":"client"}'));
  await waitFor(() => busLatest(P) >= 1, `a record on ${P}`);
  const r = run(env.shmbus.replace(/shmbus$/, "shmsub"), [P, "-1", "-W", "30"]);
  check(r.stdout.trim() === '{"from":"client"}', `what the client published: ${JSON.stringify(r.stdout)}`);
  await waitFor(() => st2.statuses.some((s) => s.message.includes(A) && /allow-publish/.test(s.message)), "a refusal for a bus not allowed");
  void cpA;
  st2.client.close();
  srv2.proc.kill("SIGTERM");
  srv.proc.kill("SIGTERM");
  const codes = await Promise.all([srv, srv2].map((s) => new Promise((r) => (s.proc.exitCode !== null ? r(s.proc.exitCode) : s.proc.on("exit", (c) => r(c))))));
  check(codes.every((c) => c === 0), `servers exit 0 on SIGTERM: ${codes}`);
}

main()
  .catch((e) => check(false, e.stack || String(e)))
  .finally(() => {
    killAll();
    process.exit(done() ? 0 : 1);
  });
