// The IOC security panel: a page per hash route, drawn from the /api/v1 answers.
// Nothing to build: plain ES modules served as they are. Every text from the API goes
// into the page through textContent (never innerHTML), so event data cannot inject markup.
import { MESSAGES } from "./i18n.js";

const KEY_STORAGE = "canhgac.key"; // sessionStorage: gone when the browser session ends
const LANG_STORAGE = "canhgac.lang";
const PAGE_SIZE = 50;
const SEVERITIES = ["critical", "high", "medium", "low", "informational"];
const STATUSES = ["new", "acknowledged", "resolved", "false_positive"];

const state = {
  lang: localStorage.getItem(LANG_STORAGE) === "en" ? "en" : "vi",
  me: null,
  stream: null,
};

// -- words, times, elements -------------------------------------------------------------

function t(key, values = {}) {
  const text = MESSAGES[state.lang][key] ?? MESSAGES.vi[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
}

function timeZone() {
  return state.me?.timezone ?? "Asia/Ho_Chi_Minh";
}

function formatTime(iso) {
  if (!iso) return "—";
  const locale = state.lang === "vi" ? "vi-VN" : "en-GB";
  return new Intl.DateTimeFormat(locale, {
    timeZone: timeZone(),
    year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit",
  }).format(new Date(iso));
}

function formatDuration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function severityBadge(severity) {
  return h("span", { class: `badge severity-${severity}` }, t(`severity.${severity}`));
}

function statusBadge(status) {
  return h("span", { class: `badge status-${status}` }, t(`status.${status}`));
}

function main() {
  return document.getElementById("main");
}

function show(...nodes) {
  main().replaceChildren(...nodes);
}

function notice(text, kind = "info") {
  const box = document.getElementById("notice");
  box.className = `notice ${kind}`;
  box.textContent = text;
  box.hidden = !text;
}

// -- the API ------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

async function api(path, { method = "GET", body = null, signal = null } = {}) {
  const headers = { Authorization: `Bearer ${sessionStorage.getItem(KEY_STORAGE) ?? ""}` };
  if (body !== null) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method, headers, signal, body: body === null ? null : JSON.stringify(body),
  });
  if (response.status === 401) {
    signOut();
    throw new ApiError(401, t("signin.invalid"));
  }
  const payload = response.status === 204 ? null : await response.json();
  if (!response.ok) {
    const detail = typeof payload?.detail === "string" ? payload.detail : JSON.stringify(payload?.detail);
    throw new ApiError(response.status, response.status === 403 ? t("error.forbidden") : detail);
  }
  return payload;
}

function reportError(error) {
  notice(t("error.generic", { detail: error.message }), "error");
}

// -- live updates: Server-Sent Events read with fetch, so the key travels in a header ----

function startStream(onEvent, onStatus) {
  stopStream();
  const controller = new AbortController();
  state.stream = controller;
  let lastEventId = null;
  const connect = async () => {
    while (!controller.signal.aborted) {
      try {
        const headers = { Authorization: `Bearer ${sessionStorage.getItem(KEY_STORAGE) ?? ""}` };
        if (lastEventId) headers["Last-Event-ID"] = lastEventId;
        const response = await fetch("/api/v1/stream", { headers, signal: controller.signal });
        if (!response.ok || !response.body) throw new Error(`stream answered ${response.status}`);
        onStatus(true);
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const message = { event: "message", data: "" };
            for (const line of block.split("\n")) {
              if (line.startsWith("id:")) lastEventId = line.slice(3).trim();
              else if (line.startsWith("event:")) message.event = line.slice(6).trim();
              else if (line.startsWith("data:")) message.data += line.slice(5).trim();
            }
            if (message.data) onEvent(message.event, JSON.parse(message.data));
          }
        }
      } catch (error) {
        if (controller.signal.aborted) return;
      }
      onStatus(false);
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  };
  connect();
}

function stopStream() {
  state.stream?.abort();
  state.stream = null;
}

// -- sign in --------------------------------------------------------------------------------

function signOut() {
  sessionStorage.removeItem(KEY_STORAGE);
  state.me = null;
  stopStream();
  location.hash = "#/signin";
}

function signInPage() {
  document.getElementById("nav").hidden = true;
  const input = h("input", { id: "api-key", type: "password", autocomplete: "off", required: true });
  const form = h("form", { class: "card signin", onsubmit: async (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY_STORAGE, input.value.trim());
    try {
      state.me = await api("/api/v1/me");
      notice("");
      location.hash = "#/incidents";
    } catch (error) {
      sessionStorage.removeItem(KEY_STORAGE);
      notice(t("signin.invalid"), "error");
    }
  } },
    h("h1", {}, t("signin.title")),
    h("label", { for: "api-key" }, t("signin.key")), input,
    h("p", { class: "hint" }, t("signin.help")),
    h("button", { type: "submit", id: "signin-submit" }, t("signin.submit")),
  );
  show(form);
  input.focus();
}

// -- the incident queue -------------------------------------------------------------------

function queueFilters() {
  const params = new URLSearchParams(location.hash.split("?")[1] ?? "");
  return params;
}

function selectFor(name, values, labelPrefix, selected) {
  return h("select", { name, id: `filter-${name}` },
    h("option", { value: "" }, t("filter.any")),
    values.map((value) => h("option", { value, selected: value === selected }, t(`${labelPrefix}.${value}`))),
  );
}

function incidentRow(incident) {
  return h("tr", { dataset: { id: incident.id }, class: `incident-row status-${incident.status}`,
    onclick: () => { location.hash = `#/incidents/${encodeURIComponent(incident.id)}`; } },
    h("td", {}, severityBadge(incident.severity)),
    h("td", { class: "title" }, incident.title),
    h("td", {}, incident.entity_value ?? "—"),
    h("td", {}, incident.system ?? "—"),
    h("td", {}, incident.organization ?? "—"),
    h("td", { class: "number" }, incident.alert_count),
    h("td", {}, formatTime(incident.last_seen)),
    h("td", {}, statusBadge(incident.status)),
    h("td", {}, incident.assignee ?? "—"),
  );
}

async function queuePage() {
  const filters = queueFilters();
  const form = h("form", { class: "filters", onsubmit: (event) => {
    event.preventDefault();
    const data = new URLSearchParams();
    for (const [name, value] of new FormData(form)) if (value) data.set(name, value);
    location.hash = `#/incidents?${data}`;
  } },
    h("label", {}, t("filter.status"), selectFor("status", STATUSES, "status", filters.get("status"))),
    h("label", {}, t("filter.severity"), selectFor("severity", SEVERITIES, "severity", filters.get("severity"))),
    h("label", {}, t("filter.system"), h("input", { name: "system", value: filters.get("system") ?? "" })),
    h("label", {}, t("filter.organization"), h("input", { name: "organization", value: filters.get("organization") ?? "" })),
    h("label", {}, t("filter.entity"), h("input", { name: "entity", value: filters.get("entity") ?? "" })),
    h("label", {}, t("filter.text"), h("input", { name: "q", type: "search", value: filters.get("q") ?? "" })),
    h("button", { type: "submit" }, t("filter.apply")),
  );
  const live = h("span", { id: "live-status", class: "live" }, "");
  const total = h("span", { id: "queue-total" }, "");
  const body = h("tbody", { id: "incident-rows" });
  const more = h("button", { id: "queue-more", hidden: true }, t("queue.more"));
  const table = h("table", { class: "incidents" },
    h("thead", {}, h("tr", {},
      ["severity", "title", "entity", "system", "organization", "alerts", "last_seen", "status", "assignee"]
        .map((name) => h("th", {}, t(`col.${name}`))))),
    body);
  show(h("section", {}, h("div", { class: "toolbar" }, total, live), form, table, more));

  let cursor = null;
  const query = () => {
    const params = new URLSearchParams(filters);
    params.set("limit", String(PAGE_SIZE));
    return params;
  };
  const loadFirst = async () => {
    const page = await api(`/api/v1/incidents?${query()}`);
    body.replaceChildren(...page.items.map(incidentRow));
    if (page.items.length === 0) body.append(h("tr", {}, h("td", { colspan: 9, class: "empty" }, t("queue.empty"))));
    total.textContent = t("queue.total", { n: page.total });
    cursor = page.next_cursor;
    more.hidden = !cursor;
  };
  more.addEventListener("click", async () => {
    const params = query();
    params.set("cursor", cursor);
    const page = await api(`/api/v1/incidents?${params}`).catch(reportError);
    if (!page) return;
    body.append(...page.items.map(incidentRow));
    cursor = page.next_cursor;
    more.hidden = !cursor;
  });
  await loadFirst();

  // A burst of alerts redraws the first page once, not once per event.
  let pending = null;
  startStream((kind, payload) => {
    if (!kind.startsWith("incident.")) return;
    clearTimeout(pending);
    pending = setTimeout(() => loadFirst().then(() => {
      body.querySelector(`tr[data-id="${CSS.escape(payload.id)}"]`)?.classList.add("flash");
    }).catch(reportError), 300);
  }, (connected) => {
    live.textContent = connected ? `● ${t("queue.live")}` : t("queue.offline");
    live.className = connected ? "live on" : "live off";
  });
}

// -- an incident ------------------------------------------------------------------------

function historyLine(entry) {
  const what = entry.action === "comment"
    ? `${t("history.comment")}: ${entry.new_value ?? ""}`
    : entry.field
      ? t("history.set", { field: entry.field, old: entry.old_value ?? "—", new: entry.new_value ?? "—" })
      : entry.action;
  return h("li", { class: "history-entry" },
    h("time", {}, formatTime(entry.at)), " ",
    h("strong", {}, entry.actor), " ", what,
    entry.reason ? h("span", { class: "reason" }, ` — ${entry.reason}`) : null);
}

async function incidentPage(id) {
  stopStream();
  const incident = await api(`/api/v1/incidents/${encodeURIComponent(id)}`);
  const act = async (change) => {
    try {
      await api(`/api/v1/incidents/${encodeURIComponent(id)}`, { method: "PATCH", body: change });
      notice(t("action.done"));
      await incidentPage(id);
    } catch (error) {
      reportError(error);
    }
  };
  const reason = h("input", { id: "action-reason", placeholder: t("action.reason") });
  const assignee = h("input", { id: "action-assignee", placeholder: t("action.assign_to"), value: incident.assignee ?? "" });
  const comment = h("textarea", { id: "comment-text", rows: 2 });
  const actions = h("div", { class: "actions" },
    h("button", { id: "act-acknowledge", onclick: () => act({ status: "acknowledged", reason: reason.value || null }) }, t("action.acknowledge")),
    assignee,
    h("button", { id: "act-assign", onclick: () => act({ assignee: assignee.value.trim() || null }) }, t("action.assign")),
    h("button", { id: "act-resolve", onclick: () => act({ status: "resolved", reason: reason.value || null }) }, t("action.resolve")),
    h("button", { id: "act-false-positive", class: "secondary", onclick: () => {
      if (!reason.value.trim()) { notice(t("action.reason_required"), "error"); reason.focus(); return; }
      act({ status: "false_positive", reason: reason.value.trim() });
    } }, t("action.false_positive")),
    reason,
  );
  const commentForm = h("form", { class: "comment", onsubmit: async (event) => {
    event.preventDefault();
    if (!comment.value.trim()) return;
    try {
      await api(`/api/v1/incidents/${encodeURIComponent(id)}/comments`, { method: "POST", body: { text: comment.value.trim() } });
      notice(t("action.done"));
      await incidentPage(id);
    } catch (error) {
      reportError(error);
    }
  } }, comment, h("button", { type: "submit", id: "act-comment" }, t("action.comment")));

  const timeline = h("ol", { class: "timeline" }, incident.alerts.map((alert) =>
    h("li", {}, h("time", {}, formatTime(alert.timestamp)), " ", severityBadge(alert.severity), " ",
      alert.rule_title, " ",
      h("span", { class: "entities" }, Object.entries(alert.entities).map(([k, v]) => `${k}=${v}`).join(" ")))));
  const evidence = h("div", { class: "evidence" }, incident.events.map((event) =>
    h("details", {}, h("summary", {}, formatTime(event["@timestamp"]), " ", event.message ?? event.event?.original ?? event.event?.id ?? ""),
      h("pre", {}, JSON.stringify(event, null, 2)))));

  show(h("section", { class: "incident" },
    h("a", { href: "#/incidents" }, t("detail.back")),
    h("h1", { id: "incident-title" }, severityBadge(incident.severity), " ", incident.title),
    h("dl", { class: "facts" },
      h("dt", {}, t("col.status")), h("dd", { id: "incident-status" }, statusBadge(incident.status)),
      h("dt", {}, t("col.assignee")), h("dd", {}, incident.assignee ?? "—"),
      h("dt", {}, t("detail.rule")), h("dd", {}, incident.rule_title),
      h("dt", {}, t("col.entity")), h("dd", {}, `${incident.entity_field ?? ""} ${incident.entity_value ?? "—"}`),
      h("dt", {}, t("col.system")), h("dd", {}, incident.system ?? "—"),
      h("dt", {}, t("col.organization")), h("dd", {}, incident.organization ?? "—"),
      h("dt", {}, t("detail.first_seen")), h("dd", {}, formatTime(incident.first_seen)),
      h("dt", {}, t("col.last_seen")), h("dd", {}, formatTime(incident.last_seen)),
    ),
    actions, commentForm,
    h("h2", {}, t("detail.timeline")), timeline,
    h("h2", {}, t("detail.evidence")), evidence,
    h("h2", {}, t("detail.history")),
    h("ol", { id: "history", class: "history" }, incident.history.map(historyLine)),
  ));
}

// -- the dashboard ------------------------------------------------------------------------

function barChart(series, { width = 720, height = 160 } = {}) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("class", "chart");
  const peak = Math.max(1, ...series.map((point) => point.count));
  const step = width / Math.max(1, series.length);
  series.forEach((point, index) => {
    const bar = document.createElementNS(ns, "rect");
    const barHeight = (point.count / peak) * (height - 20);
    bar.setAttribute("x", String(index * step + 1));
    bar.setAttribute("y", String(height - barHeight));
    bar.setAttribute("width", String(Math.max(1, step - 2)));
    bar.setAttribute("height", String(barHeight));
    const title = document.createElementNS(ns, "title");
    title.textContent = `${formatTime(point.start)}: ${point.count}`;
    bar.append(title);
    svg.append(bar);
  });
  return svg;
}

function countTable(title, rows, label) {
  return h("div", { class: "card" }, h("h2", {}, title),
    h("table", { class: "counts" }, h("tbody", {}, rows.map((row) =>
      h("tr", {}, h("td", {}, label(row)), h("td", { class: "number" }, row.count))))));
}

async function dashboardPage() {
  stopStream();
  const stats = await api("/api/v1/stats");
  show(h("section", { class: "dashboard" },
    h("div", { class: "figures" },
      h("div", { class: "card figure" }, h("span", {}, t("dashboard.open")), h("strong", { id: "open-count" }, stats.open)),
      h("div", { class: "card figure" }, h("span", {}, t("dashboard.mtta")), h("strong", {}, formatDuration(stats.mean_time_to_acknowledge_seconds))),
      h("div", { class: "card figure" }, h("span", {}, t("dashboard.mttr")), h("strong", {}, formatDuration(stats.mean_time_to_resolve_seconds))),
    ),
    h("div", { class: "card" }, h("h2", {}, t("dashboard.trend")), barChart(stats.by_hour)),
    h("div", { class: "grid" },
      countTable(t("dashboard.by_severity"), stats.by_severity, (row) => severityBadge(row.key)),
      countTable(t("dashboard.top_rules"), stats.top_rules, (row) => row.key),
      countTable(t("dashboard.top_sources"), stats.top_source_addresses, (row) => row.key),
      countTable(t("dashboard.by_organization"), stats.by_organization, (row) => row.key ?? "—"),
      countTable(t("dashboard.by_system"), stats.by_system, (row) => row.key ?? "—"),
    ),
  ));
}

// -- rules (admin) ------------------------------------------------------------------------

async function rulesPage() {
  stopStream();
  const rules = await api("/api/v1/rules");
  const rows = rules.items.map((rule) => {
    const toggle = h("button", { class: rule.enabled ? "secondary" : "", onclick: async () => {
      try {
        await api(`/api/v1/rules/${encodeURIComponent(rule.id)}`, { method: "PATCH", body: { enabled: !rule.enabled } });
        await rulesPage();
      } catch (error) { reportError(error); }
    } }, rule.enabled ? t("rules.disable") : t("rules.enable"));
    const field = h("input", { placeholder: t("rules.exception_field") });
    const value = h("input", { placeholder: t("rules.exception_value") });
    const why = h("input", { placeholder: t("rules.exception_reason") });
    const hours = h("input", { type: "number", min: 1, value: 24, class: "short" });
    const result = h("span", { class: "backtest-result" });
    return h("tr", {},
      h("td", {}, h("strong", {}, rule.title), h("div", { class: "hint" }, rule.id),
        rule.dead_fields?.length ? h("div", { class: "warning" }, `${t("rules.dead")}: ${rule.dead_fields.join(", ")}`) : null),
      h("td", {}, severityBadge(rule.level)),
      h("td", {}, rule.enabled ? t("rules.enabled") : t("rules.disabled")),
      h("td", { class: "number" }, rule.matches), h("td", { class: "number" }, rule.routed_events),
      h("td", {}, formatTime(rule.last_match)),
      h("td", {}, toggle,
        h("details", {}, h("summary", {}, t("rules.exception")),
          h("form", { onsubmit: async (event) => {
            event.preventDefault();
            try {
              await api(`/api/v1/rules/${encodeURIComponent(rule.id)}/exceptions`, { method: "POST",
                body: { field: field.value.trim(), value: value.value.trim(), reason: why.value.trim() } });
              notice(t("action.done"));
            } catch (error) { reportError(error); }
          } }, field, value, why, h("button", { type: "submit" }, t("action.send")))),
        h("details", {}, h("summary", {}, t("rules.backtest")),
          h("form", { onsubmit: async (event) => {
            event.preventDefault();
            const until = new Date();
            const since = new Date(until.getTime() - Number(hours.value) * 3600 * 1000);
            try {
              const answer = await api(`/api/v1/rules/${encodeURIComponent(rule.id)}/backtest`, { method: "POST",
                body: { since: since.toISOString(), until: until.toISOString() } });
              result.textContent = t("rules.backtest_result", { n: answer.alerts.length });
            } catch (error) { reportError(error); }
          } }, t("rules.backtest_hours"), " ", hours, h("button", { type: "submit" }, t("action.send")), " ", result))),
    );
  });
  const skipped = (rules.skipped ?? []).map((item) => h("li", {}, `${item.path}: ${item.reason}`));
  show(h("section", {},
    h("table", { class: "rules" }, h("thead", {}, h("tr", {},
      [t("col.title"), t("rules.level"), t("col.status"), t("rules.hits"), t("rules.routed"), t("rules.last_match"), ""]
        .map((name) => h("th", {}, name)))), h("tbody", {}, rows)),
    skipped.length ? h("div", { class: "card" }, h("h2", {}, `${t("rules.skipped")} (${skipped.length})`), h("ul", {}, skipped)) : null,
  ));
}

// -- collectors ---------------------------------------------------------------------------

async function collectorsPage() {
  stopStream();
  const answer = await api("/api/v1/collectors");
  show(h("section", {},
    h("div", { class: "card" }, h("h2", {}, t("collectors.health")), h("pre", {}, JSON.stringify(answer.service, null, 2))),
    h("table", { class: "collectors" },
      h("thead", {}, h("tr", {}, ["source", "last_event", "rate", "received", "parsed", "dead_letters", "dropped"]
        .map((name) => h("th", {}, t(`collectors.${name}`))))),
      h("tbody", {}, answer.sources.map((source) => h("tr", {},
        h("td", {}, source.name), h("td", {}, formatTime(source.last_event)),
        h("td", { class: "number" }, source.events_per_second.toFixed(1)),
        h("td", { class: "number" }, source.received), h("td", { class: "number" }, source.parsed),
        h("td", { class: "number" }, source.dead_letters), h("td", { class: "number" }, source.dropped))))),
  ));
}

// -- routing --------------------------------------------------------------------------------

function drawChrome() {
  document.documentElement.lang = state.lang;
  document.title = t("app.title");
  document.getElementById("brand").textContent = t("app.title");
  const nav = document.getElementById("nav");
  nav.hidden = !state.me;
  nav.replaceChildren(
    ...["incidents", "dashboard", "rules", "collectors"].map((page) =>
      h("a", { href: `#/${page}`, id: `nav-${page}`, class: location.hash.startsWith(`#/${page}`) ? "active" : "" }, t(`nav.${page}`))),
    h("span", { class: "who" }, state.me ? `${state.me.name} (${state.me.role})` : ""),
    h("button", { class: "link", id: "lang-switch", onclick: () => {
      state.lang = state.lang === "vi" ? "en" : "vi";
      localStorage.setItem(LANG_STORAGE, state.lang);
      route();
    } }, t("lang.switch")),
    h("button", { class: "link", id: "signout", onclick: signOut }, t("nav.signout")),
  );
}

async function route() {
  const [path] = location.hash.slice(1).split("?");
  if (!sessionStorage.getItem(KEY_STORAGE) || path === "/signin") {
    drawChrome();
    signInPage();
    return;
  }
  try {
    state.me ??= await api("/api/v1/me");
    drawChrome();
    if (path.startsWith("/incidents/")) await incidentPage(decodeURIComponent(path.slice("/incidents/".length)));
    else if (path === "/dashboard") await dashboardPage();
    else if (path === "/rules") await rulesPage();
    else if (path === "/collectors") await collectorsPage();
    else await queuePage();
  } catch (error) {
    if (error.status !== 401) reportError(error);
  }
}

window.addEventListener("hashchange", () => { notice(""); route(); });
route();
