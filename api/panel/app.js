// The IOC security panel: a page per hash route, drawn from the /api/v1 answers.
// Nothing to build: plain ES modules served as they are. Every text from the API goes
// into the page through textContent (never innerHTML), so event data cannot inject markup.
// Lists are paged by the server (keyset cursors): the panel never loads a whole list.
import { MESSAGES } from "./i18n.js";

const KEY_STORAGE = "canhgac.key"; // sessionStorage: gone when the browser session ends
const LANG_STORAGE = "canhgac.lang";
const PAGE_SIZE = 50;
const SEVERITIES = ["critical", "high", "medium", "low", "informational"];
const STATUSES = ["new", "acknowledged", "resolved", "false_positive", "merged"];
const SORTS = ["last_seen", "first_seen", "severity", "alert_count"];
const EXCEPTION_MATCHES = ["equals", "contains", "cidr"];

const state = {
  lang: localStorage.getItem(LANG_STORAGE) === "en" ? "en" : "vi",
  me: null,
  stream: null,
  route: 0, // counts page changes: a page still loading when the analyst left draws nothing
};

// -- words, numbers, times, elements ---------------------------------------------------

function t(key, values = {}) {
  const text = MESSAGES[state.lang][key] ?? MESSAGES.vi[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
}

// The translation when there is one, else the API's own word (new fields, new actions).
function tOr(key, fallback) {
  return MESSAGES[state.lang][key] ?? MESSAGES.vi[key] ?? fallback;
}

function locale() {
  return state.lang === "vi" ? "vi-VN" : "en-GB";
}

function formatNumber(value) {
  if (value === null || value === undefined) return "—";
  return new Intl.NumberFormat(locale()).format(value);
}

function timeZone() {
  return state.me?.timezone ?? "Asia/Ho_Chi_Minh";
}

function formatTime(iso) {
  if (!iso) return "—";
  return new Intl.DateTimeFormat(locale(), {
    timeZone: timeZone(),
    year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
  }).format(new Date(iso));
}

// How far the panel's zone is ahead of UTC at the instant `ms` (whole seconds).
function zoneOffsetMs(ms) {
  const parts = Object.fromEntries(new Intl.DateTimeFormat("en-US", {
    timeZone: timeZone(), hourCycle: "h23",
    year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", second: "numeric",
  }).formatToParts(new Date(ms)).map((part) => [part.type, part.value]));
  const asUtc = Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour, +parts.minute, +parts.second);
  return asUtc - Math.floor(ms / 1000) * 1000;
}

// The start of day `day` (YYYY-MM-DD) plus `plusDays` in the panel's zone, as ISO-8601 UTC:
// a date the analyst picks means that day where the SOC is, not in the browser's zone.
function zoneMidnight(day, plusDays = 0) {
  const [year, month, date] = day.split("-").map(Number);
  const guess = Date.UTC(year, month - 1, date + plusDays);
  let instant = guess - zoneOffsetMs(guess);
  instant = guess - zoneOffsetMs(instant); // right across a daylight-saving change too
  return new Date(instant).toISOString();
}

function timeElement(iso) {
  return h("time", { datetime: iso ?? null }, formatTime(iso));
}

function formatDuration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 90) return `${formatNumber(Math.round(seconds))} ${t("unit.seconds")}`;
  if (seconds < 5400) return `${formatNumber(Math.round(seconds / 60))} ${t("unit.minutes")}`;
  return `${formatNumber(Math.round(seconds / 360) / 10)} ${t("unit.hours")}`;
}

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name === "value") node.value = String(value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// A form field with its visible label, tied by id (screen readers, and clicking the label).
let fieldCount = 0;
function labelled(text, control, { className = "field" } = {}) {
  if (!control.id) control.id = `field-${++fieldCount}`;
  return h("span", { class: className }, h("label", { for: control.id }, text), control);
}

function severityBadge(severity) {
  if (!severity) return h("span", { class: "badge severity-none" }, "—");
  return h("span", { class: `badge severity-${severity}` }, t(`severity.${severity}`));
}

function statusBadge(status) {
  return h("span", { class: `badge status-${status}` }, t(`status.${status}`));
}

// What the key may do; the API checks it again on every request.
function canTriage() {
  return state.me?.role === "analyst" || state.me?.role === "admin";
}

function canAdministerRules() {
  return state.me?.role === "admin" && (state.me.organizations ?? []).length === 0;
}

function main() {
  return document.getElementById("main");
}

// A new page: its heading takes the focus, so keyboard and screen-reader users start there.
function show(...nodes) {
  main().replaceChildren(...nodes);
  const heading = main().querySelector("h1");
  if (heading && !main().contains(document.activeElement)) {
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: true });
  }
}

function notice(text, kind = "info") {
  const box = document.getElementById("notice");
  box.className = `notice ${kind}`;
  box.setAttribute("role", kind === "error" ? "alert" : "status");
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

function authHeaders() {
  return { Authorization: `Bearer ${sessionStorage.getItem(KEY_STORAGE) ?? ""}` };
}

// FastAPI's validation errors are a list of {loc, msg}; every other error a string.
function errorDetail(payload, fallback) {
  const detail = payload?.detail;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) return detail.map((item) => item.msg ?? JSON.stringify(item)).join("; ");
  return fallback;
}

async function api(path, { method = "GET", body = null, signal = null } = {}) {
  const headers = authHeaders();
  if (body !== null) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method, headers, signal, body: body === null ? null : JSON.stringify(body),
  });
  if (response.status === 401) {
    signOut();
    throw new ApiError(401, t("signin.invalid"));
  }
  const text = response.status === 204 ? "" : await response.text();
  let payload = null;
  try {
    payload = text ? JSON.parse(text) : null;
  } catch {
    payload = null;
  }
  if (!response.ok) {
    if (response.status === 403) throw new ApiError(403, t("error.forbidden"));
    throw new ApiError(response.status, errorDetail(payload, `HTTP ${response.status}`));
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
        const headers = authHeaders();
        if (lastEventId) headers["Last-Event-ID"] = lastEventId;
        const response = await fetch("/api/v1/stream", { headers, signal: controller.signal });
        if (response.status === 401) { signOut(); return; }
        if (!response.ok || !response.body) throw new Error(`stream answered ${response.status}`);
        onStatus(true);
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value.replace(/\r\n?/g, "\n");
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
  if (location.hash === "#/signin") route();
  else location.hash = "#/signin";
}

function signInPage() {
  const input = h("input", { id: "api-key", type: "password", autocomplete: "off", required: true,
    "aria-describedby": "api-key-help" });
  const form = h("form", { class: "card signin", onsubmit: async (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY_STORAGE, input.value.trim());
    try {
      state.me = await api("/api/v1/me");
      notice("");
      location.hash = "#/incidents";
    } catch (error) {
      sessionStorage.removeItem(KEY_STORAGE);
      notice(error.status === 401 || error.status === 403 ? t("signin.invalid") : t("error.generic", { detail: error.message }), "error");
      input.focus();
    }
  } },
    h("h1", {}, t("signin.title")),
    h("label", { for: "api-key" }, t("signin.key")), input,
    h("p", { class: "hint", id: "api-key-help" }, t("signin.help")),
    h("button", { type: "submit", id: "signin-submit" }, t("signin.submit")),
  );
  show(form);
  input.focus();
}

// -- the incident queue -------------------------------------------------------------------

function queueFilters() {
  return new URLSearchParams(location.hash.split("?")[1] ?? "");
}

function selectFor(name, values, labelPrefix, selected, anyLabel = t("filter.any")) {
  return h("select", { name, id: `filter-${name}` },
    anyLabel === null ? null : h("option", { value: "" }, anyLabel),
    values.map((value) => h("option", { value, selected: value === selected }, t(`${labelPrefix}.${value}`))),
  );
}

function incidentLink(incident) {
  return h("a", { href: `#/incidents/${encodeURIComponent(incident.id)}`, class: "incident-link" }, incident.title);
}

function incidentRow(incident) {
  return h("tr", { dataset: { id: incident.id }, class: "incident-row",
    // The whole row opens the incident; the title is the link keyboards reach.
    onclick: (event) => {
      if (event.target.closest("a")) return;
      location.hash = `#/incidents/${encodeURIComponent(incident.id)}`;
    } },
    h("td", {}, severityBadge(incident.severity)),
    h("td", { class: "title" }, incidentLink(incident)),
    h("td", { class: "mono" }, incident.entity_value ?? "—"),
    h("td", {}, incident.system ?? "—"),
    h("td", {}, incident.organization ?? "—"),
    h("td", { class: "number" }, formatNumber(incident.alert_count)),
    h("td", { class: "time" }, timeElement(incident.last_seen)),
    h("td", {}, statusBadge(incident.status)),
    h("td", {}, incident.assignee ?? "—"),
  );
}

async function queuePage() {
  const token = state.route;
  const filters = queueFilters();
  const textInput = (name, type = "text") => h("input", { name, id: `filter-${name}`, type, value: filters.get(name) ?? "" });
  const form = h("form", { class: "filters", role: "search", onsubmit: (event) => {
    event.preventDefault();
    const data = new URLSearchParams();
    for (const [name, value] of new FormData(form)) if (value) data.set(name, value);
    location.hash = `#/incidents?${data}`;
  } },
    labelled(t("filter.status"), selectFor("status", STATUSES, "status", filters.get("status"))),
    labelled(t("filter.severity"), selectFor("severity", SEVERITIES, "severity", filters.get("severity"))),
    labelled(t("filter.system"), textInput("system")),
    labelled(t("filter.organization"), textInput("organization")),
    labelled(t("filter.entity"), textInput("entity")),
    labelled(t("filter.text"), textInput("q", "search")),
    labelled(t("filter.since"), textInput("since", "date")),
    labelled(t("filter.until"), textInput("until", "date")),
    labelled(t("filter.sort"), selectFor("sort", SORTS, "sort", filters.get("sort") ?? "last_seen", null)),
    filters.get("rule") ? h("input", { type: "hidden", name: "rule", value: filters.get("rule") }) : null,
    h("button", { type: "submit" }, t("filter.apply")),
    h("a", { href: "#/incidents", class: "reset" }, t("filter.reset")),
  );
  const live = h("span", { id: "live-status", class: "live", role: "status" }, "");
  const total = h("span", { id: "queue-total" }, "");
  const shown = h("span", { id: "queue-shown", class: "hint" }, "");
  const fresh = h("button", { id: "queue-fresh", class: "secondary", hidden: true }, "");
  const body = h("tbody", { id: "incident-rows" });
  const more = h("button", { id: "queue-more", class: "secondary", hidden: true }, t("queue.more", { n: PAGE_SIZE }));
  const table = h("table", { class: "incidents" },
    h("caption", { class: "visually-hidden" }, t("queue.caption")),
    h("thead", {}, h("tr", {},
      ["severity", "title", "entity", "system", "organization", "alerts", "last_seen", "status", "assignee"]
        .map((name) => h("th", { scope: "col" }, t(`col.${name}`))))),
    body);
  let cursor = null;
  let pages = 0;
  let unseen = 0;
  let totalCount = 0;
  let totalAtLeast = false; // the API counted up to its cap: more incidents match
  // The API's filters: days become instants (since: last seen from that day's start;
  // until: first seen before the next day's start, so the day itself is included).
  const apiFilters = () => {
    const params = new URLSearchParams(filters);
    if (filters.get("since")) params.set("since", zoneMidnight(filters.get("since")));
    if (filters.get("until")) params.set("until", zoneMidnight(filters.get("until"), 1));
    return params;
  };
  const query = () => {
    const params = apiFilters();
    params.set("limit", String(PAGE_SIZE));
    return params;
  };
  const exportFormat = h("select", { id: "export-format" },
    ["csv", "json", "stix"].map((name) => h("option", { value: name }, t(`export.${name}`))));
  const exportButton = h("button", { type: "button", id: "export-run", class: "secondary" }, t("export.run"));
  exportButton.addEventListener("click", async () => {
    // A download needs the key in a header, so the file is fetched and handed over as a blob.
    const params = apiFilters();
    params.delete("sort");
    params.set("format", exportFormat.value);
    exportButton.disabled = true;
    try {
      const response = await fetch(`/api/v1/exports/incidents?${params}`, { headers: authHeaders() });
      if (!response.ok) throw new ApiError(response.status, errorDetail(await response.json().catch(() => null), `HTTP ${response.status}`));
      const name = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") ?? "")?.[1] ?? `canhgac-incidents.${exportFormat.value}`;
      const link = h("a", { href: URL.createObjectURL(await response.blob()), download: name, hidden: true });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
    } catch (error) {
      reportError(error);
    } finally {
      exportButton.disabled = false;
    }
  });
  show(h("section", { class: "queue" },
    h("h1", { class: "visually-hidden" }, t("nav.incidents")),
    form, h("div", { class: "toolbar" }, total, shown, fresh, live,
      h("span", { class: "export" }, labelled(t("export.format"), exportFormat), exportButton)),
    table, h("div", { class: "pager" }, more)));

  const counts = () => {
    total.textContent = t(totalAtLeast ? "queue.total_more" : "queue.total", { n: formatNumber(totalCount) });
    shown.textContent = t("queue.shown", { n: formatNumber(body.querySelectorAll("tr.incident-row").length) });
    more.hidden = !cursor;
  };
  const loadFirst = async () => {
    const page = await api(`/api/v1/incidents?${query()}`);
    body.replaceChildren(...page.items.map(incidentRow));
    if (page.items.length === 0) body.append(h("tr", {}, h("td", { colspan: 9, class: "empty" }, t("queue.empty"))));
    totalCount = page.total;
    totalAtLeast = page.total_relation === "gte";
    cursor = page.next_cursor;
    pages = 1;
    unseen = 0;
    fresh.hidden = true;
    counts();
  };
  more.addEventListener("click", async () => {
    const params = query();
    params.set("cursor", cursor);
    more.disabled = true;
    try {
      const page = await api(`/api/v1/incidents?${params}`);
      body.append(...page.items.map(incidentRow));
      cursor = page.next_cursor;
      pages += 1;
      counts();
    } catch (error) {
      reportError(error);
    } finally {
      more.disabled = false;
    }
  });
  fresh.addEventListener("click", () => loadFirst().catch(reportError));
  await loadFirst();

  // Live: a row on screen is redrawn in place; new incidents redraw the first page (once
  // per burst), unless the analyst has paged further: then a button offers them.
  const offer = (count) => {
    unseen += count;
    fresh.textContent = t("queue.fresh", { n: formatNumber(unseen) });
    fresh.hidden = false;
  };
  // At most one reload a second, however busy the stream: a steady flow must not starve it.
  let pending = null;
  const flashes = new Map(); // incident id -> whether it is a new one
  const reloadSoon = (id = null, created = false) => {
    if (id) flashes.set(id, created || flashes.get(id) === true);
    if (pending) return;
    pending = setTimeout(() => {
      pending = null;
      if (token !== state.route) return;
      const ids = [...flashes.keys()];
      const created = [...flashes.values()].filter(Boolean).length;
      flashes.clear();
      if (pages > 1) { // the analyst paged on meanwhile: offer, do not pull the list away
        if (created) offer(created);
        return;
      }
      loadFirst().then(() => {
        for (const changed of ids) body.querySelector(`tr[data-id="${CSS.escape(changed)}"]`)?.classList.add("flash");
      }).catch(reportError);
    }, 1000);
  };
  if (token !== state.route) return; // the analyst went elsewhere while the page loaded
  startStream((kind, incident) => {
    if (!kind.startsWith("incident.")) return;
    const row = body.querySelector(`tr[data-id="${CSS.escape(incident.id)}"]`);
    if (row && pages > 1) {
      const redrawn = incidentRow(incident);
      redrawn.classList.add("flash");
      row.replaceWith(redrawn);
      return;
    }
    if (pages > 1) {
      if (kind === "incident.created") offer(1);
      return;
    }
    reloadSoon(incident.id, kind === "incident.created");
  }, (connected) => {
    // What changed before the stream (re)connected is not in it: read the first page again.
    if (connected && pages === 1) reloadSoon();
    live.textContent = connected ? `● ${t("queue.live")}` : t("queue.offline");
    live.className = connected ? "live on" : "live off";
  });
}

// -- an incident ------------------------------------------------------------------------

// Status and severity values read as the panel names them, elsewhere as they are.
function auditValue(field, value) {
  if (value === null || value === undefined || value === "") return "—";
  if (field === "status") return t(`status.${value}`);
  if (field === "severity") return t(`severity.${value}`);
  return value;
}

function historyLine(entry) {
  let what;
  if (entry.action === "comment") what = [h("span", { class: "action" }, `${t("history.comment")}: `), h("q", {}, entry.new_value ?? "")];
  else if (entry.field) {
    what = t("history.set", {
      field: tOr(`history.field.${entry.field}`, entry.field),
      old: auditValue(entry.field, entry.old_value),
      new: auditValue(entry.field, entry.new_value),
    });
  } else what = [tOr(`history.action.${entry.action}`, entry.action), entry.new_value ? ` ${entry.new_value}` : ""];
  return h("li", { class: "history-entry" },
    timeElement(entry.at), " ",
    h("strong", { class: "actor" }, entry.actor), " ", what,
    entry.reason ? h("span", { class: "reason" }, ` — ${t("history.reason")}: ${entry.reason}`) : null);
}

async function incidentPage(id) {
  stopStream();
  const token = state.route;
  const incident = await api(`/api/v1/incidents/${encodeURIComponent(id)}`);
  if (token !== state.route) return; // the analyst went elsewhere while it loaded
  const path = `/api/v1/incidents/${encodeURIComponent(id)}`;
  const redraw = async (focusId) => {
    await incidentPage(id);
    document.getElementById(focusId)?.focus();
  };
  const act = async (change, button) => {
    button.disabled = true;
    stopStream(); // this page redraws itself after the change: no echo from the stream
    try {
      await api(path, { method: "PATCH", body: change });
      notice(t("action.done"));
      await redraw(button.id);
    } catch (error) {
      button.disabled = false;
      reportError(error);
    }
  };
  const isOpen = incident.status === "new" || incident.status === "acknowledged";
  const reason = h("input", { id: "action-reason", maxlength: 2000 });
  const assignee = h("input", { id: "action-assignee", maxlength: 200, value: incident.assignee ?? "" });
  const comment = h("textarea", { id: "comment-text", rows: 2, maxlength: 10000 });
  const button = (buttonId, label, onClick, { secondary = false, disabled = false } = {}) => {
    const node = h("button", { id: buttonId, type: "button", class: secondary ? "secondary" : null, disabled });
    node.textContent = label;
    node.addEventListener("click", () => onClick(node));
    return node;
  };
  const actions = h("div", { class: "actions card" },
    h("h2", { class: "visually-hidden" }, t("detail.actions")),
    h("div", { class: "row" },
      button("act-acknowledge", t("action.acknowledge"),
        (node) => act({ status: "acknowledged", reason: reason.value.trim() || null }, node),
        { disabled: incident.status !== "new" }),
      button("act-resolve", t("action.resolve"),
        (node) => act({ status: "resolved", reason: reason.value.trim() || null }, node),
        { disabled: !isOpen }),
      button("act-false-positive", t("action.false_positive"), (node) => {
        if (!reason.value.trim()) { notice(t("action.reason_required"), "error"); reason.focus(); return; }
        act({ status: "false_positive", reason: reason.value.trim() }, node);
      }, { secondary: true, disabled: !isOpen }),
      isOpen || incident.status === "merged" ? null : button("act-reopen", t("action.reopen"),
        (node) => act({ status: "acknowledged", reason: reason.value.trim() || null }, node), { secondary: true }),
      labelled(t("action.reason"), reason),
    ),
    h("div", { class: "row" },
      labelled(t("action.assign_to"), assignee),
      button("act-assign", t("action.assign"),
        (node) => act({ assignee: assignee.value.trim() || null, reason: reason.value.trim() || null }, node),
        { secondary: true }),
    ),
  );
  const commentForm = h("form", { class: "comment", onsubmit: async (event) => {
    event.preventDefault();
    const text = comment.value.trim();
    if (!text) { comment.focus(); return; }
    stopStream();
    try {
      await api(`${path}/comments`, { method: "POST", body: { text } });
      notice(t("action.done"));
      await redraw("comment-text");
    } catch (error) {
      reportError(error);
    }
  } }, labelled(t("action.comment_label"), comment, { className: "field wide" }),
    h("button", { type: "submit", id: "act-comment" }, t("action.comment")));

  const timeline = h("ol", { class: "timeline" }, incident.alerts.map((alert) =>
    h("li", {}, timeElement(alert.timestamp), " ", severityBadge(alert.severity), " ",
      alert.rule_title, " ",
      h("span", { class: "entities" }, Object.entries(alert.entities).map(([k, v]) => `${k}=${v}`).join(" ")))));
  const evidence = h("div", { class: "evidence" },
    incident.events.length ? null : h("p", { class: "hint" }, t("detail.no_evidence")),
    incident.events.map((event) =>
      h("details", {}, h("summary", {}, timeElement(event["@timestamp"]), " ",
        event.event?.original ?? event.message ?? event.event?.id ?? ""),
      h("pre", {}, JSON.stringify(event, null, 2)))),
    incident.events_truncated ? h("p", { class: "hint" }, t("detail.evidence_truncated", { n: incident.events.length })) : null);
  const queueLink = (name, value, text = value) => h("a", { href: `#/incidents?${new URLSearchParams({ [name]: value })}`,
    title: t("detail.same", { what: value }) }, text);

  show(h("section", { class: "incident" },
    h("a", { href: "#/incidents" }, t("detail.back")),
    h("h1", { id: "incident-title" }, severityBadge(incident.severity), " ", incident.title),
    incident.merged_into ? h("p", { class: "card" }, t("detail.merged_into"), " ",
      h("a", { href: `#/incidents/${encodeURIComponent(incident.merged_into)}` }, incident.merged_into)) : null,
    h("dl", { class: "facts card" },
      h("dt", {}, t("col.status")), h("dd", { id: "incident-status" }, statusBadge(incident.status)),
      h("dt", {}, t("col.assignee")), h("dd", { id: "incident-assignee" }, incident.assignee ?? "—"),
      h("dt", {}, t("detail.rule")), h("dd", {}, queueLink("rule", incident.rule_id, incident.rule_title), " ", h("span", { class: "hint mono" }, incident.rule_id)),
      h("dt", {}, t("col.entity")), h("dd", { class: "mono" }, incident.entity_value
        ? [`${incident.entity_field ?? ""} `, queueLink("entity", incident.entity_value)] : "—"),
      h("dt", {}, t("col.system")), h("dd", {}, incident.system ?? "—"),
      h("dt", {}, t("col.organization")), h("dd", {}, incident.organization ?? "—"),
      h("dt", {}, t("col.alerts")), h("dd", {}, formatNumber(incident.alert_count)),
      h("dt", {}, t("detail.first_seen")), h("dd", {}, timeElement(incident.first_seen)),
      h("dt", {}, t("col.last_seen")), h("dd", {}, timeElement(incident.last_seen)),
    ),
    canTriage() ? actions : null, canTriage() ? commentForm : null,
    h("h2", {}, t("detail.timeline")), timeline,
    h("h2", {}, t("detail.evidence")), evidence,
    h("h2", {}, t("detail.history")),
    incident.history.length ? null : h("p", { class: "hint" }, t("detail.no_history")),
    h("ol", { id: "history", class: "history" }, incident.history.map(historyLine)),
  ));

  // Another analyst's change, or new alerts: redraw, unless this analyst is typing.
  startStream((kind, changed) => {
    if (changed.id !== incident.id || changed.updated_at === incident.updated_at) return;
    if (comment.value.trim() || reason.value.trim() || document.activeElement === assignee) {
      notice(t("detail.changed_elsewhere"));
      return;
    }
    incidentPage(id).catch(reportError);
  }, () => {});
}

// -- the dashboard ------------------------------------------------------------------------

function barChart(series, label, { width = 720, height = 160 } = {}) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("preserveAspectRatio", "none"); // the bars span the card's whole width
  svg.setAttribute("class", "chart");
  svg.setAttribute("role", "img");
  const peak = Math.max(1, ...series.map((point) => point.count));
  const sum = series.reduce((acc, point) => acc + point.count, 0);
  svg.setAttribute("aria-label", t("dashboard.chart_label", { what: label, n: formatNumber(sum), peak: formatNumber(peak) }));
  const step = width / Math.max(1, series.length);
  series.forEach((point, index) => {
    const bar = document.createElementNS(ns, "rect");
    const barHeight = (point.count / peak) * (height - 20);
    bar.setAttribute("x", String(index * step + 1));
    bar.setAttribute("y", String(height - barHeight));
    bar.setAttribute("width", String(Math.max(1, step - 2)));
    bar.setAttribute("height", String(barHeight));
    const title = document.createElementNS(ns, "title");
    title.textContent = `${formatTime(point.start)}: ${formatNumber(point.count)}`;
    bar.append(title);
    svg.append(bar);
  });
  if (series.length === 0) return svg;
  const axis = h("div", { class: "axis" },
    timeElement(series[0].start),
    h("span", {}, t("dashboard.peak", { n: formatNumber(peak) })),
    timeElement(series[series.length - 1].start));
  return h("figure", { class: "chart-box" }, svg, axis);
}

function countTable(id, title, rows, label) {
  return h("div", { class: "card", id },
    h("h2", {}, title),
    rows.length === 0 ? h("p", { class: "hint" }, t("dashboard.none")) :
      h("table", { class: "counts" }, h("tbody", {}, rows.map((row) =>
        h("tr", {}, h("td", {}, label(row)), h("td", { class: "number" }, formatNumber(row.count)))))));
}

async function dashboardPage() {
  stopStream();
  const token = state.route;
  const stats = await api("/api/v1/stats");
  if (token !== state.route) return; // left while it loaded
  const orNone = (row) => row.key ?? t("dashboard.unknown");
  show(h("section", { class: "dashboard" },
    h("h1", { class: "visually-hidden" }, t("nav.dashboard")),
    h("div", { class: "figures" },
      h("div", { class: "card figure" }, h("span", {}, t("dashboard.open")), h("strong", { id: "open-count" }, formatNumber(stats.open))),
      h("div", { class: "card figure" }, h("span", {}, t("dashboard.total")), h("strong", { id: "total-count" }, formatNumber(stats.total))),
      h("div", { class: "card figure" }, h("span", {}, t("dashboard.mtta")), h("strong", {}, formatDuration(stats.mean_time_to_acknowledge_seconds))),
      h("div", { class: "card figure" }, h("span", {}, t("dashboard.mttr")), h("strong", {}, formatDuration(stats.mean_time_to_resolve_seconds))),
    ),
    h("div", { class: "card" }, h("h2", {}, t("dashboard.trend")), barChart(stats.by_hour, t("dashboard.trend"))),
    h("div", { class: "card" }, h("h2", {}, t("dashboard.trend_days")), barChart(stats.by_day, t("dashboard.trend_days"))),
    h("div", { class: "grid" },
      countTable("by-severity", t("dashboard.by_severity"), stats.by_severity, (row) => severityBadge(row.key)),
      countTable("by-status", t("dashboard.by_status"), stats.by_status, (row) => (row.key ? statusBadge(row.key) : "—")),
      countTable("top-rules", t("dashboard.top_rules"), stats.top_rules, orNone),
      countTable("top-sources", t("dashboard.top_sources"), stats.top_source_addresses, orNone),
      countTable("by-organization", t("dashboard.by_organization"), stats.by_organization, orNone),
      countTable("by-system", t("dashboard.by_system"), stats.by_system, orNone),
    ),
  ));
}

// -- rules (admin) ------------------------------------------------------------------------

function exceptionItem(rule, exception) {
  const remove = h("button", { type: "button", class: "link-button", onclick: async () => {
    try {
      await api(`/api/v1/rules/${encodeURIComponent(rule.id)}/exceptions/${encodeURIComponent(exception.id)}`, { method: "DELETE" });
      notice(t("action.done"));
      await rulesPage();
    } catch (error) { reportError(error); }
  } }, t("rules.exception_remove"));
  return h("li", { class: exception.active ? "" : "inactive" },
    h("span", { class: "mono" }, `${exception.field} ${t(`rules.match.${exception.match}`)} ${exception.value}`),
    ` — ${exception.reason} (${exception.added_by}, ${formatTime(exception.added_at)}`,
    exception.until ? `, ${t("rules.exception_until")} ${formatTime(exception.until)}` : "", ") ",
    remove);
}

function ruleRow(rule) {
  const toggle = h("button", { type: "button", class: rule.enabled ? "secondary" : "", onclick: async () => {
    try {
      await api(`/api/v1/rules/${encodeURIComponent(rule.id)}`, { method: "PATCH", body: { enabled: !rule.enabled } });
      notice(t("action.done"));
      await rulesPage();
    } catch (error) { reportError(error); }
  } }, rule.enabled ? t("rules.disable") : t("rules.enable"));
  const field = h("input", { required: true, maxlength: 200, placeholder: "source.ip" });
  const value = h("input", { required: true, maxlength: 2000 });
  const match = selectFor("match", EXCEPTION_MATCHES, "rules.match", "equals", null);
  match.removeAttribute("id");
  const why = h("input", { required: true, maxlength: 2000 });
  const until = h("input", { type: "date" });
  const hours = h("input", { type: "number", min: 1, max: 24 * 90, value: 24, class: "short", required: true });
  const result = h("span", { class: "backtest-result", role: "status" });
  const exceptionForm = h("form", { class: "stacked", onsubmit: async (event) => {
    event.preventDefault();
    // A date means the end of that day in the panel's zone; the offset of +07:00 is fixed.
    const body = { field: field.value.trim(), value: value.value.trim(), match: match.value, reason: why.value.trim() };
    if (until.value) body.until = `${until.value}T23:59:59+07:00`;
    try {
      await api(`/api/v1/rules/${encodeURIComponent(rule.id)}/exceptions`, { method: "POST", body });
      notice(t("action.done"));
      await rulesPage();
    } catch (error) { reportError(error); }
  } },
    labelled(t("rules.exception_field"), field), labelled(t("rules.exception_value"), value),
    labelled(t("rules.exception_match"), match), labelled(t("rules.exception_reason"), why),
    labelled(t("rules.exception_until"), until),
    h("button", { type: "submit" }, t("rules.exception_add")));
  const backtestForm = h("form", { class: "stacked", onsubmit: async (event) => {
    event.preventDefault();
    const untilNow = new Date();
    const since = new Date(untilNow.getTime() - Number(hours.value) * 3600 * 1000);
    result.textContent = t("rules.backtest_running");
    try {
      const answer = await api(`/api/v1/rules/${encodeURIComponent(rule.id)}/backtest`, { method: "POST",
        body: { since: since.toISOString(), until: untilNow.toISOString() } });
      result.textContent = t("rules.backtest_result", { n: formatNumber(answer.alerts.length) });
    } catch (error) {
      result.textContent = "";
      reportError(error);
    }
  } }, labelled(t("rules.backtest_hours"), hours), h("button", { type: "submit" }, t("rules.backtest_run")), result);
  const level = rule.effective_level ?? rule.level;
  return h("tr", { dataset: { id: rule.id } },
    h("td", {}, h("strong", {}, rule.title ?? rule.id), h("div", { class: "hint mono" }, rule.id),
      rule.note ? h("div", { class: "warning" }, rule.note) : null,
      rule.dead_fields?.length ? h("div", { class: "warning" }, `${t("rules.dead")}: ${rule.dead_fields.join(", ")}`) : null,
      rule.exceptions.length ? h("ul", { class: "exceptions" }, rule.exceptions.map((item) => exceptionItem(rule, item))) : null),
    h("td", {}, severityBadge(level),
      rule.level && level !== rule.level ? h("div", { class: "hint" }, `${t("rules.file_level")}: ${t(`severity.${rule.level}`)}`) : null),
    h("td", { class: "nowrap" }, rule.enabled ? t("rules.enabled") : t("rules.disabled")),
    h("td", { class: "number" }, formatNumber(rule.matches)),
    h("td", { class: "number" }, formatNumber(rule.routed_events)),
    h("td", { class: "number" }, formatNumber(rule.suppressed)),
    h("td", { class: "time" }, timeElement(rule.last_match)),
    canAdministerRules() ? h("td", { class: "rule-actions" }, toggle,
      h("details", {}, h("summary", {}, t("rules.exception")), exceptionForm),
      h("details", {}, h("summary", {}, t("rules.backtest")), backtestForm)) : null,
  );
}

async function rulesPage() {
  stopStream();
  const token = state.route;
  const rules = await api("/api/v1/rules");
  if (token !== state.route) return; // left while it loaded
  const skipped = (rules.skipped ?? []).map((item) =>
    h("li", {}, h("span", { class: "mono" }, item.path ?? item.rule_id ?? "—"), item.title ? ` (${item.title})` : "", `: ${item.reason ?? "—"}`));
  // The rules are the loaded set (hundreds at most), so narrowing them is done here.
  const body = h("tbody", {}, rules.items.map(ruleRow));
  const search = h("input", { type: "search", id: "rules-search", oninput: () => {
    const words = search.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    for (const row of body.rows) row.hidden = !words.every((word) => row.textContent.toLowerCase().includes(word));
  } });
  const enabled = rules.items.filter((rule) => rule.enabled).length;
  show(h("section", {},
    h("h1", { class: "visually-hidden" }, t("nav.rules")),
    rules.live ? null : h("p", { class: "notice" }, t("rules.not_live")),
    h("div", { class: "toolbar" }, labelled(t("rules.search"), search),
      h("span", { id: "rules-count" }, t("rules.count", { n: formatNumber(rules.items.length), enabled: formatNumber(enabled) }))),
    h("table", { class: "rules" },
      h("caption", { class: "visually-hidden" }, t("nav.rules")),
      h("thead", {}, h("tr", {},
        [t("rules.rule"), t("rules.level"), t("col.status"), t("rules.hits"), t("rules.routed"), t("rules.suppressed"), t("rules.last_match"),
          canAdministerRules() ? t("rules.actions") : null]
          .filter(Boolean).map((name) => h("th", { scope: "col" }, name)))),
      body),
    skipped.length ? h("div", { class: "card" }, h("h2", {}, `${t("rules.skipped")} (${formatNumber(skipped.length)})`), h("ul", {}, skipped)) : null,
  ));
}

// -- collectors ---------------------------------------------------------------------------

// The service's live figures, known ones in words and units; any newer field as it is.
function serviceFacts(service) {
  const known = {
    status: (value) => h("span", { class: `badge service-${value}` }, tOr(`collectors.status.${value}`, value)),
    uptime_seconds: (value) => formatDuration(value),
    queue_depth: (value) => (service.queue_capacity === null || service.queue_capacity === undefined
      ? formatNumber(value) : t("collectors.queue_of", { n: formatNumber(value), capacity: formatNumber(service.queue_capacity) })),
  };
  const hidden = new Set(["queue_capacity", "events_per_second"]);
  return h("dl", { class: "facts", id: "service-facts" }, Object.entries(service ?? {})
    .filter(([name]) => !hidden.has(name))
    .flatMap(([name, value]) => [
      h("dt", {}, tOr(`collectors.service.${name}`, name)),
      h("dd", {}, value === null || value === undefined ? "—"
        : known[name] ? known[name](value)
          : typeof value === "string" && /^\d{4}-\d\d-\d\dT/.test(value) ? timeElement(value)
            : typeof value === "number" ? formatNumber(value)
              : typeof value === "object" ? JSON.stringify(value) : String(value)),
    ]));
}

async function collectorsPage() {
  stopStream();
  const token = state.route;
  const answer = await api("/api/v1/collectors");
  if (token !== state.route) return; // left while it loaded
  const columns = ["source", "type", "last_event", "rate", "received", "parsed", "dead_letters", "dropped", "late", "duplicates"];
  const number = (value) => h("td", { class: "number" }, formatNumber(value));
  show(h("section", {},
    h("h1", { class: "visually-hidden" }, t("nav.collectors")),
    h("div", { class: "card" }, h("h2", {}, t("collectors.health")), serviceFacts(answer.service)),
    h("table", { class: "collectors" },
      h("caption", { class: "visually-hidden" }, t("nav.collectors")),
      h("thead", {}, h("tr", {}, columns.map((name) => h("th", { scope: "col" }, t(`collectors.${name}`))))),
      h("tbody", {}, answer.sources.length === 0
        ? h("tr", {}, h("td", { colspan: columns.length, class: "empty" }, t("collectors.none")))
        : answer.sources.map((source) => h("tr", { class: source.dropped || source.dead_letters ? "attention" : "" },
          h("td", {}, source.name), h("td", {}, source.type ?? "—"), h("td", { class: "time" }, timeElement(source.last_event)),
          h("td", { class: "number" }, source.events_per_second === null || source.events_per_second === undefined
            ? "—" : new Intl.NumberFormat(locale(), { maximumFractionDigits: 1 }).format(source.events_per_second)),
          number(source.received), number(source.parsed), number(source.dead_letters),
          number(source.dropped), number(source.late), number(source.duplicates))))),
  ));
}

// -- routing --------------------------------------------------------------------------------

function drawChrome() {
  document.documentElement.lang = state.lang;
  document.title = t("app.title");
  document.getElementById("brand").textContent = t("app.title");
  const nav = document.getElementById("nav");
  nav.hidden = false;
  nav.setAttribute("aria-label", t("nav.label"));
  const current = location.hash.slice(1).split("?")[0] || "/incidents";
  // The language can be switched before signing in; the pages only after.
  const language = h("button", { type: "button", class: "link", id: "lang-switch", lang: state.lang === "vi" ? "en" : "vi", onclick: () => {
    state.lang = state.lang === "vi" ? "en" : "vi";
    localStorage.setItem(LANG_STORAGE, state.lang);
    route();
  } }, t("lang.switch"));
  if (!state.me) {
    nav.replaceChildren(h("span", { class: "who" }), language);
    return;
  }
  nav.replaceChildren(
    ...["incidents", "dashboard", "rules", "collectors"].map((page) => {
      const active = current === `/${page}` || current.startsWith(`/${page}/`);
      return h("a", { href: `#/${page}`, id: `nav-${page}`, class: active ? "active" : "", "aria-current": active ? "page" : null }, t(`nav.${page}`));
    }),
    h("span", { class: "who" }, `${state.me.name} (${t(`role.${state.me.role}`)})`,
      state.me.organizations?.length ? h("span", { class: "scope" }, ` — ${state.me.organizations.join(", ")}`) : null),
    language,
    h("button", { type: "button", class: "link", id: "signout", onclick: signOut }, t("nav.signout")),
  );
}

async function route() {
  state.route += 1;
  const [path] = location.hash.slice(1).split("?");
  if (!sessionStorage.getItem(KEY_STORAGE) || path === "/signin") {
    state.me = null;
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
