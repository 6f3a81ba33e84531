// The Live page's table, kept by hand instead of by preact: with 10,000 sessions a change must touch
// only its own row (a new session adds one row, an ended one removes one, a byte counter changes two
// cells), never re-render the list. Every cell is set with textContent: viewer-chosen strings (user
// agent, session name) are text, whatever they contain.
import { formatBytes, formatRate, formatTime } from "./format.js";

const COLUMNS = ["channel", "user", "ip", "protocol", "player", "started", "bytes", "rate", "actions"];

/** A blank row to clone: cloning one template is much faster than building each cell. */
function rowTemplate() {
  const tr = document.createElement("tr");
  for (const column of COLUMNS) {
    const td = document.createElement("td");
    td.className = `col-${column}`;
    td.dataset.label = column;
    tr.append(td);
  }
  const actions = tr.lastChild;
  for (const [action, label] of [["close", "Close"], ["close-user", "Close user's"]]) {
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
  /** @param {HTMLTableSectionElement} tbody */
  constructor(tbody, onChange) {
    this.tbody = tbody;
    this.rows = new Map(); // id → { session, tr, cells, lastBytes, lastAt }
    this.filter = { channel: "", user: "", ip: "", protocol: "" };
    this.template = rowTemplate();
    this.onChange = onChange;
  }

  /** Replaces everything (the stream's first message, or after a reconnect). */
  load(sessions, at) {
    this.rows.clear();
    const fragment = document.createDocumentFragment();
    for (const session of sessions) fragment.append(this.#newRow(session, at));
    this.tbody.replaceChildren(fragment);
    this.onChange();
  }

  /** A session opened or started playing: add its row, or refresh the fields that changed. */
  upsert(session, at) {
    const row = this.rows.get(session.id);
    if (row === undefined) {
      this.tbody.append(this.#newRow(session, at));
      this.onChange();
      return;
    }
    row.session = session;
    this.#fill(row);
  }

  remove(id) {
    const row = this.rows.get(id);
    if (row === undefined) return;
    row.tr.remove();
    this.rows.delete(id);
    this.onChange();
  }

  /** New byte counters: only the bytes and rate cells of those rows change. */
  bytes(pairs, at) {
    for (const [id, bytes] of pairs) {
      const row = this.rows.get(id);
      if (row === undefined) continue;
      const seconds = (at - row.lastAt) / 1000;
      if (seconds > 0) row.cells.rate.textContent = formatRate((bytes - row.lastBytes) / seconds);
      row.lastBytes = bytes;
      row.lastAt = at;
      row.session.bytesOut = bytes;
      row.cells.bytes.textContent = formatBytes(bytes);
    }
  }

  setFilter(filter) {
    this.filter = filter;
    for (const row of this.rows.values()) row.tr.hidden = !this.#matches(row.session);
    this.onChange();
  }

  get shown() {
    let n = 0;
    for (const row of this.rows.values()) if (!row.tr.hidden) n++;
    return n;
  }

  #newRow(session, at) {
    const tr = this.template.cloneNode(true);
    tr.dataset.id = session.id;
    const cells = {};
    COLUMNS.forEach((column, i) => (cells[column] = tr.children[i]));
    const row = { session, tr, cells, lastBytes: session.bytesOut, lastAt: at };
    this.rows.set(session.id, row);
    this.#fill(row);
    return tr;
  }

  #fill(row) {
    const s = row.session;
    const c = row.cells;
    c.channel.textContent = `${s.app}/${s.channel}`;
    c.user.textContent = s.userId ?? s.name ?? "—";
    c.ip.textContent = s.ip;
    c.protocol.textContent = s.protocol;
    c.player.textContent = s.userAgent;
    c.player.title = s.userAgent;
    c.started.textContent = formatTime(s.playingSince ?? s.startedAt);
    c.bytes.textContent = formatBytes(s.bytesOut);
    if (c.rate.textContent === "") c.rate.textContent = "—";
    row.tr.classList.toggle("checking", s.state === "checking");
    c.actions.lastChild.hidden = s.userId === undefined && s.name === undefined;
    row.tr.hidden = !this.#matches(s);
  }

  #matches(s) {
    const f = this.filter;
    const has = (value, wanted) => wanted === "" || (value ?? "").toLowerCase().includes(wanted.toLowerCase());
    return has(`${s.app}/${s.channel}`, f.channel) && (has(s.userId, f.user) || (f.user !== "" && has(s.name, f.user))) &&
      has(s.ip, f.ip) && (f.protocol === "" || s.protocol === f.protocol);
  }
}
