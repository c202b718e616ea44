// The viewer's front end: plain DOM, no framework. Every piece of run data goes into the page through
// textContent or setAttribute (never innerHTML), so a plan name like "<script>" is shown as text.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
const app = document.getElementById("app");
const live = document.getElementById("live");

function h(tag, attrs, ...children) {
  const el = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    // Through the CSSOM: the Content-Security-Policy forbids inline style attributes.
    else if (k === "style") Object.assign(el.style, v);
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat(Infinity)) if (c !== undefined && c !== null && c !== false) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

const ms = (v) => (v === undefined || v === null ? "—" : v < 1000 ? `${Math.round(v)} ms` : v < 60000 ? `${(v / 1000).toFixed(1)} s` : `${(v / 60000).toFixed(1)} min`);
const usd = (v) => (v === undefined || v === null ? "—" : `$${Number(v).toFixed(4)}`);
const range = (r, f) => (r ? `${f(r.p50)} (p90 ${f(r.p90)})` : "—");
const when = (t) => (t ? new Date(t).toLocaleString() : "—");
const json = (v) => JSON.stringify(v, null, 2);
// As the CLI prints it: "40% — message", or the bare count when the tool gave no total.
const progressText = (p) => `${p.percent !== undefined ? `${p.percent}%` : `progress ${p.progress}`}${p.message ? ` — ${p.message}` : ""}`;

function subscribe(url, onData) {
  const source = new EventSource(url);
  source.onopen = () => { live.textContent = "live"; live.classList.add("on"); };
  source.onerror = () => { live.textContent = "reconnecting"; live.classList.remove("on"); };
  source.onmessage = (e) => onData(JSON.parse(e.data));
  return source;
}

// ---- runs page ----------------------------------------------------------------------------------

const filters = { status: "", since: "" };
// Every status a run can show, so a filter can ask for one that is not on the page yet.
const STATUSES = ["waiting", "planning", "running", "succeeded", "failed", "rolled_back", "partially_rolled_back", "compensation_failed", "cancelled", "declined", "rejected", "planned", "planning_failed", "preflight_failed", "pending"];
const PAGE = 50;
// The newest page is live (SSE); older pages are loaded on demand with the cursor the previous one gave.
const list = { live: { runs: [] }, older: [], next: undefined, source: undefined };

function runsQuery(extra) {
  const q = new URLSearchParams({ limit: String(PAGE), ...extra });
  if (filters.status) q.set("status", filters.status);
  if (filters.since) q.set("since", String(Date.parse(filters.since)));
  return q.toString();
}

function watchRuns() {
  list.source?.close();
  list.older = [];
  list.next = undefined;
  list.source = subscribe(`/api/runs/events?${runsQuery({})}`, (page) => {
    list.live = page;
    if (!list.older.length) list.next = page.next;
    runsPage();
  });
}

async function loadOlder() {
  if (!list.next) return;
  const page = await (await fetch(`/api/runs?${runsQuery({ before: list.next })}`)).json();
  list.older.push(...page.runs);
  list.next = page.next;
  runsPage();
}

function runsPage() {
  const seen = new Set(list.live.runs.map((r) => r.threadId));
  const runs = [...list.live.runs, ...list.older.filter((r) => !seen.has(r.threadId))];
  const statuses = [...new Set([...STATUSES, ...runs.map((r) => r.status)])];
  const select = h("select", { id: "filter-status", onchange: (e) => { filters.status = e.target.value; watchRuns(); } },
    h("option", { value: "" }, "all statuses"),
    statuses.map((s) => h("option", { value: s, selected: s === filters.status }, s)));
  const date = h("input", { type: "date", id: "filter-since", value: filters.since, onchange: (e) => { filters.since = e.target.value; watchRuns(); } });
  const rows = runs.map((r) =>
    h("tr", { class: "run", "data-thread": r.threadId },
      h("td", {}, h("span", { class: `status ${r.status}` }, r.status), r.waiting ? h("span", { class: "badge" }, "waiting for approval") : null),
      h("td", {}, h("a", { href: `/runs/${encodeURIComponent(r.threadId)}`, class: "plan-name" }, r.plan)),
      h("td", {}, r.planner ?? "—"),
      h("td", {}, when(r.startedAt)),
      h("td", {}, `${ms(r.durationMs)} / ${range(r.forecastMs, ms)}`),
      h("td", {}, `${usd(r.usd)} / ${range(r.forecastUsd, usd)}`),
      h("td", { class: "worker" }, r.worker ?? "—"),
      h("td", {}, h("code", {}, r.threadId))));
  show(
    h("h1", {}, "Runs"),
    h("div", { class: "filters" }, h("label", {}, "Status ", select), h("label", {}, "Since ", date), h("span", { class: "muted", id: "runs-count" }, `${runs.length} shown`)),
    h("table", { id: "runs" },
      h("thead", {}, h("tr", {}, ["Status", "Plan", "Planner", "When", "Duration / forecast", "Cost / forecast", "Worker", "Thread"].map((t) => h("th", {}, t)))),
      h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: 8, class: "muted" }, filters.status || filters.since ? "No runs match." : "No runs yet. Try: credit-optimizer run --workflow rad-crawler")))),
    list.next ? h("p", {}, h("button", { id: "older", onclick: () => void loadOlder() }, "Older runs")) : null);
}

// ---- run page -----------------------------------------------------------------------------------

let selected;

let destructiveChosen;

function questionPanel(run) {
  const q = run.question;
  if (!q) return null;
  const destructive = run.destructive ?? [];
  const status = h("span", { class: "muted", id: "answer-status" });
  const answer = async (approved) => {
    status.textContent = approved ? "approving…" : "rejecting…";
    const res = await fetch(`/api/runs/${encodeURIComponent(run.threadId)}/answer`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-csrf-token": csrf },
      body: JSON.stringify(approved && destructive.length ? { approved, destructive: true } : { approved }),
    });
    const body = await res.json();
    status.textContent = res.ok ? (approved ? "approved: the run proceeds in the viewer's process" : "rejected") : body.error;
  };
  // A run whose plan may destroy data is approved by a separate, explicit choice: the box names every
  // such call and the approve button stays off until it is ticked.
  // Kept across re-renders: a live update must not untick the box.
  const chosen = destructiveChosen === run.threadId;
  const approve = h("button", { class: `approve${destructive.length ? " destructive" : ""}`, id: "approve", disabled: destructive.length > 0 && !chosen, onclick: () => answer(true) },
    destructive.length ? `Approve, including ${destructive.length} destructive call(s)` : q.kind === "budget" ? "Approve spending more" : "Approve");
  const box = destructive.length
    ? h("section", { class: "destructive-calls", id: "destructive" },
        h("h3", {}, "These calls may destroy data"),
        h("ul", {}, destructive.map((d) => h("li", { "data-step": d.step }, h("code", {}, d.step), d.rollback ? " (its rollback)" : "", " → ", h("code", {}, d.tool)))),
        h("label", {}, h("input", { type: "checkbox", id: "allow-destructive", checked: chosen, onchange: (e) => { destructiveChosen = e.target.checked ? run.threadId : undefined; approve.disabled = !e.target.checked; } }), " I approve these destructive calls"))
    : null;
  return h("section", { class: `panel question${destructive.length ? " has-destructive" : ""}`, id: "question", "data-kind": q.kind },
    h("h2", {}, q.kind === "budget" ? "Running budget reached" : destructive.length ? "Waiting for approval: destructive calls" : "Waiting for approval"),
    q.plan ? h("p", {}, "Plan: ", h("strong", {}, q.plan)) : null,
    h("p", {}, q.question),
    h("ul", {}, (q.reasons ?? []).map((r) => h("li", {}, r))),
    q.kind === "budget" && q.held?.length ? h("p", {}, "Steps waiting for the answer: ", h("code", {}, q.held.join(", "))) : null,
    box,
    h("p", {}, approve, " ", h("button", { class: "reject", id: "reject", onclick: () => answer(false) }, "Reject"), " ", status));
}

function dag(run) {
  if (!run.nodes.length) return h("p", { class: "muted" }, "No plan yet.");
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: "LR", nodesep: 20, ranksep: 50, marginx: 10, marginy: 10 });
  g.setDefaultEdgeLabel(() => ({}));
  // Room on the right for a running step's percentage, so the layout does not move when progress arrives.
  for (const n of run.nodes) g.setNode(n.id, { width: Math.max(90, n.id.length * 7.5 + 50), height: 34 });
  for (const e of run.edges) g.setEdge(e.from, e.to);
  dagre.layout(g);
  const { width, height } = g.graph();
  const svg = h("svg:svg", { class: "dag", id: "dag", width, height, viewBox: `0 0 ${width} ${height}` },
    h("svg:defs", {}, h("svg:marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 8, markerHeight: 8, markerUnits: "userSpaceOnUse", orient: "auto-start-reverse" }, h("svg:path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#6b7280" }))));
  for (const e of run.edges) {
    const pts = g.edge(e.from, e.to).points;
    const d = pts.map((p, i) => `${i ? "L" : "M"}${p.x},${p.y}`).join(" ");
    svg.append(h("svg:path", { class: `edge ${e.implied ? "implied" : "declared"}${e.critical ? " critical" : ""}`, d, "marker-end": "url(#arrow)", "data-from": e.from, "data-to": e.to }));
  }
  for (const n of run.nodes) {
    const box = g.node(n.id);
    svg.append(h("svg:g", { class: `node status-${n.status}${n.critical ? " critical" : ""}${selected === n.id ? " selected" : ""}`, "data-id": n.id, transform: `translate(${box.x - box.width / 2},${box.y - box.height / 2})`, onclick: () => { selected = n.id; render(run); } },
      h("svg:title", {}, `${n.id}: ${n.status} — ${n.tool}${n.progress ? ` — ${progressText(n.progress)}` : ""}`),
      h("svg:rect", { width: box.width, height: box.height }),
      h("svg:text", { x: 10, y: 21 }, n.id),
      n.progress ? h("svg:rect", { class: "progress", x: 0, y: box.height - 4, height: 4, width: (box.width * (n.progress.percent ?? 0)) / 100 }) : null,
      n.progress ? h("svg:text", { class: "progress-text", x: box.width - 6, y: 12, "text-anchor": "end" }, n.progress.percent !== undefined ? `${n.progress.percent}%` : `${n.progress.progress}`) : null));
  }
  return h("div", {}, svg, h("div", { class: "legend muted" }, h("span", {}, "— declared edge"), h("span", {}, "- - implied by a ${ref}"), h("span", {}, "thick: critical path")));
}

function timeline(run) {
  if (!run.timeline.length) return h("p", { class: "muted" }, "Nothing has run yet.");
  const start = Math.min(...run.timeline.map((b) => b.startMs));
  const end = Math.max(...run.timeline.map((b) => b.endMs));
  const span = Math.max(1, end - start);
  const pct = (t) => `${((t - start) / span) * 100}%`;
  return h("div", { class: "timeline", id: "timeline" },
    run.timeline.map((b) => {
      const bar = h("div", { class: `bar ${b.kind} ${b.status}${b.segments.length ? " segmented" : ""}`, "data-id": b.id, "data-kind": b.kind, "data-start": b.startMs, "data-end": b.endMs, title: `${b.id}: ${b.status}, ${ms(b.endMs - b.startMs)}, ${b.attempts} attempt(s)`, style: { left: pct(b.startMs), width: `${((b.endMs - b.startMs) / span) * 100}%` } });
      // One segment per attempt, placed at its own time inside the bar: a failed try is red, the gap
      // before the next one is the backoff.
      const width = Math.max(1, b.endMs - b.startMs);
      b.segments.forEach((s, i) => bar.append(h("span", {
        class: `seg${s.error ? " failed" : ""}`, "data-attempt": i + 1, "data-start": s.startMs, "data-end": s.endMs,
        title: `attempt ${i + 1}: ${ms(s.endMs - s.startMs)}${s.error ? ` — ${s.error}` : ""}`,
        style: { left: `${((s.startMs - b.startMs) / width) * 100}%`, width: `${((s.endMs - s.startMs) / width) * 100}%` },
      })));
      return h("div", { class: "tl-row" }, h("span", { class: "tl-label" }, b.kind === "compensation" ? `↺ ${b.id}` : b.id), h("div", { class: "tl-track" }, bar));
    }),
    h("div", { class: "muted" }, `0 → ${ms(span)}`));
}

function details(run) {
  const step = run.steps.find((s) => s.id === selected) ?? run.steps[0];
  if (!step) return null;
  return h("section", { class: "panel", id: "details" },
    h("h2", {}, `Step ${step.id} `, h("span", { class: `status ${step.status}` }, step.status)),
    h("p", {}, "Tool: ", h("code", {}, step.tool), step.agent ? ` · agent ${step.agent}` : "", step.attempts ? ` · ${step.attempts} attempt(s)` : ""),
    step.reason ? h("p", {}, step.reason) : null,
    step.progress ? h("p", { class: "progress-line", id: "step-progress" }, `${progressText(step.progress)} (reported ${when(step.progress.at)})`) : null,
    h("h3", {}, "Params"), h("pre", {}, json(step.params)),
    step.output !== undefined ? [h("h3", {}, "Output"), h("pre", {}, json(step.output))] : null,
    step.error ? [h("h3", {}, "Error"), h("pre", {}, json(step.error))] : null,
    step.rollback ? [h("h3", {}, "Rollback"), h("pre", {}, json(step.rollback))] : null,
    step.thinking ? [h("h3", {}, "Thinking session"),
      h("ol", { id: "thinking" }, step.thinking.map((t) => h("li", { "data-step": t.step }, h("span", { class: "muted" }, `${t.session ?? "session"} #${t.number ?? "?"} (${t.step}): `), t.thought)))] : null);
}

function costs(run) {
  const sum = (xs) => xs.reduce((a, x) => a + (x ?? 0), 0);
  const stepForecast = sum(run.steps.map((s) => s.forecastUsd));
  const stepActual = sum(run.steps.map((s) => s.usd));
  // Forecast against actual per agent and model; then each model call as the ledger recorded it.
  const calls = run.modelCalls.length ? run.modelCalls : run.usage.map((u) => ({ agent: u.agent, model: u.model, inputTokens: u.input_tokens, outputTokens: u.output_tokens, usd: u.usd, known: u.priced }));
  const groups = new Map();
  for (const f of run.modelForecast) groups.set(`${f.agent}\u0000${f.model}`, { agent: f.agent, model: f.model, forecast: f.usd, calls: [] });
  for (const c of calls) {
    const key = `${c.agent}\u0000${c.model}`;
    if (!groups.has(key)) groups.set(key, { agent: c.agent, model: c.model, calls: [] });
    groups.get(key).calls.push(c);
  }
  const modelRows = [...groups.values()];
  return h("section", { class: "panel", id: "costs" },
    h("h2", {}, "Cost and time"),
    h("p", {}, `Total: ${usd(run.usd)} against a forecast of ${range(run.forecastUsd, usd)} · ${ms(run.durationMs)} against ${range(run.forecastMs, ms)}`),
    h("table", { id: "step-costs" },
      h("thead", {}, h("tr", {}, ["Step", "Forecast time", "Actual time", "Forecast USD", "Actual USD"].map((t) => h("th", {}, t)))),
      h("tbody", {}, run.steps.map((s) => h("tr", { "data-step": s.id }, h("td", {}, s.id), h("td", {}, range(s.forecastMs, ms)), h("td", {}, ms(s.ms)), h("td", {}, usd(s.forecastUsd)), h("td", {}, usd(s.usd)))),
        h("tr", {}, h("th", {}, "steps"), h("td", {}), h("td", {}), h("th", {}, usd(stepForecast)), h("th", {}, usd(stepActual))))),
    modelRows.length
      ? [
          h("h3", {}, "Models: forecast against actual"),
          h("table", { id: "model-costs" }, h("thead", {}, h("tr", {}, ["Agent", "Model", "Calls", "In", "Out", "Forecast USD", "Actual USD"].map((t) => h("th", {}, t)))),
            h("tbody", {}, modelRows.map((g) => h("tr", {}, h("td", {}, g.agent), h("td", {}, g.model), h("td", {}, g.calls.length), h("td", {}, sum(g.calls.map((c) => c.inputTokens))), h("td", {}, sum(g.calls.map((c) => c.outputTokens))),
              h("td", {}, range(g.forecast, usd)), h("td", {}, g.calls.some((c) => !c.known) ? "unknown" : usd(sum(g.calls.map((c) => c.usd)))))))),
          calls.length
            ? [h("h3", {}, "Each model call"),
                h("table", { id: "model-calls" }, h("thead", {}, h("tr", {}, ["Agent", "Model", "Step", "In", "Out", "USD"].map((t) => h("th", {}, t)))),
                  h("tbody", {}, calls.map((c) => h("tr", {}, h("td", {}, c.agent), h("td", {}, c.model), h("td", {}, c.stepId ?? "—"), h("td", {}, c.inputTokens), h("td", {}, c.outputTokens), h("td", {}, c.known ? usd(c.usd) : "unknown")))))]
            : null,
        ]
      : h("p", { class: "muted" }, "No model calls."));
}

// replaceChildren would turn a null into the text "null".
const show = (...children) => app.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));

function render(run) {
  if (!run) {
    show(h("p", {}, "No such run."));
    return;
  }
  document.title = `${run.plan} — credit-optimizer`;
  show(
    h("h1", { id: "run-title" }, run.plan, " ", h("span", { class: `status ${run.status}`, id: "run-status" }, run.status)),
    h("p", { class: "muted" }, "thread ", h("code", {}, run.threadId), ` · ${run.planner ?? "planner unknown"} · ${when(run.startedAt)} · `,
      h("a", { href: `/api/runs/${encodeURIComponent(run.threadId)}/plan.json`, download: "" }, "plan JSON (for run --plan)")),
    run.request ? h("p", {}, "Request: ", run.request) : null,
    questionPanel(run),
    run.problems.length ? h("section", { class: "panel" }, h("h2", {}, "Problems"), h("ul", {}, run.problems.map((p) => h("li", {}, p)))) : null,
    h("h2", {}, "DAG"), dag(run),
    h("h2", {}, "Timeline"), timeline(run),
    h("div", { class: "grid" }, details(run), costs(run)),
    run.notes.length ? h("section", { class: "panel" }, h("h2", {}, "Notes"), h("ul", {}, run.notes.map((n) => h("li", {}, n)))) : null,
    run.summary ? h("section", { class: "panel" }, h("h2", {}, "Summary"), h("pre", {}, run.summary)) : null);
}

const match = /^\/runs\/([^/]+)$/.exec(location.pathname);
if (match) subscribe(`/api/runs/${match[1]}/events`, render);
else watchRuns();
