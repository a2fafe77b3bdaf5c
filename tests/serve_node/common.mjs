// common.mjs - what the serve tests share: starting `shmbus serve`, publishers, a Foxglove
// client (Foxglove's own @foxglove/ws-protocol over the ws package), waiting for conditions.
// Every wait has a generous deadline and fails the test loudly when it passes.
import { spawn, spawnSync } from "node:child_process";
import { readFileSync, existsSync, rmSync } from "node:fs";
import wsProtocol from "@foxglove/ws-protocol";
const { FoxgloveClient } = wsProtocol;
import WebSocket from "ws";

export const env = {
  shmbus: process.env.SHMBUS,
  shmpub: process.env.SHMPUB,
  shmbusTesting: process.env.SHMBUS_TESTING, // //tools:shmbus_testing, for tests that have it
  tmp: process.env.TMP_DIR,
};

let failures = 0;
let checks = 0;
export function check(cond, what) {
  if (cond) {
    checks++;
  } else {
    failures++;
    console.error(`FAIL: ${what}`);
  }
  return cond;
}
export function done() {
  console.log(`${checks} checks passed, ${failures} failed`);
  return failures === 0;
}

const children = [];
export function killAll() {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGTERM");
}
process.on("exit", killAll);

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// waitFor(fn, what, seconds): poll fn() until it returns a truthy value; throws at the deadline.
export async function waitFor(fn, what, seconds = 60) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out (${seconds} s) waiting for ${what}`);
    await sleep(20);
  }
}

// serve(args): `shmbus serve --port 0 ...`; resolves with {proc, port, stderr()} once it listens.
// opts: bin (another shmbus, e.g. env.shmbusTesting), env (more environment variables).
export async function serve(args, name = "serve", opts = {}) {
  const portFile = `${env.tmp}/${name}-${process.pid}-${children.length}.port`;
  rmSync(portFile, { force: true });
  // Under --config=asan a freed block waits in ASan's quarantine (256 MiB) before reuse: a
  // small one keeps the server's memory what the server itself holds (slow.mjs measures it).
  const asan = [process.env.ASAN_OPTIONS, "quarantine_size_mb=1"].filter(Boolean).join(":");
  const proc = spawn(opts.bin || env.shmbus, ["serve", "--port", "0", "--port-file", portFile, ...args], {
    stdio: ["ignore", "inherit", "pipe"],
    env: { ...process.env, ASAN_OPTIONS: asan, ...(opts.env || {}) },
  });
  children.push(proc);
  let err = "";
  proc.stderr.on("data", (d) => { err += d; process.stderr.write(`[${name}] ${d}`); });
  const port = await waitFor(() => {
    if (proc.exitCode !== null) throw new Error(`shmbus serve exited ${proc.exitCode}: ${err}`);
    return existsSync(portFile) && Number(readFileSync(portFile, "utf8").trim());
  }, "shmbus serve to listen");
  return { proc, port, stderr: () => err };
}

// A shmpub reading lines from us: one record per line.
export function linePublisher(bus, extra = []) {
  const proc = spawn(env.shmpub, [bus, "-l", ...extra], { stdio: ["pipe", "inherit", "inherit"] });
  children.push(proc);
  return {
    proc,
    send: (line) => proc.stdin.write(line + "\n"),
    end: () => new Promise((r) => { proc.on("exit", r); proc.stdin.end(); }),
  };
}

export function run(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  return r;
}

export function busLatest(bus) {
  const r = run(env.shmbus, ["stat", bus, "--json"]);
  const m = /"latest":(\d+)/.exec(r.stdout || "");
  return m ? Number(m[1]) : -1;
}

// connect(port): a FoxgloveClient with every event recorded.
export async function connect(port) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, [FoxgloveClient.SUPPORTED_SUBPROTOCOL]);
  const client = new FoxgloveClient({ ws });
  const st = {
    client,
    ws,
    info: null,
    channels: new Map(), // id -> channel
    unadvertised: [],
    statuses: [],
    messages: [], // {subscriptionId, timestamp, data: Uint8Array}
    closed: null,
  };
  client.on("serverInfo", (i) => (st.info = i));
  client.on("advertise", (chs) => chs.forEach((c) => st.channels.set(c.id, c)));
  client.on("unadvertise", (ids) => ids.forEach((id) => { st.channels.delete(id); st.unadvertised.push(id); }));
  client.on("status", (s) => st.statuses.push(s));
  client.on("message", (m) =>
    st.messages.push({
      subscriptionId: m.subscriptionId,
      timestamp: m.timestamp,
      data: new Uint8Array(m.data.buffer.slice(m.data.byteOffset, m.data.byteOffset + m.data.byteLength)),
    }));
  client.on("close", (e) => (st.closed = e));
  client.on("error", () => {});
  await waitFor(() => st.info, "serverInfo");
  return st;
}

export function channelOf(st, topic) {
  for (const c of st.channels.values()) if (c.topic === topic) return c;
  return null;
}

export const text = (u8) => new TextDecoder().decode(u8);
