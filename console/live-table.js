// The Live page's table, kept by hand instead of by preact, and windowed: every session is kept as data,
// but only the rows in view (plus a margin) exist in the page. With 10,000 sessions a change costs a
// little data work and, when its row is in view, two or three cells: never a re-render of the list.
// Every cell is set with textContent, so viewer-chosen strings (user agent, session name) stay text.
import { formatBytes, formatRate, formatTime } from "./format.js";
import { may } from "./api.js";
import { userHref } from "./user.js";

const COLUMNS = ["channel", "user", "ip", "protocol", "player", "started", "bytes", "rate", "actions"];
/** Each cell's label on a phone, where a row folds into a card. */
const LABELS = {
  channel: "Channel",
  user: "User",
  ip: "IP",
  protocol: "Protocol",
  player: "Player",
  started: "Started",
  bytes: "Bytes",
  rate: "Rate",
  actions: "",
};
/** Rows rendered above and below the visible ones, so a fast scroll does not show blanks. */
const OVERSCAN = 20;

/** A blank row to clone: cloning one template is much faster than building each cell. */
function rowTemplate() {
  const tr = document.createElement("tr");
  for (const column of COLUMNS) {
    const td = document.createElement("td");
    td.className = `col-${column}`;
    td.dataset.label = LABELS[column];
    tr.append(td);
  }
  // The user opens the user's page; a session without a user shows a dash instead.
  tr.children[1].append(document.createElement("a"));
  const actions = tr.lastChild;
  // A look-only role gets no buttons: the API would refuse them (403) anyway.
  if (!may("operator")) return tr;
  for (const [action, label] of [
    ["close", "Close"],
    ["close-user", "Close user's"],
  ]) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "small";
    button.dataset.action = action;
    button.textContent = label;
    actions.append(button);
  }
  return tr;
}

export class LiveTable {
  /** @param {HTMLTableSectionElement} tbody inside a scrolling `viewport` element */
  constructor(tbody, viewport, onChange) {
    this.tbody = tbody;
    this.viewport = viewport;
    this.onChange = onChange;
    this.rows = new Map(); // id → { session, lastBytes, lastAt, rate }
    this.order = []; // ids of the sessions that pass the filter, oldest first
    this.filter = { channel: "", user: "", ip: "", protocol: "" };
    this.template = rowTemplate();
    this.pool = []; // the <tr> elements in the page, in order
    this.rowHeight = 0;
    this.scheduled = false;
    this.onScroll = () => this.#schedule();
    this.onResize = () => {
      this.rowHeight = 0;
      this.#schedule();
    };
    // The box scrolls on a desktop; on a phone the page does (style.css): either moves the window of rows.
    viewport.addEventListener("scroll", this.onScroll, { passive: true });
    window.addEventListener("scroll", this.onScroll, { passive: true });
    window.addEventListener("resize", this.onResize);
  }

  /** Replaces everything (the stream's first message, or after a reconnect). */
  load(sessions, at) {
    this.rows.clear();
    for (const session of sessions) this.rows.set(session.id, { session, lastBytes: session.bytesOut, lastAt: at, rate: undefined });
    this.#refilter();
    this.render();
  }

  /** A session opened or started playing: add it, or take its new fields. */
  upsert(session, at) {
    const row = this.rows.get(session.id);
    if (row === undefined) {
      this.rows.set(session.id, { session, lastBytes: session.bytesOut, lastAt: at, rate: undefined });
      if (this.#matches(session)) this.order.push(session.id);
    } else {
      row.session = session;
      const listed = this.order.indexOf(session.id) >= 0;
      if (listed !== this.#matches(session)) this.#refilter();
    }
    this.#changed();
  }

  remove(id) {
    if (!this.rows.delete(id)) return;
    const index = this.order.indexOf(id);
    if (index >= 0) this.order.splice(index, 1);
    this.#changed();
  }

  /** New byte counters: data for every session, cells only for the rows in view. */
  bytes(pairs, at) {
    for (const [id, bytes] of pairs) {
      const row = this.rows.get(id);
      if (row === undefined) continue;
      const seconds = (at - row.lastAt) / 1000;
      if (seconds > 0) row.rate = (bytes - row.lastBytes) / seconds;
      row.lastBytes = bytes;
      row.lastAt = at;
      row.session.bytesOut = bytes;
    }
    for (const tr of this.pool) {
      const row = this.rows.get(tr.dataset.id);
      if (row === undefined) continue;
      tr.children[6].textContent = formatBytes(row.session.bytesOut);
      tr.children[7].textContent = formatRate(row.rate);
    }
  }

  setFilter(filter) {
    this.filter = filter;
    this.#refilter();
    this.#changed();
  }

  /** Stops following the page's scroll and size (the page is left). */
  detach() {
    window.removeEventListener("scroll", this.onScroll);
    window.removeEventListener("resize", this.onResize);
  }

  get shown() {
    return this.order.length;
  }

  /** Puts the rows in view into the page, reusing the <tr> already there. */
  render() {
    const start = performance.now();
    this.scheduled = false;
    const rowHeight = this.rowHeight || 36;
    // What of the list is in sight: the part of the rows' box inside both the scrolling box and the window.
    const rows = this.tbody.getBoundingClientRect();
    const box = this.viewport.getBoundingClientRect();
    const top = Math.max(box.top, 0);
    const bottom = Math.max(top, Math.min(box.bottom, window.innerHeight));
    const first = Math.max(0, Math.floor((top - rows.top) / rowHeight) - OVERSCAN);
    const visible = Math.ceil((bottom - top) / rowHeight) + 2 * OVERSCAN;
    const ids = this.order.slice(first, first + visible);
    while (this.pool.length < ids.length) this.pool.push(this.template.cloneNode(true));
    while (this.pool.length > ids.length) this.pool.pop().remove();
    ids.forEach((id, i) => this.#fill(this.pool[i], this.rows.get(id)));
    if (this.tbody.childElementCount !== this.pool.length || this.pool.some((tr, i) => this.tbody.children[i] !== tr))
      this.tbody.replaceChildren(...this.pool);
    // Space for the rows not in the page, so the scroll bar is the whole list's.
    this.tbody.style.paddingTop = `${first * rowHeight}px`;
    this.tbody.style.paddingBottom = `${Math.max(0, this.order.length - first - ids.length) * rowHeight}px`;
    if (this.rowHeight === 0 && this.pool.length > 0) {
      this.rowHeight = this.pool[0].offsetHeight || 36;
      if (this.rowHeight !== rowHeight) this.#schedule();
    }
    this.onChange();
    performance.measure("live:render", { start, end: performance.now() });
  }

  #changed() {
    this.#schedule();
  }

  #schedule() {
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => this.render());
  }

  #refilter() {
    this.order = [];
    for (const [id, row] of this.rows) if (this.#matches(row.session)) this.order.push(id);
  }

  #fill(tr, row) {
    const s = row.session;
    if (tr.dataset.id === s.id && tr.dataset.state === s.state) {
      // The same session as last frame: only what moves.
      tr.children[6].textContent = formatBytes(s.bytesOut);
      tr.children[7].textContent = formatRate(row.rate);
      return;
    }
    tr.dataset.id = s.id;
    tr.dataset.state = s.state;
    const c = tr.children;
    c[0].textContent = `${s.app}/${s.channel}`;
    const user = s.userId ?? s.name;
    const link = c[1].firstChild;
    link.textContent = user ?? "—";
    if (user === undefined) link.removeAttribute("href");
    else link.href = userHref(user);
    c[2].textContent = s.ip;
    c[3].textContent = s.protocol;
    c[4].textContent = s.userAgent;
    c[4].title = s.userAgent;
    c[5].textContent = formatTime(s.playingSince ?? s.startedAt);
    c[6].textContent = formatBytes(s.bytesOut);
    c[7].textContent = formatRate(row.rate);
    tr.classList.toggle("checking", s.state === "checking");
    // No buttons for a look-only role (rowTemplate).
    if (c[8].lastChild !== null) c[8].lastChild.hidden = s.userId === undefined && s.name === undefined;
  }

  #matches(s) {
    const f = this.filter;
    const has = (value, wanted) => wanted === "" || (value ?? "").toLowerCase().includes(wanted.toLowerCase());
    return (
      has(`${s.app}/${s.channel}`, f.channel) &&
      (has(s.userId, f.user) || (f.user !== "" && has(s.name, f.user))) &&
      has(s.ip, f.ip) &&
      (f.protocol === "" || s.protocol === f.protocol)
    );
  }
}
