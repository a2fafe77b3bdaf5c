// app.js - shmbus serve's own page: the Foxglove WebSocket protocol (foxglove.websocket.v1)
// spoken by hand, no library, no build step. It subscribes to every channel: the status
// channel /shmbus/buses (JSON: rate, writer, readers, CDR layouts) and every bus, decodes each
// record (JSON, text, CDR by the layout the status channel gives, else a hex preview), shows
// the latest one per bus and plots one numeric field over the last seconds.
// Everything from the server reaches the DOM through textContent: a bus name or a value
// cannot inject markup.
"use strict";

const STATUS_TOPIC = "/shmbus/buses";
const $ = (id) => document.getElementById(id);
const channels = new Map(); // channel id -> {ch, subId}
const subs = new Map(); // subscription id -> channel id
const buses = new Map(); // bus name -> state
let nextSub = 1;
let ws = null;
let plot = { bus: "", field: "", points: [] }; // points: [t (ms, publish time), value]

function bus(name) {
  let b = buses.get(name);
  if (!b) {
    b = { name, channel: null, status: null, value: undefined, text: "", recv: 0, row: null, dirty: true, gone: false };
    buses.set(name, b);
  }
  return b;
}

// ------------------------------------------------------------------ decoding

const utf8 = new TextDecoder("utf-8", { fatal: true });

function hex(u8) {
  let s = "";
  for (let i = 0; i < Math.min(u8.length, 32); i++) s += u8[i].toString(16).padStart(2, "0") + " ";
  return `${u8.length} bytes: ${s}${u8.length > 32 ? "…" : ""}`.trim();
}

// A record of an untyped bus: text (JSON or a number when it parses), else bytes.
function decodeRaw(u8) {
  let t;
  try { t = utf8.decode(u8); } catch { return { bytes: hex(u8) }; }
  const s = t.trim();
  if (s !== "" && /^[-+0-9.eE]+$/.test(s) && !isNaN(Number(s))) return Number(s);
  if (s.startsWith("{") || s.startsWith("[")) { try { return JSON.parse(s); } catch { /* text */ } }
  return t;
}

// CDR (XCDR1, little-endian, 4-byte encapsulation header) by the layout of shmbus_type_describe():
// every primitive aligned to its size (at most 8) from the byte after the header.
const PRIM = {
  int8: [1, "getInt8"], uint8: [1, "getUint8"], char: [1, "getUint8"], octet: [1, "getUint8"], bool: [1, "getUint8"],
  int16: [2, "getInt16"], uint16: [2, "getUint16"], int32: [4, "getInt32"], uint32: [4, "getUint32"],
  float32: [4, "getFloat32"], int64: [8, "getBigInt64"], uint64: [8, "getBigUint64"], float64: [8, "getFloat64"],
};
function decodeCdr(u8, layout) {
  const dv = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
  let pos = 4;
  const prim = (t) => {
    const [size, get] = PRIM[t];
    pos += (size - ((pos - 4) % size)) % size;
    let v = dv[get](pos, true);
    pos += size;
    if (typeof v === "bigint") v = Number(v);
    if (t === "bool") v = v !== 0;
    if (t === "char") v = String.fromCharCode(v);
    return v;
  };
  const one = (t) => {
    if (typeof t === "string") return prim(t);
    if (t.enum) { const v = prim("uint32"); return Object.keys(t.values).find((k) => t.values[k] === v) ?? v; }
    if (t.chars !== undefined) { let s = ""; for (let i = 0; i < t.chars; i++) { const c = dv.getUint8(pos + i); if (c === 0) break; s += String.fromCharCode(c); } pos += t.chars; return s; }
    if (t.struct) return fields(t.fields);
    throw new Error("unknown type in layout");
  };
  const arr = (t, dims) => (dims.length ? Array.from({ length: dims[0] }, () => arr(t, dims.slice(1))) : one(t));
  const fields = (fs) => { const o = {}; for (const f of fs) o[f.name] = arr(f.type, f.dims || []); return o; };
  return fields(layout.fields);
}

function decode(b, ch, u8) {
  try {
    if (ch.encoding === "json") return JSON.parse(new TextDecoder().decode(u8));
    if (ch.encoding === "cdr" && b.status && b.status.layout) return decodeCdr(u8, b.status.layout);
    if (ch.encoding === "x-shmbus-raw") return decodeRaw(u8);
  } catch (e) {
    return { undecodable: String(e.message || e), bytes: hex(u8) };
  }
  return { encoding: ch.encoding, bytes: hex(u8) };
}

// Every numeric leaf of a value: [["pose.x", 1.5], ["acc[0]", 0.1], ...]; a number itself is "".
function numericFields(v, path = "", out = []) {
  if (typeof v === "number" && isFinite(v)) out.push([path, v]);
  else if (typeof v === "boolean") out.push([path, v ? 1 : 0]);
  else if (Array.isArray(v)) v.forEach((x, i) => numericFields(x, `${path}[${i}]`, out));
  else if (v && typeof v === "object") for (const k of Object.keys(v)) numericFields(v[k], path ? `${path}.${k}` : k, out);
  return out;
}
function fieldOf(v, path) {
  for (const [p, x] of numericFields(v)) if (p === path) return x;
  return undefined;
}

// ------------------------------------------------------------------ protocol

function connect() {
  ws = new WebSocket(`ws://${location.host}/`, ["foxglove.websocket.v1"]);
  ws.binaryType = "arraybuffer";
  ws.onopen = () => { $("conn").textContent = "live"; $("conn").className = "conn up"; };
  ws.onclose = () => {
    $("conn").textContent = "disconnected: retrying"; $("conn").className = "conn down";
    channels.clear(); subs.clear();
    for (const b of buses.values()) { b.gone = true; b.dirty = true; }
    setTimeout(connect, 1000);
  };
  ws.onmessage = (ev) => (typeof ev.data === "string" ? onText(JSON.parse(ev.data)) : onBinary(ev.data));
}

function onText(m) {
  if (m.op === "serverInfo") $("server").textContent = m.name;
  else if (m.op === "advertise") {
    const list = [];
    for (const ch of m.channels) {
      const id = nextSub++;
      channels.set(ch.id, { ch, subId: id });
      subs.set(id, ch.id);
      list.push({ id, channelId: ch.id });
      if (ch.topic !== STATUS_TOPIC) { const b = bus(ch.topic); b.channel = ch; b.gone = false; b.dirty = true; }
    }
    ws.send(JSON.stringify({ op: "subscribe", subscriptions: list }));
  } else if (m.op === "unadvertise") {
    for (const id of m.channelIds) {
      const c = channels.get(id);
      if (!c) continue;
      channels.delete(id); subs.delete(c.subId);
      const b = buses.get(c.ch.topic);
      if (b && b.channel && b.channel.id === id) { b.gone = true; b.dirty = true; }
    }
  } else if (m.op === "status") console.warn("server:", m.message);
}

function onBinary(buf) {
  const dv = new DataView(buf);
  if (dv.getUint8(0) !== 1) return;
  const cid = subs.get(dv.getUint32(1, true));
  const c = cid !== undefined && channels.get(cid);
  if (!c) return;
  const t = Number(dv.getBigUint64(5, true) / 1000000n); // publish time, ms
  const u8 = new Uint8Array(buf, 13);
  if (c.ch.topic === STATUS_TOPIC) return onStatus(JSON.parse(new TextDecoder().decode(u8)));
  const b = bus(c.ch.topic);
  b.value = decode(b, c.ch, u8);
  b.time = t;
  b.recv++;
  b.dirty = true;
  if (plot.bus === b.name && plot.field !== null) {
    const v = fieldOf(b.value, plot.field);
    if (v !== undefined) plot.points.push([t, v]);
  }
}

let lastStatus = null;
function onStatus(s) {
  lastStatus = s;
  for (const st of s.buses) { const b = bus(st.name); b.status = st; b.dirty = true; }
  const me = s.clients;
  $("count").textContent = `${s.buses.length} bus${s.buses.length === 1 ? "" : "es"}, ${me.length} client${me.length === 1 ? "" : "s"}`;
}

// ------------------------------------------------------------------ the table

function cell(tr, cls) { const td = document.createElement("td"); td.className = cls; tr.appendChild(td); return td; }

function renderValue(td, b) {
  td.textContent = "";
  const v = b.value;
  td.dataset.value = v === undefined ? "" : JSON.stringify(v);
  if (v === undefined) { td.textContent = "–"; return; }
  const nums = numericFields(v);
  const s = typeof v === "string" ? JSON.stringify(v) : JSON.stringify(v);
  if (nums.length === 0 || nums.length > 24) { td.textContent = s.length > 300 ? s.slice(0, 300) + "…" : s; return; }
  // Numbers clickable: each selects that field for the plot.
  if (nums.length === 1 && nums[0][0] === "") { addNum(td, b, "", nums[0][1]); return; }
  // Every leaf in order: numbers clickable, the rest (enum names, text) as JSON.
  const leaves = (v, path, out) => {
    if (Array.isArray(v)) v.forEach((x, i) => leaves(x, `${path}[${i}]`, out));
    else if (v && typeof v === "object") for (const k of Object.keys(v)) leaves(v[k], path ? `${path}.${k}` : k, out);
    else out.push([path, v]);
    return out;
  };
  leaves(v, "", []).forEach(([p, x], i) => {
    if (i) td.appendChild(document.createTextNode("  "));
    td.appendChild(document.createTextNode(p + "="));
    if (typeof x === "number" && isFinite(x)) addNum(td, b, p, x);
    else if (typeof x === "boolean") addNum(td, b, p, x ? 1 : 0);
    else td.appendChild(document.createTextNode(JSON.stringify(x)));
  });
}
function fmt(x) { return Number.isInteger(x) ? String(x) : Math.abs(x) >= 1e6 || Math.abs(x) < 1e-3 ? x.toExponential(4) : x.toFixed(4); }
function addNum(td, b, path, x) {
  const span = document.createElement("span");
  span.className = "n";
  span.textContent = fmt(x);
  span.onclick = () => choose(b.name, path);
  td.appendChild(span);
}

function render() {
  const tbody = $("buses").tBodies[0];
  const filter = $("filter").value.trim().toLowerCase();
  const names = [...buses.keys()].sort();
  $("empty").style.display = names.length ? "none" : "";
  for (const name of names) {
    const b = buses.get(name);
    if (!b.row) {
      const tr = document.createElement("tr");
      tr.dataset.bus = name;
      for (const c of ["name", "type", "rate num", "writer", "readers num", "value", "recv num"]) cell(tr, c);
      tr.onclick = (e) => { if (!e.target.classList.contains("n")) choose(name, plot.bus === name ? plot.field : ""); };
      b.row = tr;
      // Keep the rows sorted by name.
      const after = [...tbody.rows].find((r) => r.dataset.bus > name);
      tbody.insertBefore(tr, after || null);
    }
    b.row.style.display = !filter || name.toLowerCase().includes(filter) ? "" : "none";
    b.row.classList.toggle("selected", plot.bus === name);
    b.row.classList.toggle("gone", b.gone);
    if (!b.dirty) continue;
    b.dirty = false;
    const [tdName, tdType, tdRate, tdWriter, tdReaders, tdValue, tdRecv] = b.row.cells;
    const st = b.status;
    tdName.textContent = name;
    tdName.title = name;
    const ch = b.channel;
    tdType.textContent = ch ? ch.schemaName || (ch.encoding === "x-shmbus-raw" ? "raw" : ch.encoding) : "";
    tdType.title = ch ? `${ch.encoding}${ch.schemaEncoding ? " / " + ch.schemaEncoding : ""}` : "";
    tdRate.textContent = st ? (st.rate >= 100 ? st.rate.toFixed(0) : st.rate.toFixed(1)) + " Hz" : "";
    tdWriter.textContent = st ? (st.writerState === "running" ? `pid ${st.writer}` : st.writerState) : "";
    tdWriter.className = "writer state-" + (st ? st.writerState : "none");
    tdReaders.textContent = st ? String(st.readers) : "";
    renderValue(tdValue, b);
    tdRecv.textContent = String(b.recv);
    if (st && st.lost) { const sp = document.createElement("span"); sp.className = "drop"; sp.textContent = ` / ${st.lost}`; tdRecv.appendChild(sp); }
  }
  const sel = $("plot-bus");
  if (sel.options.length - 1 !== names.length) {
    sel.textContent = "";
    sel.appendChild(new Option("bus…", ""));
    for (const n of names) sel.appendChild(new Option(n, n));
    sel.value = plot.bus;
  }
  if (plot.bus && buses.get(plot.bus)) {
    const fields = numericFields(buses.get(plot.bus).value).map(([p]) => p);
    const fsel = $("plot-field");
    const have = [...fsel.options].slice(1).map((o) => o.value);
    if (have.join("\n") !== fields.join("\n")) {
      fsel.textContent = "";
      fsel.appendChild(new Option("field…", ""));
      for (const f of fields) fsel.appendChild(new Option(f === "" ? "(value)" : f, f));
      fsel.value = plot.field;
    }
  }
}

function choose(name, field) {
  const fields = numericFields(buses.get(name) && buses.get(name).value).map(([p]) => p);
  if (!fields.includes(field)) field = fields.length ? fields[0] : null;
  plot = { bus: name, field, points: [] };
  $("plot-bus").value = name;
  $("plot-field").value = field === null ? "" : field;
  for (const b of buses.values()) b.dirty = true;
}

// ------------------------------------------------------------------ the plot

function drawPlot() {
  const cv = $("plot");
  const dpr = window.devicePixelRatio || 1;
  const w = cv.clientWidth, h = cv.clientHeight;
  if (cv.width !== Math.round(w * dpr)) { cv.width = Math.round(w * dpr); cv.height = Math.round(h * dpr); }
  const g = cv.getContext("2d");
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, h);
  const span = Number($("plot-window").value) * 1000;
  const pts = plot.points;
  const now = pts.length ? Math.max(pts[pts.length - 1][0], Date.now()) : Date.now();
  while (pts.length && pts[0][0] < now - span - 1000) pts.shift();
  cv.dataset.points = String(pts.length);
  const L = 56, R = 10, T = 10, B = 24;
  g.strokeStyle = "#e3e6ec"; g.fillStyle = "#6b7385"; g.font = "11px system-ui, sans-serif"; g.lineWidth = 1;
  g.strokeRect(L, T, w - L - R, h - T - B);
  if (!plot.bus) { g.fillText("nothing chosen", L + 8, T + 18); $("plot-latest").textContent = ""; return; }
  const vis = pts.filter((p) => p[0] >= now - span);
  let lo = Infinity, hi = -Infinity;
  for (const [, v] of vis) { if (v < lo) lo = v; if (v > hi) hi = v; }
  if (!vis.length) { lo = 0; hi = 1; }
  if (lo === hi) { lo -= 1; hi += 1; }
  const pad = (hi - lo) * 0.08; lo -= pad; hi += pad;
  const X = (t) => L + ((t - (now - span)) / span) * (w - L - R);
  const Y = (v) => T + (1 - (v - lo) / (hi - lo)) * (h - T - B);
  for (let i = 0; i <= 4; i++) {
    const v = lo + ((hi - lo) * i) / 4, y = Y(v);
    g.strokeStyle = "#f0f2f5"; g.beginPath(); g.moveTo(L, y); g.lineTo(w - R, y); g.stroke();
    g.fillText(String(Number(v.toPrecision(4))), 4, y + 4);
  }
  for (let s = 0; s <= span / 1000; s += span >= 30000 ? 10 : span >= 10000 ? 2 : 1) {
    const x = X(now - span + s * 1000);
    g.fillText(`-${span / 1000 - s}s`, x - 10, h - 6);
  }
  g.strokeStyle = "#2f6fde"; g.lineWidth = 1.5; g.beginPath();
  vis.forEach(([t, v], i) => (i ? g.lineTo(X(t), Y(v)) : g.moveTo(X(t), Y(v))));
  g.stroke();
  const last = vis.length ? vis[vis.length - 1][1] : undefined;
  $("plot-latest").textContent = last === undefined ? `${plot.bus} ${plot.field || ""}: waiting` : `${plot.bus} ${plot.field || ""} = ${fmt(last)}`;
  $("plot-latest").dataset.value = last === undefined ? "" : String(last);
}

$("plot-bus").onchange = (e) => choose(e.target.value, "");
$("plot-field").onchange = (e) => { plot.field = e.target.value; plot.points = []; };
$("filter").oninput = () => render();

let lastRender = 0;
function frame(ts) {
  if (ts - lastRender > 100) { render(); lastRender = ts; }
  drawPlot();
  requestAnimationFrame(frame);
}
connect();
requestAnimationFrame(frame);
// The table also refreshes when frames are not drawn (a hidden tab, a headless browser).
setInterval(() => { if (performance.now() - lastRender > 250) { render(); lastRender = performance.now(); } }, 250);
