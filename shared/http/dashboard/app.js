// The operator's dashboard and a barber's own view: a small static app over the JSON API.
// Every figure and every action goes through the API with the signed-in token, so the API's
// authorisation is the dashboard's; the token lives in this tab's sessionStorage only and is
// sent as a bearer header (never a cookie), so no other site can act with it.

const API = "/api/v1/payout-scheduler";
const TOKEN = "payouts.token";
const page = document.getElementById("page");
let me = null;

class Problem extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

// `/health/report` answers 503 with its report when something is wrong: that is data, not an error.
async function api(path, { method = "GET", body, accept = [] } = {}) {
  const headers = { Authorization: `Bearer ${sessionStorage.getItem(TOKEN) || ""}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(API + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => null);
  if (!response.ok && !accept.includes(response.status)) {
    throw new Problem(response.status, (data && data.detail) || response.statusText);
  }
  return data;
}

// ---- formatting: amounts are decimal strings, formatted exactly (never through a float) ----

function money(amount, currency) {
  if (amount === null || amount === undefined) return "";
  return new Intl.NumberFormat(undefined, { style: "currency", currency: currency || "USD" }).format(amount);
}

function when(iso) {
  if (!iso) return "";
  const at = new Date(iso);
  const local = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" }).format(at);
  return `<time datetime="${esc(iso)}" title="${esc(at.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC"))}">${esc(local)}</time>`;
}

function esc(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function status(value) {
  return `<span class="status ${esc(value)}">${esc(String(value).replace(/_/g, " "))}</span>`;
}

function percent(fraction) {
  return fraction === null || fraction === undefined ? "–" : `${(Number(fraction) * 100).toFixed(1)}%`;
}

const KIND_LABELS = { booth_rent: "Booth rent", supply_fee: "Supply fee", carried_balance: "Balance carried", refund: "Refunded service", reserve: "Reserve kept", reserve_release: "Reserve released", fee_credit: "Instant fee given back", other: "Other" };

function card(label, value, id) {
  return `<div class="card"><div class="label">${esc(label)}</div><div class="value"${id ? ` data-figure="${id}"` : ""}>${value}</div></div>`;
}

// Charts of a window of `slots` days ending today: a platform younger than the window has
// fewer days of data, drawn at the right-hand end, one slot wide each.
const CHART_WIDTH = 600;

function slotX(i, count, slots) {
  return (Math.max(slots, count) - count + i) * (CHART_WIDTH / Math.max(slots, count));
}

function barChart(days, title, slots) {
  const max = Math.max(1, ...days.map((d) => Number(d.value)));
  const step = CHART_WIDTH / Math.max(slots, days.length);
  const bars = days
    .map((d, i) => {
      const h = (Number(d.value) / max) * 130;
      return `<rect x="${slotX(i, days.length, slots) + 1}" y="${140 - h}" width="${Math.max(1, step - 2)}" height="${h}"><title>${esc(d.label)}: ${esc(d.text)}</title></rect>`;
    })
    .join("");
  // The first day's date under its bar, and today's at the right edge (one label for one day).
  const last = days.length ? `<text x="${CHART_WIDTH - 2}" y="157" text-anchor="end">${esc(days[days.length - 1].label)}</text>` : "";
  const first = days.length > 1 && slotX(0, days.length, slots) < CHART_WIDTH - 260 ? `<text x="${slotX(0, days.length, slots) + 2}" y="157">${esc(days[0].label)}</text>` : "";
  return `<svg class="chart" viewBox="0 0 ${CHART_WIDTH} 160" role="img" aria-label="${esc(title)}">${bars}${first}${last}<text x="2" y="16">${esc(days.length ? days.reduce((a, d) => (Number(d.value) > Number(a.value) ? d : a)).text : "")}</text></svg>`;
}

function lineChart(points, title, slots) {
  const half = CHART_WIDTH / Math.max(slots, points.length) / 2;
  const xy = points.map((p, i) => [slotX(i, points.length, slots) + half, 140 - Math.min(1, p) * 130]);
  const line = xy.map(([x, y]) => `${x},${y}`).join(" ");
  const dots = xy.map(([x, y]) => `<circle cx="${x}" cy="${y}" r="3"></circle>`).join("");
  return `<svg class="chart" viewBox="0 0 ${CHART_WIDTH} 160" role="img" aria-label="${esc(title)}"><polyline points="${line}"></polyline>${dots}<text x="2" y="157">0%</text><text x="2" y="16">100%</text></svg>`;
}

// ---- pages ----

async function overview() {
  const [health, month, week, day] = await Promise.all([
    api("/health/report", { accept: [503] }),
    api("/analytics?days=30"),
    api("/analytics?days=7"),
    api("/analytics?days=1"),
  ]);
  const currency = month.currency;
  const byStatus = Object.entries(health.payouts_by_status)
    .map(([s, n]) => `<tr><td>${status(s)}</td><td class="num" data-status="${esc(s)}">${n}</td></tr>`)
    .join("");
  const fees = Object.entries(month.fee_share_by_method)
    .map(([m, f]) => `<tr><td>${esc(m)}</td><td class="num">${f.payouts}</td><td class="num">${money(f.fees, currency)}</td></tr>`)
    .join("");
  const alerts = health.alerts.length
    ? `<ul>${health.alerts.map((a) => `<li class="problem">${esc(a.message)} (${esc(a.value)}, limit ${esc(a.threshold)})</li>`).join("")}</ul>`
    : `<p class="notice">No alerts: ${esc(health.status)}.</p>`;
  const trend = month.trend.map((d) => ({ label: d.day, value: d.net, text: money(d.net, currency) }));
  const failureRates = month.trend.map((d) => (d.payouts ? Number(d.failed || 0) / d.payouts : 0));
  page.innerHTML = `
    <h1>Overview</h1>
    <div class="cards">
      ${card("Paid today", money(day.totals.net, currency), "paid-today")}
      ${card("Paid this week", money(week.totals.net, currency), "paid-week")}
      ${card("Tips (30 days)", money(month.totals.tips, currency), "tips-month")}
      ${card("Success rate (30 days)", percent(month.success_rate), "success-rate")}
      ${card("Average processing", month.average_processing_seconds ? `${Number(month.average_processing_seconds).toFixed(1)} s` : "–", "processing")}
      ${card("Planner last run", health.last_planner_run ? when(health.last_planner_run) : "never", "planner")}
      ${card("Planner lag", `${health.planner_lag_seconds} s`, "lag")}
      ${card("Jobs waiting", health.queue.waiting, "waiting")}
      ${card("Dead letters", health.queue.dead_letter, "dead-letters")}
    </div>
    <h2>Alerts</h2>${alerts}
    <h2>Daily paid volume, 30 days</h2>${barChart(trend, "Daily paid volume over 30 days", 30)}
    <h2>Daily failure rate, 30 days</h2>${lineChart(failureRates, "Daily failure rate over 30 days", 30)}
    <div class="split">
      <div><h2>Payouts by status</h2><table><thead><tr><th>Status</th><th class="num">Payouts</th></tr></thead><tbody>${byStatus}</tbody></table></div>
      <div><h2>Fees by method (30 days)</h2><table><thead><tr><th>Method</th><th class="num">Payouts</th><th class="num">Fees</th></tr></thead><tbody>${fees}</tbody></table></div>
    </div>`;
}

const STATUSES = ["", "awaiting_approval", "on_hold", "scheduled", "queued", "processing", "retry_scheduled", "in_transit", "completed", "failed", "cancelled"];
const METHODS = ["", "stripe_standard", "stripe_instant", "bank_transfer", "manual"];

// Payouts as a table; `id` names it for the tests, `empty` is said when there are none.
function payoutTable(items, empty, id = "") {
  const rows = items
    .map(
      (p) => `<tr>
        <td><a href="/dashboard/payouts/${encodeURIComponent(p.id)}">${esc(p.id)}</a></td>
        <td>${esc(p.barber_id)}</td><td>${status(p.status)}</td><td>${esc(p.method)}</td>
        <td class="num">${money(p.net_amount, p.currency)}</td><td>${when(p.created_at)}</td></tr>`,
    )
    .join("");
  return `<div class="scroll"><table${id ? ` id="${id}"` : ""}><thead><tr><th>Payout</th><th>Barber</th><th>Status</th><th>Method</th><th class="num">Net</th><th>Created</th></tr></thead>
    <tbody>${rows || `<tr><td colspan="6" class="muted">${esc(empty)}</td></tr>`}</tbody></table></div>`;
}

// On a phone each row of a table is a card and each cell says its column: the header's text
// is copied onto the cells (the stylesheet shows it only on narrow screens).
function labelTables(root) {
  for (const table of root.querySelectorAll("table")) {
    const heads = [...table.querySelectorAll("thead th")].map((th) => th.textContent);
    if (!heads.length) continue;
    table.classList.add("stacked");
    for (const row of table.querySelectorAll("tbody tr")) {
      [...row.cells].forEach((cell, i) => {
        const label = cell.colSpan > 1 ? "" : heads[i] || "";
        if (cell.dataset.label !== label) cell.dataset.label = label;
      });
    }
  }
}

async function payouts() {
  const params = new URLSearchParams(location.search);
  const query = new URLSearchParams();
  for (const key of ["status", "method", "barber_id", "cursor"]) {
    if (params.get(key)) query.set(key, params.get(key));
  }
  for (const key of ["from", "to"]) {
    if (params.get(key)) query.set(key, new Date(params.get(key)).toISOString());
  }
  const list = await api(`/payouts?${query}`);
  const select = (name, values) =>
    `<label for="f-${name}">${name.replace("_", " ")}</label><select id="f-${name}" name="${name}">${values
      .map((v) => `<option value="${v}"${params.get(name) === v ? " selected" : ""}>${v ? v.replace(/_/g, " ") : "any"}</option>`)
      .join("")}</select>`;
  const next = list.next_cursor
    ? (() => {
        const more = new URLSearchParams(params);
        more.set("cursor", list.next_cursor);
        return `<p><a href="/dashboard/payouts?${more}">Next page</a></p>`;
      })()
    : "";
  page.innerHTML = `
    <h1>Payouts</h1>
    <form class="filters" method="get" action="/dashboard/payouts">
      <div>${select("status", STATUSES)}</div>
      <div>${select("method", METHODS)}</div>
      ${me.role === "operator" ? `<div><label for="f-barber">barber</label><input id="f-barber" name="barber_id" value="${esc(params.get("barber_id") || "")}"></div>` : ""}
      <div><label for="f-from">from</label><input id="f-from" type="date" name="from" value="${esc(params.get("from") || "")}"></div>
      <div><label for="f-to">to</label><input id="f-to" type="date" name="to" value="${esc(params.get("to") || "")}"></div>
      <button type="submit">Filter</button>
    </form>
    ${payoutTable(list.items, "No payouts match.", "payouts")}${next}`;
}

function breakdown(p) {
  const c = p.currency;
  const rate = `${(Number(p.commission_rate) * 100).toFixed(0)}%`;
  const lines = [
    [`Gross earnings (${p.service_count} services)`, money(p.gross_amount, c)],
    [`Commission (${rate})`, money(p.commission_amount, c)],
  ];
  if (Number(p.bonus_amount) !== 0) lines.push(["Volume bonus", money(p.bonus_amount, c)]);
  if (Number(p.tips_amount) !== 0) {
    const kept = p.tips_paid_amount !== p.tips_amount ? ` (of ${money(p.tips_amount, c)})` : "";
    lines.push([`Tips${kept}`, money(p.tips_paid_amount, c)]);
  }
  for (const d of p.deductions) {
    const label = KIND_LABELS[d.kind] || d.kind;
    const said = d.description && d.description.toLowerCase() !== label.toLowerCase() ? ` (${d.description})` : "";
    // A line given back (a reserve released, an instant fee returned) adds to the net.
    const signed = d.amount.startsWith("-") ? d.amount.slice(1) : `-${d.amount}`;
    lines.push([label + said, money(signed, c)]);
  }
  lines.push(["Platform fee", money(`-${p.fee_amount}`, c)]);
  const rows = lines.map(([l, v]) => `<tr><td>${esc(l)}</td><td class="num">${v}</td></tr>`).join("");
  const note = p.method_note ? `<p class="notice" id="method-note">${esc(p.method_note)}</p>` : "";
  return `<table class="breakdown" id="breakdown"><tbody>${rows}<tr class="total"><td>Net payout</td><td class="num">${money(p.net_amount, c)}</td></tr></tbody></table>${note}`;
}

function actionsFor(p) {
  if (me.role !== "operator") return "";
  const offline = p.method === "bank_transfer" || p.method === "manual";
  const buttons = [];
  // A failed payout whose transfer stands: the money is in the barber's Stripe balance, so a
  // retry would send nothing new and a cancel would pay the earnings again.
  if (p.left_behind) {
    buttons.push(`<button type="button" data-action="pay_out_instant">Pay out instantly</button>`);
    buttons.push(`<button type="button" class="secondary" data-action="pay_out_standard">Pay out to the bank</button>`);
    buttons.push(`<button type="button" class="secondary" data-action="settled_by_hand">Settled by hand</button>`);
  } else if (p.status === "failed") {
    buttons.push(`<button type="button" data-action="retry">Retry</button>`);
  } else if (p.status === "on_hold") {
    // Held for the barber's account; a retry says the operator knows it is fixed.
    buttons.push(`<button type="button" data-action="retry">Retry: the account is fixed</button>`);
  }
  if (p.status === "awaiting_approval") {
    buttons.push(`<button type="button" data-action="approve">Approve</button>`);
    buttons.push(`<button type="button" class="danger" data-action="reject">Reject</button>`);
  }
  if (p.status === "in_transit" && offline) {
    buttons.push(`<button type="button" data-action="confirm">Confirm paid</button>`);
    buttons.push(`<button type="button" class="secondary" data-action="return">Mark returned</button>`);
  }
  if (["scheduled", "queued", "retry_scheduled", "on_hold", "failed"].includes(p.status) && !p.left_behind) {
    buttons.push(`<button type="button" class="danger" data-action="cancel">Cancel</button>`);
  }
  return buttons.length ? `<div class="actions">${buttons.join("")}</div>` : "";
}

async function act(p, action) {
  const ask = {
    retry: () => confirm(`Retry payout ${p.id}?`) && {},
    approve: () =>
      confirm(`Approve payout ${p.id} of ${money(p.net_amount, p.currency)} by ${p.method}${p.destination ? ` to account ${p.destination}` : ""}? It is paid at once.`) && {},
    reject: () => {
      const reason = prompt(`Reject payout ${p.id}: why? (its earnings return to the open balance)`);
      return reason && { reason };
    },
    cancel: () => {
      const reason = prompt(`Cancel payout ${p.id}: why?`);
      return reason && { reason };
    },
    confirm: () => {
      const reference = prompt(`Bank reference of payout ${p.id}:`);
      return reference && { reference };
    },
    return: () => {
      const reason = prompt(`Why did the bank return payout ${p.id}?`);
      return reason && { reason };
    },
    pay_out_instant: () => confirm(`Pay payout ${p.id}'s balance out to the barber's card now (Stripe's instant fee applies)?`) && { action },
    pay_out_standard: () => confirm(`Pay payout ${p.id}'s balance out to the barber's bank (a few days)?`) && { action },
    settled_by_hand: () => {
      const reference = prompt(`How did payout ${p.id}'s balance reach the barber?`);
      return reference && { action, reference };
    },
  }[action];
  const body = ask();
  if (!body) return;
  const route = body.action ? "left-behind" : action;
  // The page is drawn again after the action (the payout may have moved on already, to a
  // status with other actions or none); the result is said in the new page.
  let said;
  try {
    await api(`/payouts/${encodeURIComponent(p.id)}/${route}`, { method: "POST", body });
    said = `<p class="notice">Done: ${esc(action)}.</p>`;
  } catch (error) {
    said = `<p class="problem">${esc(error.message)}</p>`;
  }
  await render();
  const result = document.getElementById("action-result");
  if (result) result.innerHTML = said;
}

async function payout(id) {
  const p = await api(`/payouts/${encodeURIComponent(id)}`);
  const attempts = p.audit_trail.filter((e) => e.to === "processing");
  const trail = p.audit_trail
    .map((e) => `<tr><td>${when(e.at)}</td><td>${e.from ? status(e.from) : ""} → ${status(e.to)}</td><td>${esc(e.actor)}</td><td>${esc(e.reason)}</td></tr>`)
    .join("");
  page.innerHTML = `
    <h1>Payout ${esc(p.id)}</h1>
    <p>Barber <a href="/dashboard/barbers/${encodeURIComponent(p.barber_id)}">${esc(p.barber_id)}</a> · ${status(p.status)} · ${esc(p.method)}${p.destination ? ` to ${esc(p.destination)}` : ""} · created ${when(p.created_at)}
    ${p.failure_reason ? `<p class="problem">${esc(p.failure_reason)}</p>` : ""}
    ${p.left_behind ? `<p class="notice" id="left-behind">Transfer ${esc(p.left_behind.transfer_id)} stands: ${money(p.left_behind.amount, p.currency)} is in ${esc(p.left_behind.held_in)}, not in their bank.</p>` : ""}
    ${actionsFor(p)}<div id="action-result" role="status"></div>
    <h2>Breakdown</h2>${breakdown(p)}
    <div class="actions"><button type="button" class="secondary" data-statement="statement">Statement</button><button type="button" class="secondary" data-statement="statement.csv">Statement (CSV)</button></div>
    <h2>Attempts (${attempts.length})</h2>
    <p class="muted">${attempts.map((a) => `${when(a.at)} by ${esc(a.actor)}`).join("<br>") || "None yet."}</p>
    <h2>Audit trail</h2>
    <div class="scroll"><table><thead><tr><th>When</th><th>Change</th><th>By</th><th>Why</th></tr></thead><tbody>${trail}</tbody></table></div>`;
  page.querySelectorAll("[data-action]").forEach((button) => button.addEventListener("click", () => act(p, button.dataset.action)));
  page.querySelectorAll("[data-statement]").forEach((button) => button.addEventListener("click", () => statement(p, button.dataset.statement)));
}

// The statement is fetched with the session's token (a link could not carry it), then opened
// (the page, to read or print) or saved (the CSV).
async function statement(p, file) {
  const response = await fetch(`${API}/payouts/${encodeURIComponent(p.id)}/${file}`, {
    headers: { Authorization: `Bearer ${sessionStorage.getItem(TOKEN) || ""}` },
  });
  const result = document.getElementById("action-result");
  if (!response.ok) {
    result.innerHTML = `<p class="problem">The statement could not be fetched (${response.status}).</p>`;
    return;
  }
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement("a");
  link.href = url;
  if (file.endsWith(".csv")) link.download = `statement-${p.id}.csv`;
  else link.target = "_blank";
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

async function attention() {
  const [failed, transit, health, awaiting, held] = await Promise.all([
    api("/payouts?status=failed&limit=200"),
    api("/payouts?status=in_transit&limit=200"),
    api("/health/report", { accept: [503] }),
    api("/payouts?status=awaiting_approval&limit=200"),
    api("/payouts?status=on_hold&limit=200"),
  ]);
  const classes = {};
  for (const p of failed.items) {
    const key = (p.failure_reason || "unknown").split(":")[0];
    (classes[key] ||= []).push(p);
  }
  const classRows = Object.entries(classes)
    .map(([reason, ps]) => `<tr><td>${esc(reason)}</td><td class="num">${ps.length}</td><td>${ps.slice(0, 5).map((p) => `<a href="/dashboard/payouts/${encodeURIComponent(p.id)}">${esc(p.id)}</a>`).join(", ")}</td></tr>`)
    .join("");
  const accountIssues = [...new Set([...held.items, ...failed.items.filter((p) => /onboarding|verif|payment method|account/i.test(p.failure_reason || ""))].map((p) => p.barber_id))];
  const threeDaysAgo = Date.now() - 3 * 24 * 3600 * 1000;
  const stuck = transit.items.filter((p) => new Date(p.accepted_at || p.created_at).getTime() < threeDaysAgo);
  page.innerHTML = `
    <h1>Needs attention</h1>
    <h2>Awaiting a second operator's approval</h2>
    ${payoutTable(awaiting.items, "None.", "awaiting")}
    <h2>On hold: the barber's account cannot be paid</h2>
    <p class="muted">They resume by themselves once Stripe enables the account's payouts again; the barber has been told.</p>
    ${payoutTable(held.items, "None.", "on-hold")}
    <h2>Failed payouts by reason</h2>
    <table><thead><tr><th>Reason</th><th class="num">Payouts</th><th>Some of them</th></tr></thead><tbody>${classRows || `<tr><td colspan="3" class="muted">None.</td></tr>`}</tbody></table>
    <h2>Barbers whose account needs action</h2>
    <p>${accountIssues.map((id) => `<a href="/dashboard/barbers/${encodeURIComponent(id)}">${esc(id)}</a>`).join(", ") || `<span class="muted">None.</span>`}</p>
    <h2>Dead letters</h2>
    <p>Jobs in the dead-letter queue: <span data-figure="dead-letters">${health.queue.dead_letter}</span>.</p>
    <div class="actions"><button type="button" id="replay"${health.queue.dead_letter ? "" : " disabled"}>Replay dead letters</button></div><div id="replay-result" role="status"></div>
    <h2>Stuck in transit (over 3 days)</h2>
    ${payoutTable(stuck, "None.")}`;
  document.getElementById("replay").addEventListener("click", async () => {
    if (!confirm("Move every dead-lettered job back onto the queue?")) return;
    const result = document.getElementById("replay-result");
    try {
      const done = await api("/dead-letters/replay", { method: "POST" });
      result.innerHTML = `<p class="notice">${done.replayed} replayed.</p>`;
    } catch (error) {
      result.innerHTML = `<p class="problem">${esc(error.message)}</p>`;
    }
  });
}

async function barbers() {
  if (me.role === "barber") return barber(me.barber_id);
  const list = await api("/schedules?limit=200");
  const rows = list.items
    .map((s) => `<tr><td><a href="/dashboard/barbers/${encodeURIComponent(s.barber_id)}">${esc(s.barber_id)}</a>${s.display_name ? ` ${esc(s.display_name)}` : ""}</td><td>${esc(s.frequency)}</td><td>${esc(s.preferred_payment_method)}</td><td>${status(s.status)}</td><td>${when(s.next_run_at)}</td></tr>`)
    .join("");
  page.innerHTML = `<h1>Barbers</h1><div class="scroll"><table><thead><tr><th>Barber</th><th>Frequency</th><th>Method</th><th>Status</th><th>Next run</th></tr></thead><tbody>${rows}</tbody></table></div>`;
}

async function barber(id) {
  const q = encodeURIComponent(id);
  const [schedule, preview, notices, advice, recent] = await Promise.all([
    api(`/schedules/${q}`),
    api(`/payouts/preview?barber_id=${q}`),
    api(`/notifications?barber_id=${q}&limit=20`),
    api(`/recommendations?barber_id=${q}`),
    api(`/payouts?barber_id=${q}&limit=10`),
  ]);
  const c = schedule.currency;
  page.innerHTML = `
    <h1>Barber ${esc(id)}${schedule.display_name ? ` · ${esc(schedule.display_name)}` : ""}</h1>
    <div class="cards">
      ${card("Schedule", `${esc(schedule.frequency)} · ${esc(schedule.local_time)} ${esc(schedule.time_zone)}`)}
      ${card("Next run", when(schedule.next_run_at))}
      ${card("Method", esc(schedule.preferred_payment_method))}
      ${card("Would be paid now", money(preview.net_amount, c), "preview-net")}
      ${card("Payable earnings", `${money(preview.gross_amount, c)} (${preview.service_count} services)`)}
    </div>
    <h2>Open deductions</h2>
    <p>${preview.deductions.map((d) => `${esc(KIND_LABELS[d.kind] || d.kind)}: ${money(d.amount, c)}`).join("<br>") || `<span class="muted">None.</span>`}</p>
    <h2>Kept back</h2>
    ${keptBack(schedule, preview, c)}
    <h2>Recent payouts</h2>
    ${payoutTable(recent.items, "None yet.")}
    <h2>Notices sent</h2>
    <table><thead><tr><th>Sent</th><th>Notice</th><th>Channels</th><th>Delivery</th></tr></thead><tbody>${notices.map((n) => `<tr><td>${when(n.sent_at)}</td><td>${esc(n.kind)}</td><td>${esc(n.channels.join(", "))}</td><td>${esc(n.delivery.replace(/_/g, " "))}</td></tr>`).join("") || `<tr><td colspan="4" class="muted">None.</td></tr>`}</tbody></table>
    <h2>Recommendations</h2>
    <ul>${advice.recommendations.map((r) => `<li>${esc(r.suggestion)} <span class="muted">${esc(r.reason)}</span></li>`).join("") || `<li class="muted">None.</li>`}</ul>`;
}

// What the schedule's hold, the first-payout wait and the rolling reserve keep back for now.
function keptBack(schedule, preview, c) {
  const lines = [];
  const terms = [`Earnings held ${schedule.hold_days} day(s) after the service`];
  if (schedule.reserve_percent) terms.push(`${schedule.reserve_percent} % of each payout kept ${schedule.reserve_days} day(s)`);
  lines.push(`<span class="muted">${esc(terms.join(" · "))}</span>`);
  if (preview.first_payout_waits_until) lines.push(`First payout waits until ${when(preview.first_payout_waits_until)}`);
  const held = preview.held;
  if (held.service_count > 0) {
    const services = held.service_count === 1 ? "1 service" : `${held.service_count} services`;
    const release = held.next_release_at === held.all_released_at ? `released ${when(held.next_release_at)}` : `released from ${when(held.next_release_at)} to ${when(held.all_released_at)}`;
    lines.push(`<span data-figure="held">Held, still open: ${money(held.gross_amount, c)} (${services}), ${release}</span>`);
  }
  if (preview.reserve) {
    lines.push(`<span data-figure="reserve">Reserve: ${money(preview.reserve.kept_amount, c)}, first released ${when(preview.reserve.next_release_at)}</span>`);
  }
  return `<p>${lines.join("<br>")}</p>`;
}

async function upcoming() {
  const pageOf = (cursor) => api(`/forecast?days=7&limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
  let forecast = me.role === "operator" ? await pageOf(null) : await ownForecast();
  const runs = [];
  const funding = new Map();
  const show = () => {
    runs.push(...forecast.runs);
    for (const f of forecast.funding) {
      const key = `${f.day} ${f.method} ${f.currency}`;
      const line = funding.get(key) || { ...f, payouts: 0, net_amount: "0" };
      line.payouts += f.payouts;
      line.net_amount = addDecimals(line.net_amount, f.net_amount);
      funding.set(key, line);
    }
    const rows = runs
      .map((r) => `<tr><td>${when(r.run_at)}</td><td>${esc(r.barber_id)}</td><td>${esc(r.method)}</td><td>${esc(r.decision.replace(/_/g, " "))}</td><td class="num">${r.decision === "pay" ? money(r.net_amount, r.currency) : "–"}</td></tr>`)
      .join("");
    const lines = [...funding.values()]
      .sort((a, b) => `${a.day}${a.method}`.localeCompare(`${b.day}${b.method}`))
      .map((f) => `<tr><td>${esc(f.day)}</td><td>${esc(f.method)}</td><td class="num">${f.payouts}</td><td class="num">${money(f.net_amount, f.currency)}</td></tr>`)
      .join("");
    const more = forecast.next_cursor ? `<p class="muted">The first ${runs.length} runs; the totals cover those listed. <button id="more-runs" type="button">Show more</button></p>` : "";
    page.innerHTML = `
      <h1>Upcoming: the next 7 days</h1>
      <p class="muted">What each scheduled run would pay if it closed now (the preview), and what the platform must fund per day and method.</p>
      <h2>To fund</h2>
      <table id="funding"><thead><tr><th>Day (UTC)</th><th>Method</th><th class="num">Payouts</th><th class="num">Amount</th></tr></thead><tbody>${lines || `<tr><td colspan="4" class="muted">Nothing due.</td></tr>`}</tbody></table>
      <h2>Scheduled runs</h2>${more}
      <div class="scroll"><table id="runs"><thead><tr><th>Run</th><th>Barber</th><th>Method</th><th>Decision</th><th class="num">Expected</th></tr></thead><tbody>${rows}</tbody></table></div>`;
    const button = document.getElementById("more-runs");
    if (button) {
      button.onclick = async () => {
        button.disabled = true;
        forecast = await pageOf(forecast.next_cursor);
        show();
      };
    }
  };
  show();
}

// The sum of two decimal strings ("12.5" + "0.75" = "13.25"), exactly: money is never a float.
function addDecimals(a, b) {
  const places = Math.max(...[a, b].map((x) => (x.split(".")[1] || "").length));
  const scaled = (x) => {
    const [whole, fraction = ""] = x.replace("-", "").split(".");
    const n = BigInt(whole + fraction.padEnd(places, "0"));
    return x.startsWith("-") ? -n : n;
  };
  const sum = scaled(a) + scaled(b);
  const digits = (sum < 0n ? -sum : sum).toString().padStart(places + 1, "0");
  const text = places ? `${digits.slice(0, -places)}.${digits.slice(-places)}` : digits;
  return sum < 0n ? `-${text}` : text;
}

// A barber's own forecast, in the forecast's shape: its next run, if within the week.
async function ownForecast() {
  const schedule = await api(`/schedules/${encodeURIComponent(me.barber_id)}`);
  const due = schedule.status === "active" && new Date(schedule.next_run_at).getTime() <= Date.now() + 7 * 24 * 3600 * 1000;
  if (!due) return { runs: [], funding: [], next_cursor: null };
  const p = await api(`/payouts/preview?barber_id=${encodeURIComponent(me.barber_id)}`);
  const run = { barber_id: me.barber_id, run_at: schedule.next_run_at, method: p.method, currency: p.currency, decision: p.decision, net_amount: p.net_amount };
  const funding = p.decision === "pay" ? [{ day: schedule.next_run_at.slice(0, 10), method: p.method, currency: p.currency, payouts: 1, net_amount: p.net_amount }] : [];
  return { runs: [run], funding, next_cursor: null };
}

// ---- routing and sign-in ----

async function render() {
  const path = location.pathname.replace(/\/+$/, "");
  const parts = path.split("/").slice(2).map(decodeURIComponent);
  document.querySelectorAll("#nav a").forEach((a) => {
    a.hidden = a.dataset.role === "operator" && me.role !== "operator";
    a.setAttribute("aria-current", a.getAttribute("href") === (parts[0] ? `/dashboard/${parts[0]}` : "/dashboard") ? "page" : "false");
  });
  try {
    if (parts[0] === "payouts" && parts[1]) await payout(parts[1]);
    else if (parts[0] === "payouts") await payouts();
    else if (parts[0] === "attention") await attention();
    else if (parts[0] === "barbers" && parts[1]) await barber(parts[1]);
    else if (parts[0] === "barbers") await barbers();
    else if (parts[0] === "upcoming") await upcoming();
    else if (parts.length) page.innerHTML = `<h1>Page not found</h1><p><a href="/dashboard">Back to the start</a></p>`;
    else if (me.role === "barber") await barber(me.barber_id);
    else await overview();
  } catch (error) {
    if (error.status === 401) return signOut();
    page.innerHTML = `<p class="problem">${esc(error.message)}</p>`;
  }
}

function navigate(href) {
  history.pushState(null, "", href);
  render();
  document.getElementById("main").focus();
}

// Signing out (or a token refused) shows the sign-in form at the same address, so a shared
// link opens its page once signed in; the Sign out button also goes back to the start.
function signOut() {
  sessionStorage.removeItem(TOKEN);
  me = null;
  document.getElementById("nav").hidden = true;
  page.innerHTML = "";
  document.getElementById("sign-in").hidden = false;
}

async function start() {
  if (!sessionStorage.getItem(TOKEN)) return signOut();
  try {
    me = await api("/me");
  } catch (error) {
    signOut();
    const shown = document.getElementById("sign-in-error");
    shown.textContent =
      error.status === 401 ? `That token was not accepted: ${error.message.replace(/^invalid token: /, "")}.` : `Signing in failed: ${error.message}.`;
    shown.hidden = false;
    return;
  }
  document.getElementById("sign-in").hidden = true;
  document.getElementById("nav").hidden = false;
  await render();
}

document.getElementById("sign-in").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(TOKEN, document.getElementById("token").value.trim());
  document.getElementById("token").value = "";
  start();
});
document.getElementById("sign-out").addEventListener("click", () => {
  history.replaceState(null, "", "/dashboard");
  signOut();
});
document.addEventListener("click", (event) => {
  const link = event.target.closest("a[href^='/dashboard']");
  if (link && !event.ctrlKey && !event.metaKey && !event.shiftKey) {
    event.preventDefault();
    navigate(link.getAttribute("href"));
  }
});
document.addEventListener("submit", (event) => {
  if (event.target.matches("form.filters")) {
    event.preventDefault();
    const query = new URLSearchParams([...new FormData(event.target)].filter(([, v]) => v));
    navigate(`/dashboard/payouts?${query}`);
  }
});
window.addEventListener("popstate", render);
new MutationObserver(() => labelTables(page)).observe(page, { childList: true, subtree: true });
start();
