// page.mjs - the served page in a real browser: headless Chromium (Debian chromium) driven over
// the DevTools protocol (the ws package). Two buses publish known values; the test reads the
// page's DOM until the values shown move and match what was published (x = seq * 0.5 on a
// JSON bus, a text number on a raw bus), chooses a field to plot and checks the plot's latest
// point, and keeps a screenshot ($TEST_UNDECLARED_OUTPUTS_DIR/serve_page.png).
//   node page.mjs A R ...   (env SHMBUS, SHMPUB, TMP_DIR, RUN)
import { spawn } from "node:child_process";
import { writeFileSync, mkdirSync } from "node:fs";
import WebSocket from "ws";
import { check, done, waitFor, serve, linePublisher, killAll, busLatest, env, sleep } from "./common.mjs";

const [A, R, , , T] = process.argv.slice(2);

// A DevTools session on the browser's one page.
async function devtools(userDir) {
  const chrome = spawn("chromium", [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--mute-audio", "--hide-scrollbars",
    `--user-data-dir=${userDir}`, "--remote-debugging-port=0", "--window-size=1440,900", "about:blank",
  ], { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, HOME: userDir } });
  process.on("exit", () => chrome.kill("SIGKILL"));
  let err = "";
  chrome.stderr.on("data", (d) => (err += d));
  const browserUrl = await waitFor(() => {
    if (chrome.exitCode !== null) throw new Error(`chromium exited ${chrome.exitCode}: ${err.slice(-2000)}`);
    const m = /DevTools listening on (ws:\/\/\S+)/.exec(err);
    return m && m[1];
  }, "chromium's DevTools endpoint", 120);
  const port = new URL(browserUrl).port;
  const targets = await waitFor(async () => {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/json/list`);
      const l = await r.json();
      return l.find((t) => t.type === "page") && l;
    } catch { return null; }
  }, "the page target", 60);
  const page = targets.find((t) => t.type === "page");
  const ws = new WebSocket(page.webSocketDebuggerUrl, { perMessageDeflate: false, maxPayload: 256 << 20 });
  await new Promise((res, rej) => { ws.on("open", res); ws.on("error", rej); });
  let id = 0;
  const pending = new Map();
  ws.on("message", (d) => {
    const m = JSON.parse(d);
    if (m.id && pending.has(m.id)) { pending.get(m.id)(m); pending.delete(m.id); }
  });
  const send = (method, params = {}) => new Promise((res, rej) => {
    const i = ++id;
    pending.set(i, (m) => (m.error ? rej(new Error(`${method}: ${m.error.message}`)) : res(m.result)));
    ws.send(JSON.stringify({ id: i, method, params }));
  });
  const evaluate = async (expr) => {
    const r = await send("Runtime.evaluate", { expression: expr, returnByValue: true });
    if (r.exceptionDetails) throw new Error(`page: ${r.exceptionDetails.text} ${JSON.stringify(r.exceptionDetails.exception?.description)}`);
    return r.result.value;
  };
  return { chrome, send, evaluate, close: () => { ws.close(); chrome.kill("SIGTERM"); } };
}

async function main() {
  // A: JSON lines {seq, x = seq / 2}, R: a text number (seq * 1.5), both at ~50 Hz from here.
  const pa = linePublisher(A, ["--slots", "64"]);
  const pr = linePublisher(R, ["-t", "celsius"]);
  let seq = 0;
  const publish = () => { seq++; pa.send(JSON.stringify({ seq, x: seq * 0.5 })); pr.send(String(seq * 1.5)); };
  publish();
  await waitFor(() => busLatest(A) >= 1 && busLatest(R) >= 1, "the buses");
  const timer = setInterval(publish, 20);

  // T: a typed C-struct bus (typed_pub: every field a function of seq), sent as CDR and
  // decoded by the page with the layout from the status channel.
  const tp = spawn(process.env.TYPED_PUB, [T, "0", "50"], { stdio: "inherit" });
  process.on("exit", () => tp.kill("SIGTERM"));
  await waitFor(() => busLatest(T) >= 1, "the typed bus");

  const srv = await serve([`${process.env.RUN}*`]);
  mkdirSync(`${env.tmp}/chrome`, { recursive: true });
  const dt = await devtools(`${env.tmp}/chrome`);
  await dt.send("Emulation.setDeviceMetricsOverride", { width: 1440, height: 900, deviceScaleFactor: 1, mobile: false });
  await dt.send("Page.enable");
  await dt.send("Page.navigate", { url: `http://127.0.0.1:${srv.port}/` });

  const valueOf = (bus) => dt.evaluate(`(() => { const td = document.querySelector('tr[data-bus="${bus}"] td.value'); return td ? td.dataset.value : null; })()`);
  // The JSON bus: shown, exact, and moving.
  const first = await waitFor(async () => { const v = await valueOf(A); return v ? JSON.parse(v) : null; }, `the page showing ${A}`, 120);
  check(first.x === first.seq * 0.5 && first.seq >= 1 && first.seq <= seq, `${A} on the page matches a published record: ${JSON.stringify(first)}`);
  const later = await waitFor(async () => { const v = JSON.parse((await valueOf(A)) || "null"); return v && v.seq > first.seq + 5 ? v : null; }, "the value to move", 120);
  check(later.x === later.seq * 0.5 && later.seq <= seq, `${A} moved and still matches: ${JSON.stringify(later)}`);
  // The raw bus: a text number decoded as a number.
  const rv = await waitFor(async () => { const v = await valueOf(R); return v ? JSON.parse(v) : null; }, `the page showing ${R}`, 60);
  check(typeof rv === "number" && Number.isInteger(Math.round(rv / 1.5)) && rv / 1.5 <= seq && rv > 0, `${R} on the page is a published number: ${rv}`);
  // The typed bus: CDR decoded in the page, every field as typed_pub made it.
  const tv = await waitFor(async () => { const v = await valueOf(T); return v ? JSON.parse(v) : null; }, `the page showing ${T}`, 60);
  const q = tv.seq;
  const want = { seq: q, i: -q, f: q * 0.5, d: q * 0.25, v: { x: q, y: -q, z: q / 4 }, arr: [q % 100, -(q % 100), 7], ok: q % 2 === 1, mode: ["IDLE", "RUN", "FAULT"][q % 3], b: q % 256 };
  check(JSON.stringify(tv) === JSON.stringify(want), `${T} decoded in the page: ${JSON.stringify(tv)}, want ${JSON.stringify(want)}`);
  const tv2 = await waitFor(async () => { const v = JSON.parse((await valueOf(T)) || "null"); return v && v.seq > q ? v : null; }, "the typed value to move", 60);
  check(tv2.i === -tv2.seq && tv2.v.z === tv2.seq / 4, `${T} moved and still matches: ${JSON.stringify(tv2)}`);

  // The other columns: writer, readers, rate from the status channel.
  const row = await waitFor(async () => {
    const r = await dt.evaluate(`(() => { const tr = document.querySelector('tr[data-bus="${A}"]'); return tr && [...tr.cells].map((c) => c.textContent); })()`);
    return r && /pid \d+/.test(r[3]) && parseFloat(r[2]) > 0 ? r : null;
  }, "writer, rate and readers in the row", 60);
  check(row[3] === `pid ${pa.proc.pid}`, `writer column: ${row[3]}`);
  check(Number(row[4]) >= 1, `readers column: ${row[4]}`);
  check(parseFloat(row[2]) > 0, `rate column: ${row[2]}`);

  // The plot: choose A's x (as a click on the number does); its latest point is a published x.
  await dt.evaluate(`document.querySelector('tr[data-bus="${A}"] td.value .n:nth-of-type(2)').click()`);
  const plotted = await waitFor(async () => {
    const r = await dt.evaluate(`[document.getElementById('plot').dataset.points, document.getElementById('plot-latest').dataset.value, document.getElementById('plot-field').value]`);
    return Number(r[0]) >= 10 && r[1] ? r : null;
  }, "10 points on the plot", 120);
  check(plotted[2] === "x", `plotting field ${plotted[2]}`);
  const px = Number(plotted[1]);
  check(Number.isInteger(px * 2) && px * 2 <= seq && px > 0, `the plot's latest point is a published x: ${px}`);

  await sleep(500); // a few more points drawn for the picture
  const shot = await dt.send("Page.captureScreenshot", { format: "png" });
  const outDir = process.env.TEST_UNDECLARED_OUTPUTS_DIR || env.tmp;
  writeFileSync(`${outDir}/serve_page.png`, Buffer.from(shot.data, "base64"));
  check(shot.data.length > 10000, "a screenshot was taken");
  console.log(`screenshot: ${outDir}/serve_page.png`);

  clearInterval(timer);
  tp.kill("SIGTERM");
  dt.close();
  await pa.end();
  await pr.end();
}

main()
  .catch((e) => check(false, e.stack || String(e)))
  .finally(() => {
    killAll();
    process.exit(done() ? 0 : 1);
  });
