// slow.mjs - one client that stops reading and 20 that keep up: the slow one costs nobody
// anything. Every assertion is about counts, none about time:
//  - the writer publishes every record (publishing never waits for the server, nor the server
//    for a client);
//  - the slow client's drop count (the status channel) grows while it does not read, and
//    it was sent no more than its socket buffers hold;
//  - every fast client receives records after the slow one stalled, and the last record
//    published (latest-value queues always deliver the newest);
//  - the server's memory grows by less than half of what was published on its buses (bounded
//    queues: a server that buffered everything would grow by about that much).
//   node slow.mjs A L   (env SHMBUS, SHMPUB, TMP_DIR, RUN)
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import WebSocket from "ws";
import wsProtocol from "@foxglove/ws-protocol";
import { check, done, waitFor, serve, killAll, busLatest, env, connect, channelOf, text } from "./common.mjs";

const { FoxgloveClient } = wsProtocol;
const [A, L] = process.argv.slice(2);
const SMALL = 4096, LARGE = 65536, FAST = 20;
const ROUNDS = 400; // 10 small records and 1 large one per round
const rss = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]) * 1024;

// A fixed-size binary publisher (shmpub -b): the record's first 8 bytes are its number.
function binPublisher(bus, size) {
  const proc = spawn(env.shmpub, [bus, "-b", String(size), "--slots", "64"], { stdio: ["pipe", "inherit", "inherit"] });
  let n = 0;
  return {
    proc,
    count: () => n,
    send: () => { const b = Buffer.alloc(size, 0x5a); b.writeBigUInt64LE(BigInt(++n)); return proc.stdin.write(b); },
    end: () => new Promise((r) => { proc.on("exit", (c) => r(c)); proc.stdin.end(); }),
  };
}

async function main() {
  const pa = binPublisher(A, SMALL), pl = binPublisher(L, LARGE);
  pa.send(); pl.send();
  await waitFor(() => busLatest(A) >= 1 && busLatest(L) >= 1, "the buses");
  const srv = await serve([`${process.env.RUN}*`]);

  // The observer reads the status channel only.
  const obs = await connect(srv.port);
  await waitFor(() => channelOf(obs, A) && channelOf(obs, L), "advertisements");
  const subS = obs.client.subscribe(channelOf(obs, "/shmbus/buses").id);
  const lastStatus = () => { const m = obs.messages.filter((m) => m.subscriptionId === subS).pop(); return m && JSON.parse(text(m.data)); };

  // 20 fast clients on A.
  const fast = [];
  for (let i = 0; i < FAST; i++) {
    const st = await connect(srv.port);
    await waitFor(() => channelOf(st, A), "A advertised");
    st.sub = st.client.subscribe(channelOf(st, A).id);
    st.seqs = [];
    st.client.on("message", (m) => { if (m.subscriptionId === st.sub) st.seqs.push(Number(m.data.getBigUint64(0, true))); });
    fast.push(st);
  }
  // The slow client: subscribes to A and L, reads its first message, then never reads again.
  const slow = new WebSocket(`ws://127.0.0.1:${srv.port}/`, [FoxgloveClient.SUPPORTED_SUBPROTOCOL]);
  let advertised = [], slowGot = 0;
  slow.on("message", (d, binary) => {
    if (!binary) { const m = JSON.parse(d); if (m.op === "advertise") advertised.push(...m.channels); return; }
    slowGot++;
    slow._socket.pause(); // stop reading: the kernel buffers fill, then the server's queue
  });
  await waitFor(() => advertised.some((c) => c.topic === A) && advertised.some((c) => c.topic === L), "advertisements (slow client)");
  const slowPeer = `127.0.0.1:${slow._socket.localPort}`;
  slow.send(JSON.stringify({ op: "subscribe", subscriptions: [
    { id: 1, channelId: advertised.find((c) => c.topic === A).id },
    { id: 2, channelId: advertised.find((c) => c.topic === L).id }] }));
  await waitFor(() => slowGot > 0, "the slow client's first message");
  const slowStats = () => { const s = lastStatus(); return s && s.clients.find((c) => c.peer === slowPeer); };
  await waitFor(() => slowStats(), "the slow client in the status channel");
  const rss0 = rss(srv.proc.pid);

  // Publish, in rounds; each round waits for the pipes to drain (never for the server).
  const half = async () => {
    for (let r = 0; r < ROUNDS / 2; r++) {
      let ok = true;
      for (let i = 0; i < 10; i++) ok = pa.send() && ok;
      ok = pl.send() && ok;
      await new Promise((res) => (ok ? setImmediate(res) : setTimeout(res, 2)));
    }
  };
  await half();
  const mid = await waitFor(() => { const s = slowStats(); return s && s.dropped > 0 ? s : null; }, "the slow client's first drops", 60);
  const fastMid = fast.map((st) => st.seqs.length);
  await half();
  const totalA = pa.count(), totalL = pl.count();
  await waitFor(() => busLatest(A) === totalA && busLatest(L) === totalL, "every record published");
  check(busLatest(A) === totalA, `the writer published all ${totalA} records of A`);

  // The newest record reaches every fast client.
  await waitFor(() => fast.every((st) => st.seqs.includes(totalA)), `record ${totalA} at every fast client`, 120);
  check(fast.every((st) => st.seqs.length > fastMid[fast.indexOf(st)]), "every fast client kept receiving after the slow one stalled");
  check(fast.every((st) => st.seqs.every((s, i) => i === 0 || s > st.seqs[i - 1])), "in order at every fast client");
  const end = await waitFor(() => { const s = slowStats(); return s && s.dropped > mid.dropped ? s : null; }, "the slow client's drop count to grow", 60);
  check(end.dropped > mid.dropped, `slow client's drops grew: ${mid.dropped} -> ${end.dropped}`);
  // What was sent to the slow client fits in the kernel's socket buffers (each record is at
  // least SMALL bytes): the server sent only what the sockets took, and dropped the rest.
  const tcpMax = (f) => Number(readFileSync(`/proc/sys/net/ipv4/${f}`, "utf8").trim().split(/\s+/)[2]);
  const buffers = tcpMax("tcp_rmem") + tcpMax("tcp_wmem") + LARGE;
  check(end.sent * SMALL <= buffers, `the slow client was sent ${end.sent} records, at most what its socket buffers (${buffers} bytes) hold`);
  check(slowGot === 1, `the slow client read nothing more (${slowGot})`);
  const grown = rss(srv.proc.pid) - rss0;
  const offeredBytes = (totalA - 1) * SMALL + (totalL - 1) * LARGE;
  check(grown < offeredBytes / 2, `server memory grew ${grown} bytes while ${offeredBytes} bytes were published on the slow client's buses`);
  const recv = fast.map((st) => st.seqs.length);
  console.log(`published ${totalA} records of ${SMALL} B on A and ${totalL} of ${LARGE} B on L; ` +
    `fast clients received ${Math.min(...recv)}..${Math.max(...recv)} of A (latest-value: bursts coalesce); ` +
    `slow client: ${end.sent} sent, ${end.dropped} dropped; server RSS +${(grown / 1048576).toFixed(1)} MiB`);
  slow.terminate();
  for (const st of fast) st.client.close();
  obs.client.close();
  await pa.end(); await pl.end();
}

main()
  .catch((e) => check(false, e.stack || String(e)))
  .finally(() => {
    killAll();
    process.exit(done() ? 0 : 1);
  });
