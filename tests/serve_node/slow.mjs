// slow.mjs - one client that stops reading and 20 that keep up: the slow one costs nobody
// anything. Every assertion is about counts read at an observed settled state, none about time.
//
// One scenario, three servers. The scenario: the slow client subscribes to A, L and F and
// stops reading; F (1 MiB records, only the slow client's) is published until the slow
// client is stalled (three status messages in a row, after the server read every F record, show
// a record pending for it and its `sent` unchanged: its socket takes nothing more); then two
// phases of A (4 KiB) and L (64 KiB) records, each followed by a settled state (a status message
// shows the server read every record of A and L and nothing pending for any fast client, and
// every fast client received all the server says it sent). The rings hold every record, so the
// server reads (offers) all of them however loaded the machine is. The checks, and the server
// behaviour each one catches:
//  published  the writer published every record (the bus's latest): a writer slowed by the
//             server, which a shmbus reader cannot do; kept as the claim, no control needed
//  newest     every fast client received the last record of A: a server where one slow client
//             holds the others back (the lockstep control)
//  kept       every fast client received records in the second phase, after the slow one had
//             stalled: the same (the lockstep control)
//  order      records arrive in order at every fast client: reordering in the queues
//  drops      the slow client's drop count (status channel) is > 0 after the first phase and
//             grew in the second: a queue that never drops (the unbounded control), or drops
//             not counted
//  bounded    at most one record pending per subscription of the slow client (the per-client
//             bound itself): an unbounded queue (the unbounded control)
//  sent       the slow client was sent no more records than its socket buffers hold: a server
//             that counts as sent, or buffers in user space ahead of the socket, what the
//             kernel did not take (no control: the queues here cannot do that)
//  stopped    the slow client read nothing after its first message (the test's own premise)
//  memory     the server's memory grew by less than half of what was published on the slow
//             client's buses after it stalled: an unbounded queue (the unbounded control);
//             not under --config=tsan (TSan's shadow memory grows as the rings are first read)
// Negative controls: the same scenario against //tools:shmbus_testing with SHMBUS_SERVE_BROKEN
// (serve/hub.c; only that testing build reads it): `unbounded` (a FIFO per subscription,
// nothing dropped) must fail drops, bounded and memory; `lockstep` (a record reaches a channel's
// subscribers only when none of them holds an unsent one, else it is dropped for all: every
// client at the slowest one's pace) must fail newest and kept. The test fails if a control
// passes a check it targets: the test is known to be able to fail.
//   node slow.mjs A R B P T U V W X   (env SHMBUS, SHMBUS_TESTING, SHMPUB, TMP_DIR, RUN)
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import WebSocket from "ws";
import wsProtocol from "@foxglove/ws-protocol";
import { check, done, waitFor, serve, killAll, busLatest, env, connect, channelOf, text, sleep, run } from "./common.mjs";

const { FoxgloveClient } = wsProtocol;
const buses = process.argv.slice(2);
const SMALL = 4096, LARGE = 65536, FILL = 1 << 20, FAST = 20;
const ROUNDS = 100; // per phase: 10 A records and 1 L record per round
// Under --config=tsan (its test_env sets TSAN_OPTIONS) the memory check is left out: TSan's
// shadow memory grows with the first touch of every address (the rings' slots read after the
// stall), so the measure would be TSan's, not the server's.
const TSAN = Boolean(process.env.TSAN_OPTIONS);
const rss = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]) * 1024;

const children = [];
// A fixed-size binary publisher (shmpub -b): the record's first 8 bytes are its number.
function binPublisher(bus, size, slots) {
  const proc = spawn(env.shmpub, [bus, "-b", String(size), "--slots", String(slots)], { stdio: ["pipe", "inherit", "inherit"] });
  children.push(proc);
  let n = 0;
  return {
    proc,
    count: () => n,
    send: () => { const b = Buffer.alloc(size, 0x5a); b.writeBigUInt64LE(BigInt(++n)); return proc.stdin.write(b); },
    end: () => new Promise((r) => { if (proc.exitCode !== null) r(proc.exitCode); proc.on("exit", (c) => r(c)); proc.stdin.end(); }),
  };
}
const drained = (ok) => new Promise((res) => (ok ? setImmediate(res) : setTimeout(res, 2)));

// The scenario against one server; returns {name: {ok, what}} for every check, and a summary.
async function scenario(label, A, L, F, bin, broken) {
  const pa = binPublisher(A, SMALL, 4096), pl = binPublisher(L, LARGE, 256), pf = binPublisher(F, FILL, 8);
  const res = {};
  const put = (name, ok, what) => (res[name] = { ok: Boolean(ok), what });
  const conns = [];
  let srv = null;
  try {
    pa.send(); pl.send(); pf.send();
    await waitFor(() => busLatest(A) >= 1 && busLatest(L) >= 1 && busLatest(F) >= 1, "the buses");
    srv = await serve([A, L, F], label, { bin, env: broken ? { SHMBUS_SERVE_BROKEN: broken } : {} });

    // The observer reads the status channel only.
    const obs = await connect(srv.port);
    conns.push(obs);
    await waitFor(() => channelOf(obs, A) && channelOf(obs, L) && channelOf(obs, F), "advertisements");
    const subS = obs.client.subscribe(channelOf(obs, "/shmbus/buses").id);
    let seen = 0; // status messages consumed by nextStatus()
    const nextStatus = async (what) => {
      const m = await waitFor(() => obs.messages.filter((m) => m.subscriptionId === subS)[seen], what);
      seen = obs.messages.filter((m) => m.subscriptionId === subS).indexOf(m) + 1;
      return JSON.parse(text(m.data));
    };

    // 20 fast clients on A.
    const fast = [];
    for (let i = 0; i < FAST; i++) {
      const st = await connect(srv.port);
      conns.push(st);
      await waitFor(() => channelOf(st, A), "A advertised");
      st.sub = st.client.subscribe(channelOf(st, A).id);
      st.seqs = [];
      st.client.on("message", (m) => { if (m.subscriptionId === st.sub) st.seqs.push(Number(m.data.getBigUint64(0, true))); });
      st.peer = `127.0.0.1:${st.ws._socket.localPort}`;
      fast.push(st);
    }
    // The slow client: subscribes to A, L and F, reads its first message, then never again.
    const slow = new WebSocket(`ws://127.0.0.1:${srv.port}/`, [FoxgloveClient.SUPPORTED_SUBPROTOCOL]);
    conns.push({ client: { close: () => slow.terminate() } });
    let advertised = [], slowGot = 0;
    slow.on("error", () => {});
    slow.on("message", (d, binary) => {
      if (!binary) { const m = JSON.parse(d); if (m.op === "advertise") advertised.push(...m.channels); return; }
      slowGot++;
      slow._socket.pause(); // stop reading: the kernel buffers fill, then the server's queue
    });
    const adv = (t) => advertised.find((c) => c.topic === t);
    await waitFor(() => adv(A) && adv(L) && adv(F), "advertisements (slow client)");
    const slowPeer = `127.0.0.1:${slow._socket.localPort}`;
    slow.send(JSON.stringify({ op: "subscribe", subscriptions: [
      { id: 1, channelId: adv(A).id }, { id: 2, channelId: adv(L).id }, { id: 3, channelId: adv(F).id }] }));
    await waitFor(() => slowGot > 0, "the slow client's first message");

    const client = (s, peer) => s.clients.find((c) => c.peer === peer);
    const bus = (s, name) => s.buses.find((b) => b.name === name);

    // Stall the slow client: F records (pacing only; nothing here is timed) until three status
    // messages in a row, after the server read every F record, show one pending and `sent` the same.
    let stalled = null;
    for (let burst = 0; burst < 40 && !stalled; burst++) {
      for (let i = 0; i < 8; i++) { await drained(pf.send()); await sleep(5); }
      await waitFor(() => busLatest(F) === pf.count(), "every F record published");
      let prev = null, same = 0;
      for (let k = 0; k < 4 && !stalled; k++) {
        const s = await nextStatus("a status message");
        const c = client(s, slowPeer), b = bus(s, F);
        if (!c || !b || b.read !== pf.count() || c.pending < 1) { prev = null; same = 0; continue; }
        same = prev && prev.sent === c.sent ? same + 1 : 0;
        prev = c;
        if (same >= 2) stalled = c;
      }
    }
    if (!stalled) throw new Error("the slow client never stalled (its socket kept taking records)");
    const rss0 = rss(srv.proc.pid);
    const a0 = pa.count(), l0 = pl.count();

    // A phase: publish in rounds (each waits for the pipes to drain, never for the server), then
    // the settled state.
    const phase = async () => {
      for (let r = 0; r < ROUNDS; r++) {
        let ok = true;
        for (let i = 0; i < 10; i++) ok = pa.send() && ok;
        ok = pl.send() && ok;
        await drained(ok);
      }
      const totalA = pa.count(), totalL = pl.count();
      await waitFor(() => busLatest(A) === totalA && busLatest(L) === totalL, "every record published", 120);
      for (;;) {
        const s = await nextStatus("a settled status message");
        const a = bus(s, A), l = bus(s, L);
        if (!a || !l || a.read !== totalA || l.read !== totalL) continue;
        const fc = fast.map((st) => client(s, st.peer));
        if (fc.some((c) => !c || c.pending !== 0)) continue;
        // Nothing more will be sent to the fast clients: wait for what is on its way.
        await waitFor(() => fast.every((st, i) => st.seqs.length >= fc[i].sent), "the fast clients to receive what they were sent", 120);
        return { s, slow: client(s, slowPeer), recv: fast.map((st) => st.seqs.length) };
      }
    };
    const mid = await phase();
    const end = await phase();
    const totalA = pa.count(), totalL = pl.count();

    put("published", busLatest(A) === totalA && busLatest(L) === totalL, `the writers published all ${totalA} records of A and ${totalL} of L`);
    put("newest", fast.every((st) => st.seqs.includes(totalA)), `record ${totalA} (the last of A) reached every fast client`);
    put("kept", fast.every((st, i) => end.recv[i] > mid.recv[i]), "every fast client received records in the second phase, after the slow one stalled");
    put("order", fast.every((st) => st.seqs.every((s, i) => i === 0 || s > st.seqs[i - 1])), "in order at every fast client");
    put("drops", mid.slow && end.slow && mid.slow.dropped > 0 && end.slow.dropped > mid.slow.dropped,
      `the slow client's drops: > 0 after the first phase and growing (${stalled.dropped} -> ${mid.slow && mid.slow.dropped} -> ${end.slow && end.slow.dropped})`);
    put("bounded", end.slow && end.slow.pending <= end.slow.subscriptions,
      `records pending for the slow client (${end.slow && end.slow.pending}) at most one per subscription (${end.slow && end.slow.subscriptions})`);
    // Each record is at least SMALL bytes: the server sent only what the sockets took.
    const tcpMax = (f) => Number(readFileSync(`/proc/sys/net/ipv4/${f}`, "utf8").trim().split(/\s+/)[2]);
    const buffers = tcpMax("tcp_rmem") + tcpMax("tcp_wmem") + FILL;
    put("sent", end.slow && end.slow.sent * SMALL <= buffers, `the slow client was sent ${end.slow && end.slow.sent} records, at most what its socket buffers (${buffers} bytes) hold`);
    put("stopped", slowGot === 1, `the slow client read nothing more (${slowGot})`);
    const grown = rss(srv.proc.pid) - rss0;
    const offered = (totalA - a0) * SMALL + (totalL - l0) * LARGE;
    if (!TSAN) put("memory", grown < offered / 2, `server memory grew ${grown} bytes while ${offered} bytes were published on the slow client's buses after it stalled`);
    const recv = fast.map((st) => st.seqs.length);
    console.log(`[${label}] published ${totalA} records of ${SMALL} B on A, ${totalL} of ${LARGE} B on L, ${pf.count()} of ${FILL} B on F; ` +
      `fast clients received ${Math.min(...recv)}..${Math.max(...recv)} of A (latest-value: bursts coalesce); ` +
      `slow client: ${end.slow && end.slow.sent} sent, ${end.slow && end.slow.dropped} dropped, ${end.slow && end.slow.pending} pending; ` +
      `server RSS +${(grown / 1048576).toFixed(1)} MiB`);
  } finally {
    for (const c of conns) c.client.close();
    if (srv && srv.proc.exitCode === null) {
      const exited = new Promise((r) => srv.proc.on("exit", r));
      srv.proc.kill("SIGTERM");
      await exited;
    }
    await Promise.all([pa.end(), pl.end(), pf.end()]);
    for (const b of [A, L, F]) run(env.shmbus, ["rm", "--force", b]); // (serve_test.sh's exit too)
  }
  return res;
}

async function main() {
  const [A, L, F, A1, L1, F1, A2, L2, F2] = buses;
  if (!env.shmbusTesting) throw new Error("SHMBUS_TESTING (//tools:shmbus_testing) is not set: the controls cannot run");
  // The shipped server: every check holds.
  const sound = await scenario("shipped", A, L, F, env.shmbus, "");
  for (const r of Object.values(sound)) check(r.ok, r.what);
  // The negative controls: each must fail the checks it targets.
  const controls = [
    ["unbounded", [A1, L1, F1], ["drops", "bounded"].concat(TSAN ? [] : ["memory"])],
    ["lockstep", [A2, L2, F2], ["newest", "kept"]],
  ];
  for (const [broken, [a, l, f], targets] of controls) {
    const r = await scenario(`control ${broken}`, a, l, f, env.shmbusTesting, broken);
    console.log(`[control ${broken}] checks failed (as targeted: ${targets.join(", ")}): ` +
      Object.keys(r).filter((k) => !r[k].ok).join(", "));
    for (const t of targets)
      check(r[t] && !r[t].ok, `control ${broken}: the check '${t}' must fail, and it ${r[t] ? (r[t].ok ? "passed" : "failed") : "did not run"}: ${r[t] && r[t].what}`);
  }
}

main()
  .catch((e) => check(false, e.stack || String(e)))
  .finally(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGTERM");
    killAll();
    process.exit(done() ? 0 : 1);
  });
