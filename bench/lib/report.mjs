// Turning results into bench/results/results.md and a hand-written SVG chart.
// Contract: `renderMarkdown(run)` and `renderSvg(run)` are pure functions of the run object that
// run.mjs writes as results.json: { machine, options, workloads: [{ name, title, unit, kind, rows }] }.

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
  // The floor peer (servers/floor.mjs, Node's cheapest echo) adds a column where it ran.
  const floor = w.rows.some((r) => r.server === "floor") ? row(w, "floor") : null;
  const unit = w.unit ?? "msg/s";
  const out = [
    `| server | ${unit} | MB/s | p50 us | p99 us | server CPU us/msg | server CPU % | loadgen CPU % | other CPU % | ${unit} vs ws | ${unit} vs Bun | CPU/msg vs ws | CPU/msg vs Bun |${floor !== null ? " CPU/msg vs floor |" : ""}`,
    `|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|${floor !== null ? "---:|" : ""}`,
  ];
  for (const r of w.rows) {
    if (r.error) {
      out.push(`| ${r.server} | ${r.error} ||||||||||||${floor !== null ? "|" : ""}`);
      continue;
    }
    const lg = (r.loadgenCpuPct ?? []).map((v) => fmt(v)).join(" + ");
    const trouble = [r.failed ? `${r.failed} failed` : "", r.closedEarly ? `${r.closedEarly} closed` : ""]
      .filter(Boolean)
      .join(", ");
    out.push(
      `| ${r.server}${trouble ? ` (${trouble})` : ""} | ${fmt(r.perSec)} | ${fmt(r.mbPerSec, 1)} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${fmt(r.cpuUsPer, 2)} | ${fmt(r.serverCpuPct)} | ${lg} | ${fmt(r.otherCpuPct)} | ${ratio(r.perSec, ws?.perSec)} | ${ratio(r.perSec, bun?.perSec)} | ${ratio(r.cpuUsPer, ws?.cpuUsPer)} | ${ratio(r.cpuUsPer, bun?.cpuUsPer)} |${floor !== null ? ` ${ratio(r.cpuUsPer, floor?.cpuUsPer)} |` : ""}`,
    );
  }
  return out.join("\n");
}

function idleTable(w) {
  const out = [
    "| server | connections open | RSS before MB | RSS after MB | KB per connection | vs bare net.Socket | vs ws | vs Bun |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const r of w.rows) {
    if (r.error) {
      out.push(`| ${r.server} (${r.count}) | ${r.error} |||||||`);
      continue;
    }
    const same = (name) => w.rows.find((x) => x.server === name && x.count === r.count && !x.error);
    out.push(
      `| ${r.server} | ${fmt(r.open)} | ${fmt(r.rssBeforeKB / 1024, 1)} | ${fmt(r.rssAfterKB / 1024, 1)} | ${fmt(r.kbPerConn, 2)} | ${ratio(r.kbPerConn, same("bare")?.kbPerConn)} | ${ratio(r.kbPerConn, same("ws")?.kbPerConn)} | ${ratio(r.kbPerConn, same("bun")?.kbPerConn)} |`,
    );
  }
  return out.join("\n");
}

function saturationTable(w) {
  const out = [
    "| load generator processes | Bun msg/s | Bun CPU % | Bun CPU us/msg | loadgen CPU % (each) | loadgen CPU us/msg | other CPU % |",
    "|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const r of w.rows) {
    if (r.error) out.push(`| ${r.loadgens} | ${r.error} |||`);
    else
      out.push(
        `| ${r.loadgens} | ${fmt(r.perSec)} | ${fmt(r.serverCpuPct)} | ${fmt(r.cpuUsPer, 2)} | ${r.loadgenCpuPct.map((v) => fmt(v)).join(" + ")} | ${fmt(r.loadgenUsPer, 2)} | ${fmt(r.otherCpuPct)} |`,
      );
  }
  return out.join("\n");
}

/** Issue 9's targets for wirecable, evaluated on this run. */
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
  const wc = (n, f) => get(n, "wirecable", f);
  const out = [];
  const cpu = wc("small-echo", (r) => r.cpuUsPer);
  const bunCpu = get("small-echo", "bun", (r) => r.cpuUsPer);
  const wsCpu = get("small-echo", "ws", (r) => r.cpuUsPer);
  out.push(check("(1) small echo CPU/msg vs Bun", cpu / bunCpu, "<= 1.2x", cpu / bunCpu <= 1.2));
  out.push(check("(1) small echo CPU/msg: ws / wirecable", wsCpu / cpu, ">= 8x", wsCpu / cpu >= 8));
  // The floor view of (1): how much of the distance to Bun is Node's own (servers/floor.mjs, the
  // cheapest echo a Node program does: the same reads, writes and batching, almost no JS).
  const floorCpu = get("small-echo", "floor", (r) => r.cpuUsPer);
  if (floorCpu !== undefined) {
    const f = floorCpu / bunCpu;
    out.push({
      label: "(1) small echo CPU/msg: floor / Bun (Node's I/O alone: the part a Node library cannot remove)",
      value: f,
      goal: "(1) needs room under 1.2x",
      met: Number.isNaN(f) ? "not measured" : "informational",
    });
    const above = cpu / floorCpu;
    out.push({
      label: "(1) small echo CPU/msg: wirecable / floor (what the library adds to Node's cheapest echo)",
      value: above,
      goal: "-",
      met: Number.isNaN(above) ? "not measured" : "informational",
    });
    const budget = 1.2 * bunCpu - floorCpu;
    out.push({
      label: "(1) small echo: us/msg a library may spend above the floor at 1.2x Bun (1.2 x Bun - floor)",
      value: budget,
      unit: "us",
      goal: `wirecable spends ${Number.isFinite(cpu - floorCpu) ? (cpu - floorCpu).toFixed(2) : "-"} us`,
      met: Number.isNaN(budget) ? "not measured" : "informational",
    });
  }
  const p50 = wc("latency", (r) => r.p50);
  const wsP50 = get("latency", "ws", (r) => r.p50);
  out.push(check("(2) latency p50 vs ws", p50 / wsP50, "<= 1.0x", p50 <= wsP50));
  const mb = wc("large", (r) => r.mbPerSec) / get("large", "ws", (r) => r.mbPerSec);
  out.push(check("(3) large MB/s vs ws", mb, ">= 1.3x", mb >= 1.3));
  const bc = wc("broadcast", (r) => r.perSec) / get("broadcast", "ws", (r) => r.perSec);
  out.push(check("(5) broadcast deliveries/s vs ws", bc, ">= 4x", bc >= 4));
  const idle = w("idle");
  for (const count of [...new Set((idle?.rows ?? []).map((r) => r.count))]) {
    const a = idle.rows.find((r) => r.server === "wirecable" && r.count === count && !r.error)?.kbPerConn;
    const b = idle.rows.find((r) => r.server === "bare" && r.count === count && !r.error)?.kbPerConn;
    out.push(check(`(6) idle KB/conn vs bare at ${count}`, a / b, "<= 1.1x", a / b <= 1.1));
  }
  const hs = wc("handshakes", (r) => r.perSec) / get("handshakes", "ws", (r) => r.perSec);
  out.push(check("(7) handshakes/s vs ws", hs, ">= 1.5x", hs >= 1.5));
  const big = w("idle-100k");
  const a = big?.rows.find((r) => r.server === "wirecable" && !r.error)?.kbPerConn;
  const b = big?.rows.find((r) => r.server === "bare" && !r.error)?.kbPerConn;
  if (a && b) out.push(check("(6) idle KB/conn vs bare at 100,000 (workers)", a / b, "<= 1.1x", a / b <= 1.1));
  // Throughput moves with whatever else runs on the machine; CPU per message does not, so the
  // same comparisons are repeated on it (ws's CPU per message divided by wirecable's).
  for (const [name, label] of [
    ["large", "(3)"],
    ["broadcast", "(5)"],
    ["handshakes", "(7)"],
  ]) {
    const v = get(name, "ws", (r) => r.cpuUsPer) / wc(name, (r) => r.cpuUsPer);
    out.push({
      label: `${label} ${name}: ws CPU/msg / wirecable CPU/msg (load-independent view)`,
      value: v,
      goal: "(same goal)",
      met: Number.isFinite(v) ? "informational" : "not measured",
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
    "(/proc/PID/stat) over the window, divided by the messages (deliveries, handshakes) of the window.",
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
    lines.push("## Issue 9 targets for wirecable", "", "| target | measured | goal | verdict |", "|---|---:|---|---|");
    for (const t of targets(run))
      lines.push(
        `| ${t.label} | ${Number.isFinite(t.value) ? `${t.value.toFixed(2)}${t.unit ? ` ${t.unit}` : "x"}` : "-"} | ${t.goal} | ${t.met} |`,
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
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">wirecable vs ws, websocket-driver and Bun (${run.machine.nproc} CPUs, Node ${run.machine.node}, Bun ${run.machine.bun})</text>`,
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
