// Turning results into bench/results/results.md and a hand-written SVG chart.
// Contract: `renderMarkdown(run)` and `renderSvg(run)` are pure functions of the run object that
// run.mjs writes as results.json: { machine, options, workloads: [{ name, title, unit, kind, rows }] }.

import { IDLE_WAIT_MS } from "./workloads.mjs";

const fmt = (v, digits = 0) =>
  v === undefined || v === null || Number.isNaN(v)
    ? "-"
    : v >= 1000 && digits === 0
      ? Math.round(v).toLocaleString("en-US")
      : v.toFixed(digits);
const ratio = (a, b) => (a > 0 && b > 0 && Number.isFinite(a / b) ? `${(a / b).toFixed(2)}x` : "-");

function row(w, name) {
  return w.rows.find((r) => r.server === name && !r.error);
}

function trafficTable(w) {
  const ws = row(w, "ws");
  const bun = row(w, "bun");
  const uws = row(w, "uws");
  // The floor peer (servers/floor.mjs, Node's cheapest echo) adds a column where it ran.
  const floor = w.rows.some((r) => r.server === "floor") ? row(w, "floor") : null;
  const unit = w.unit ?? "msg/s";
  const out = [
    `| server | ${unit} | MB/s | p50 us | p99 us | server CPU us/msg | server writes/msg | server CPU % | loadgen CPU % | other CPU % | load avg | ${unit} vs ws | ${unit} vs Bun | CPU/msg vs ws | CPU/msg vs Bun | CPU/msg vs uws |${floor !== null ? " CPU/msg vs floor |" : ""}`,
    `|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|${floor !== null ? "---:|" : ""}`,
  ];
  for (const r of w.rows) {
    if (r.error) {
      out.push(`| ${r.server} | ${r.error} |||||||||||||||${floor !== null ? "|" : ""}`);
      continue;
    }
    const lg = (r.loadgenCpuPct ?? []).map((v) => fmt(v)).join(" + ");
    const trouble = [r.failed ? `${r.failed} failed` : "", r.closedEarly ? `${r.closedEarly} closed` : ""]
      .filter(Boolean)
      .join(", ");
    out.push(
      `| ${r.server}${trouble ? ` (${trouble})` : ""} | ${fmt(r.perSec)} | ${fmt(r.mbPerSec, 1)} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${fmt(r.cpuUsPer, 2)} | ${fmt(r.writesPerMsg, 3)} | ${fmt(r.serverCpuPct)} | ${lg} | ${fmt(r.otherCpuPct)} | ${r.loadavg ?? "-"} | ${ratio(r.perSec, ws?.perSec)} | ${ratio(r.perSec, bun?.perSec)} | ${ratio(r.cpuUsPer, ws?.cpuUsPer)} | ${ratio(r.cpuUsPer, bun?.cpuUsPer)} | ${ratio(r.cpuUsPer, uws?.cpuUsPer)} |${floor !== null ? ` ${ratio(r.cpuUsPer, floor?.cpuUsPer)} |` : ""}`,
    );
  }
  return out.join("\n");
}

function idleTable(w) {
  const out = [
    `| server | connections open | RSS before MB | RSS after MB | KB per connection | vs bare net.Socket (-semi8 rows: bare-semi8) | vs ws | vs Bun | vs uws | KB per connection after ${IDLE_WAIT_MS / 1000} s idle | idle vs bare | load avg |`,
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const r of w.rows) {
    if (r.error) {
      out.push(`| ${r.server} (${r.count}) | ${r.error} |||||||||`);
      continue;
    }
    const same = (name) => w.rows.find((x) => x.server === name && x.count === r.count && !x.error);
    const open = `${fmt(r.open)}${r.echoed !== undefined ? ` (${fmt(r.echoed)} echoed)` : ""}`;
    // A row run under a V8 flag (the -semi8 rows) compares with the bare socket under the same flag.
    const base = r.server.endsWith("-semi8") && same("bare-semi8") ? "bare-semi8" : "bare";
    out.push(
      `| ${r.server} | ${open} | ${fmt(r.rssBeforeKB / 1024, 1)} | ${fmt(r.rssAfterKB / 1024, 1)} | ${fmt(r.kbPerConn, 2)} | ${ratio(r.kbPerConn, same(base)?.kbPerConn)} | ${ratio(r.kbPerConn, same("ws")?.kbPerConn)} | ${ratio(r.kbPerConn, same("bun")?.kbPerConn)} | ${ratio(r.kbPerConn, same("uws")?.kbPerConn)} | ${r.kbPerConnIdle === undefined ? "-" : fmt(r.kbPerConnIdle, 2)} | ${ratio(r.kbPerConnIdle, same(base)?.kbPerConnIdle)} | ${r.loadavg ?? "-"} |`,
    );
  }
  return out.join("\n");
}

function saturationTable(w) {
  const out = [
    "| workload | server | load generator processes | throughput | server CPU % | server CPU us/unit | loadgen CPU % (each) | loadgen CPU us/unit | other CPU % |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const r of w.rows) {
    const head = `| ${r.workload ?? "small-echo"} | ${r.server} | ${r.loadgens}`;
    if (r.error) out.push(`${head} | ${r.error} ||||||`);
    else
      out.push(
        `${head} | ${fmt(r.perSec)} ${r.unit ?? "msg/s"} | ${fmt(r.serverCpuPct)} | ${fmt(r.cpuUsPer, 2)} | ${r.loadgenCpuPct.map((v) => fmt(v)).join(" + ")} | ${fmt(r.loadgenUsPer, 2)} | ${fmt(r.otherCpuPct)} |`,
      );
  }
  return out.join("\n");
}

/**
 * Issue 18's targets, for the library server (`wirecable`, bench/servers/wirecable.mjs) and for the
 * CLI's servers (`cli-echo`, `cli-broadcast`), evaluated on this run. CPU per unit is the
 * load-independent figure; throughput ratios move with the machine.
 */
export function targets(run) {
  const w = (name) => run.workloads.find((x) => x.name === name);
  const get = (name, server, pick = (r) => r) => {
    const x = w(name);
    const r = x && row(x, server);
    return r ? pick(r) : undefined;
  };
  const check = (label, value, goal, ok) => ({
    label,
    value,
    goal,
    met: value === undefined || Number.isNaN(value) ? "not measured" : ok ? "met" : "not met",
  });
  const out = [];
  const cpu = (name, server) => get(name, server, (r) => r.cpuUsPer);
  const rate = (name, server) => get(name, server, (r) => r.perSec);
  for (const [us, bc] of [
    ["wirecable", "wirecable"],
    ["cli-echo", "cli-broadcast"],
  ]) {
    const v1 = cpu("small-echo", us) / cpu("small-echo", "bun");
    out.push(check(`(1) ${us}: small echo CPU/msg vs Bun`, v1, "<= 1.2x", v1 <= 1.2));
    const v1u = cpu("small-echo", us) / cpu("small-echo", "uws");
    out.push(check(`(1) ${us}: small echo CPU/msg vs uWebSockets.js`, v1u, "< 1x", v1u < 1));
    const v2c = cpu("large", us) / cpu("large", "ws");
    out.push(check(`(2) ${us}: large CPU/MiB vs ws`, v2c, "<= 0.67x (ws / 1.5)", v2c <= 1 / 1.5));
    const v2r = rate("large", us) / rate("large", "ws");
    out.push(check(`(2) ${us}: large MB/s vs ws`, v2r, ">= 1.5x", v2r >= 1.5));
    const v3 = rate("broadcast", bc) / rate("broadcast", "ws");
    out.push(check(`(3) ${bc}: broadcast deliveries/s vs ws`, v3, ">= 5x", v3 >= 5));
    const v3b = rate("broadcast", bc) / rate("broadcast", "bun");
    out.push(check(`(3) ${bc}: broadcast deliveries/s vs Bun`, v3b, ">= 0.8x", v3b >= 0.8));
    const v4 = cpu("handshakes", us) / cpu("handshakes", "ws");
    out.push(check(`(4) ${us}: CPU per handshake vs ws`, v4, "<= 0.67x (ws / 1.5)", v4 <= 1 / 1.5));
    const idle = w("idle");
    for (const count of [...new Set((idle?.rows ?? []).map((r) => r.count))]) {
      const a = idle.rows.find((r) => r.server === us && r.count === count && !r.error)?.kbPerConn;
      out.push({ ...check(`(5) ${us}: idle KB/conn at ${count}`, a, "<= 4.3 KB", a <= 4.3), unit: "KB" });
    }
    const big = w("idle-100k")?.rows.find((r) => r.server === us && !r.error);
    if (big)
      out.push({
        ...check(`(5) ${us}: connections held at 100,000 (workers)`, big.open, "100,000", big.open >= 100_000),
        unit: "conns",
      });
    const v6 = rate("deflate-echo", us) / rate("deflate-echo", "ws");
    out.push(check(`(6) ${us}: compressed echo msg/s vs ws`, v6, ">= 2x", v6 >= 2));
    const dm = w("idle-deflate")?.rows.find((r) => r.server === us && !r.error)?.kbPerConn;
    const dmWs = w("idle-deflate")?.rows.find((r) => r.server === "ws" && !r.error)?.kbPerConn;
    if (dm !== undefined)
      out.push({
        label: `(6) ${us}: KB per compressed connection (ws: ${Number.isFinite(dmWs) ? dmWs.toFixed(2) : "-"})`,
        value: dm,
        unit: "KB",
        goal: "in the table",
        met: "informational",
      });
    const v7 = get("latency", us, (r) => r.p50) / get("latency", "ws", (r) => r.p50);
    out.push(check(`(7) ${us}: latency p50 vs ws`, v7, "<= 1.0x", v7 <= 1));
  }
  // The channels broadcast beside the raw one (broadcast-10k): what the cable costs per delivery.
  for (const [label, value] of [
    ["deliveries/s", rate("broadcast-10k", "cable") / rate("broadcast-10k", "wirecable")],
    ["CPU/delivery", cpu("broadcast-10k", "cable") / cpu("broadcast-10k", "wirecable")],
  ]) {
    if (Number.isFinite(value))
      out.push({
        label: `(3) cable: channels broadcast to 10,000, ${label} vs wirecable's wss.broadcast`,
        value,
        goal: "in the table",
        met: "informational",
      });
  }
  return out;
}

export function renderMarkdown(run) {
  const m = run.machine;
  const lines = [
    "# wirecable side-by-side benchmarks",
    "",
    `Generated by \`npm run bench\` (bench/run.mjs) on ${m.date}${run.options.quick ? " in --quick mode" : ""}.`,
    "",
    `Machine: ${m.nproc} CPUs (\`nproc\`), ${m.cpu}, ${m.memGiB} GiB RAM, Linux ${m.kernel}; Node ${m.node}, Bun ${m.bun}; load average at start ${m.loadavg}.`,
    `Windows: ${run.options.warmup} s warm-up, then ${run.options.window} s measured${run.options.repeat > 1 || run.options.merged ? `; traffic workloads ran ${run.options.merged ? "several" : run.options.repeat} rounds with the servers interleaved${run.options.merged ? " (two invocations merged with --merge)" : ""}, each server's best round (highest throughput) shown` : ""}. Server and load generators share the machine's ${m.nproc} cores.`,
    "",
    "Definitions: messages are counted when their echo (or broadcast copy) has fully arrived at the load generator.",
    "MB/s = payload bytes received per second / 10^6. Server CPU = user+sys of the server's process tree",
    "(/proc/PID/stat) over the window, divided by the messages (deliveries, handshakes) of the window;",
    "server writes/msg = its write()/writev() calls (/proc/PID/io syscw) per message.",
    "p50/p99 = round-trip time from write to the echo's last byte, including queueing behind the other",
    "in-flight messages of the connection. Loadgen CPU % is per load generator process (100 = one core).",
    "Other CPU % = machine-wide busy CPU minus server and load generators: kernel softirq (loopback TCP)",
    "and anything else running on the machine; high values mean the figures of that row are disturbed.",
    "",
  ];
  if (run.workloads.some((w) => w.rows.some((r) => r.server === "floor")))
    lines.push(
      "floor is bench/servers/floor.mjs, not a WebSocket implementation: the cheapest echo a Node program does",
      "(net.Socket reads and writes, one write per socket per turn, frames walked by header and unmasked in place,",
      "no validation). Its CPU per message is what Node's I/O costs before any library work; CPU/msg vs floor",
      "is a server's CPU per message divided by the floor's.",
      "",
    );
  for (const w of run.workloads) {
    lines.push(`## ${w.name}: ${w.title}`, "");
    if (w.note) lines.push(w.note, "");
    if (w.kind === "idle") lines.push(idleTable(w));
    else if (w.kind === "saturation") lines.push(saturationTable(w));
    else lines.push(trafficTable(w));
    lines.push("");
  }
  if (run.workloads.some((w) => w.rows.some((r) => r.server === "wirecable"))) {
    lines.push("## Issue 18 targets", "", "| target | measured | goal | verdict |", "|---|---:|---|---|");
    for (const t of targets(run))
      lines.push(
        `| ${t.label} | ${Number.isFinite(t.value) ? (t.unit === "conns" ? fmt(t.value) : `${t.value.toFixed(2)}${t.unit ? ` ${t.unit}` : "x"}`) : "-"} | ${t.goal} | ${t.met} |`,
      );
    lines.push("");
  }
  if (run.notes?.length) lines.push("## Notes", "", ...run.notes.map((n) => `- ${n}`), "");
  lines.push("![chart](chart.svg)", "");
  return lines.join("\n");
}

const COLORS = {
  wirecable: "#d9480f",
  ws: "#1c7ed6",
  "websocket-driver": "#74b816",
  bun: "#f59f00",
  uws: "#ae3ec9",
  "cli-echo": "#e8590c",
  "cli-broadcast": "#ff922b",
  bare: "#868e96",
  floor: "#343a40",
};

/** The next of 1, 2, 2.5, 5 x 10^k at or above v, so that quarter ticks are round. */
function niceCeil(v) {
  const k = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * k >= v) return m * k;
  return 10 * k;
}

/**
 * Two panels of grouped bars: throughput and server CPU per message, both relative to ws (so that
 * every workload shares one axis), one group per workload, one bar per server.
 */
export function renderSvg(run) {
  const traffic = run.workloads.filter((w) => w.kind === "traffic" || w.kind === "handshake");
  const servers = [...new Set(traffic.flatMap((w) => w.rows.filter((r) => !r.error).map((r) => r.server)))];
  const W = 960;
  const panelH = 260;
  const left = 70;
  const top = 64;
  const groupW = (W - left - 20) / Math.max(1, traffic.length);
  const barW = Math.min(28, (groupW - 16) / Math.max(1, servers.length));
  const panels = [
    {
      title: "Throughput relative to ws (higher is better)",
      value: (w, r) => {
        const ws = row(w, "ws");
        return ws ? r.perSec / ws.perSec : Number.NaN;
      },
      label: (v) => `${v.toFixed(v < 10 ? 2 : 0)}x`,
    },
    {
      title: "Server CPU per message relative to ws (lower is better)",
      value: (w, r) => {
        const ws = row(w, "ws");
        return ws ? r.cpuUsPer / ws.cpuUsPer : Number.NaN;
      },
      label: (v) => `${v.toFixed(v < 10 ? 2 : 0)}x`,
    },
  ];
  const H = top + panels.length * (panelH + 70) + 10;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">wirecable vs ws, uWebSockets.js and Bun (${run.machine.nproc} CPUs, Node ${run.machine.node}, Bun ${run.machine.bun}${run.commit ? `, commit ${run.commit}` : ""})</text>`,
  ];
  servers.forEach((s, i) => {
    const x = left + i * 150;
    parts.push(`<rect x="${x}" y="32" width="12" height="12" fill="${COLORS[s] ?? "#333"}"/>`);
    parts.push(`<text x="${x + 16}" y="42">${s}</text>`);
  });
  panels.forEach((p, pi) => {
    const y0 = top + 20 + pi * (panelH + 70);
    const vals = traffic.flatMap((w) => w.rows.filter((r) => !r.error).map((r) => p.value(w, r)));
    const max = niceCeil(Math.max(1e-9, ...vals.filter(Number.isFinite)) * 1.08);
    parts.push(`<text x="${left}" y="${y0 - 14}" font-size="13" font-weight="bold">${p.title}</text>`);
    parts.push(
      `<line x1="${left}" y1="${y0 + panelH}" x2="${W - 20}" y2="${y0 + panelH}" stroke="#333"/>`,
      `<line x1="${left}" y1="${y0}" x2="${left}" y2="${y0 + panelH}" stroke="#333"/>`,
    );
    for (let t = 0; t <= 4; t++) {
      const v = (max * t) / 4;
      const y = y0 + panelH - (panelH * t) / 4;
      parts.push(`<line x1="${left - 4}" y1="${y}" x2="${W - 20}" y2="${y}" stroke="#eee"/>`);
      parts.push(`<text x="${left - 6}" y="${y + 4}" text-anchor="end">${+v.toPrecision(3)}x</text>`);
    }
    traffic.forEach((w, gi) => {
      const gx = left + gi * groupW + (groupW - barW * servers.length) / 2;
      servers.forEach((s, si) => {
        const r = w.rows.find((x) => x.server === s && !x.error);
        if (!r) return;
        const v = p.value(w, r);
        if (!Number.isFinite(v)) return;
        const h = (panelH * v) / max;
        const x = gx + si * barW;
        parts.push(
          `<rect x="${x.toFixed(1)}" y="${(y0 + panelH - h).toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="${COLORS[s] ?? "#333"}"><title>${s} ${w.name}: ${p.label(v)}</title></rect>`,
        );
        parts.push(
          `<text x="${(x + barW / 2 - 1).toFixed(1)}" y="${(y0 + panelH - h - 3).toFixed(1)}" text-anchor="middle" font-size="9">${p.label(v)}</text>`,
        );
      });
      parts.push(
        `<text x="${(left + gi * groupW + groupW / 2).toFixed(1)}" y="${y0 + panelH + 16}" text-anchor="middle">${w.name}</text>`,
      );
    });
  });
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}
