// pos-bridge.js: connects a web POS page to the local posdisplay agent.
//
// Dependency-free ES module. Usage:
//
//   import { connect } from "http://127.0.0.1:7421/bridge/pos-bridge.js";
//   const bridge = connect({ register: "lane1", token: "..." });
//   bridge.on("state", (s) => console.log(s.state, s.error));
//   bridge.setCart(snapshot);           // full cart snapshot, see docs/protocol.md
//   bridge.onScan(async (scan) => { await addToOrder(scan.gtin || scan.code); return true; });
//   // or, when the item cannot be placed: return { refuse: "not_found", message: "..." };
//   bridge.clear();                     // end of sale
//
// Guarantees: nothing here throws into the host page (errors are reported
// through "error" events and console.warn); only the latest cart matters, so
// rapid setCart calls are coalesced with at most one cart message in flight;
// while offline the latest cart is kept and re-sent on reconnect; reconnects
// use jittered exponential backoff; scans are handed to the handler strictly
// one at a time, in order, and acknowledged only after the handler resolves
// true. A handler may refuse a scan ({refuse: reason, message}); the bridge
// tells the agent (only if its welcome lists the "scan_refuse" feature),
// never retries it, and remembers the id (in opts.storage, e.g.
// sessionStorage, across page loads) so a re-sent refused scan is never
// applied later, to another sale.

const DEFAULT_URL = "ws://127.0.0.1:7421/v1/pos";
// Backoff: first retry after ~250 ms, doubling to 10 s. Short enough that a
// restarted agent is back on screen within a second, long enough not to spin.
const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 10000;
// An agent that accepted the socket but sent no welcome is treated as open
// after this long, so an older agent still receives carts.
const WELCOME_WAIT_MS = 1000;
// A cart message unanswered for this long means the socket is wedged.
const ACK_TIMEOUT_MS = 10000;
// Scan ids already acknowledged, kept so that a scan re-sent after a
// reconnect (its ack was lost) is acked again without running twice.
const DONE_SCANS_KEPT = 200;
// Scans waiting for the handler; the agent holds later scans until the ack,
// so more than a few here means a misbehaving peer.
const MAX_QUEUED_SCANS = 100;

// A scan the POS did not take is retried after 1 s, then 2, 4, 8 s...
const SCAN_RETRY_MIN_MS = 1000;
const SCAN_RETRY_MAX_MS = 8000;
// ...until it is this old. Below the agent's default scan TTL (2 min), after
// which the agent reports it dropped: a stale scan must never add an item
// to the next customer's sale.
const SCAN_MAX_AGE_MS = 100000;
// Refusal reasons of the scan_refuse feature (docs/protocol.md).
export const REFUSE_REASONS = ["no_product_field", "not_found", "ambiguous", "lookup_error", "wrong_sale", "busy"];

function warn(...args) {
  try { console.warn("[pos-bridge]", ...args); } catch (_) { /* no console */ }
}

/**
 * Opens a bridge to the agent. Never throws; a bad option is reported
 * through the "error" event and console.
 * @param {{url?: string, register: string, token?: string, scanMaxAgeMs?: number, storage?: Storage}} opts
 */
export function connect(opts) {
  return new Bridge(opts || {});
}

export class Bridge {
  constructor(opts) {
    this._listeners = new Map();
    this._register = String(opts.register || "");
    this._token = opts.token ? String(opts.token) : "";
    this._baseURL = opts.url ? String(opts.url) : DEFAULT_URL;
    this._WS = opts.WebSocket || (typeof WebSocket !== "undefined" ? WebSocket : null);
    this._ws = null;
    this._state = "closed";
    this._lastError = null;
    this._attempt = 0;
    this._timer = null;
    this._closed = false;
    this._ready = false; // socket open and welcomed
    this._welcome = null;
    this._features = new Set(); // from the welcome; empty for an older agent
    this._nextId = 1;

    // Cart sync: _desired is what the agent should show ({type:"cart",cart}
    // or {type:"clear"}); _inflight is the message awaiting its answer.
    this._desired = null;
    this._desiredVersion = 0;
    this._sentVersion = 0;
    this._inflight = null;
    this._ackTimer = null;
    this._retryTimer = null;

    // Scans.
    this._scanHandler = null;
    this._scanQueue = [];
    this._scanBusy = false;
    this._scanCurrent = null;
    this._doneScans = [];
    // Scans refused here, id -> {reason, message}; persisted in _storage.
    this._refused = new Map();
    this._storage = opts.storage || null;
    this._storageKey = "posdisplay:scans:" + String(opts.register || "");
    this._loadScanMemory();
    this._scanMaxAgeMs = Number(opts.scanMaxAgeMs) > 0 ? Number(opts.scanMaxAgeMs) : SCAN_MAX_AGE_MS;

    if (!this._WS) {
      this._fail("no WebSocket support in this browser");
      return;
    }
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(this._register)) {
      this._fail("register must be 1-64 characters of A-Z a-z 0-9 . _ -");
      return;
    }
    this._open();
  }

  /** Current connection state: "connecting", "open" or "closed". */
  get state() { return this._state; }

  /** The agent's feature list from its welcome (empty before it, or for an older agent). */
  get features() { return Array.from(this._features); }

  /** True when the connected agent advertised feature f in its welcome. */
  has(f) { return this._features.has(f); }

  /** Last error seen, or null. */
  get lastError() { return this._lastError; }

  /**
   * Subscribes to an event: "state" ({state, error, attempt}), "ack"
   * ({id, seq}), "error" ({code, field, message, id}), "scan" (scan),
   * "refuse" ({id, code, reason, message, sent}), "welcome" (welcome
   * message). Returns a function that unsubscribes.
   */
  on(event, fn) {
    try {
      if (typeof fn !== "function") return () => {};
      if (!this._listeners.has(event)) this._listeners.set(event, new Set());
      this._listeners.get(event).add(fn);
      if (event === "state") this._call(fn, this._stateEvent());
      return () => this.off(event, fn);
    } catch (e) {
      warn("on:", e);
      return () => {};
    }
  }

  /** Removes a listener added with on. */
  off(event, fn) {
    try { const s = this._listeners.get(event); if (s) s.delete(fn); } catch (_) { /* ignore */ }
  }

  /**
   * Sends a full cart snapshot. Only the latest matters: calls made while a
   * cart is in flight replace each other and the last one is sent next.
   * Money must be integer minor units; the agent validates the arithmetic.
   */
  setCart(snapshot) {
    try {
      if (!snapshot || typeof snapshot !== "object") {
        this._emit("error", { code: "bad_cart", message: "setCart needs a cart object" });
        return;
      }
      // Serialize now: the host may keep mutating its object after the call.
      let json = JSON.stringify(snapshot);
      if (!snapshot.register) json = JSON.stringify(Object.assign({}, snapshot, { register: this._register }));
      if (typeof json !== "string" || json[0] !== "{") {
        this._emit("error", { code: "bad_cart", message: "setCart needs a cart object" });
        return;
      }
      this._setDesired({ type: "cart", json });
    } catch (e) {
      this._emit("error", { code: "bad_cart", message: "cart is not JSON: " + (e && e.message) });
    }
  }

  /** Ends the sale: the displays go back to idle. */
  clear() {
    try { this._setDesired({ type: "clear" }); } catch (e) { warn("clear:", e); }
  }

  /**
   * Sets the scan handler. It receives {id, code, gtin, order, symbology,
   * source, at} and may return a value or a promise; the scan is
   * acknowledged to the agent only once that resolves truthy (the POS has
   * taken the item). A result {refuse: reason, message} refuses it: sent to
   * an agent with the scan_refuse feature, never retried. Any other falsy
   * result is retried with backoff. Scans are delivered one at a time, in
   * order.
   */
  onScan(handler) {
    try {
      this._scanHandler = typeof handler === "function" ? handler : null;
      this._pumpScans();
    } catch (e) { warn("onScan:", e); }
  }

  /** Closes the bridge for good. */
  close() {
    try {
      this._closed = true;
      clearTimeout(this._timer);
      clearTimeout(this._ackTimer);
      clearTimeout(this._retryTimer);
      if (this._ws) { try { this._ws.close(1000, "bye"); } catch (_) { /* ignore */ } }
      this._ws = null;
      this._ready = false;
      this._setState("closed");
    } catch (e) { warn("close:", e); }
  }

  // ---- connection ----

  _url() {
    const u = new URL(this._baseURL, typeof location !== "undefined" ? location.href : undefined);
    u.searchParams.set("register", this._register);
    if (this._token) u.searchParams.set("token", this._token);
    return u.toString();
  }

  _open() {
    if (this._closed) return;
    this._setState("connecting");
    let ws;
    try {
      ws = new this._WS(this._url());
    } catch (e) {
      this._lastError = "cannot open socket: " + (e && e.message);
      this._scheduleReconnect();
      return;
    }
    this._ws = ws;
    let welcomeTimer = null;
    ws.onopen = () => {
      if (this._ws !== ws) return;
      welcomeTimer = setTimeout(() => { if (this._ws === ws && !this._ready) this._becomeReady(); }, WELCOME_WAIT_MS);
    };
    ws.onmessage = (ev) => {
      if (this._ws !== ws) return;
      this._onMessage(ev.data);
    };
    ws.onerror = () => {
      if (this._ws !== ws) return;
      this._lastError = "connection failed";
    };
    ws.onclose = (ev) => {
      clearTimeout(welcomeTimer);
      if (this._ws !== ws) return;
      this._ws = null;
      this._ready = false;
      this._inflight = null;
      clearTimeout(this._ackTimer);
      if (ev && ev.code && ev.code !== 1000 && ev.code !== 1005 && ev.code !== 1006) {
        this._lastError = "closed by agent (" + ev.code + (ev.reason ? ": " + ev.reason : "") + ")";
      } else if (!this._lastError) {
        this._lastError = "connection lost";
      }
      this._scheduleReconnect();
    };
  }

  _scheduleReconnect() {
    if (this._closed) return;
    this._setState("closed");
    const cap = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * Math.pow(2, this._attempt));
    const delay = cap / 2 + Math.random() * cap / 2; // jitter: spread reconnecting pages apart
    this._attempt++;
    clearTimeout(this._timer);
    this._timer = setTimeout(() => this._open(), delay);
  }

  _becomeReady() {
    this._ready = true;
    this._attempt = 0;
    this._lastError = null;
    this._setState("open");
    // Re-send the current cart: the agent may have restarted, or messages
    // sent while the socket died may not have reached it.
    this._sentVersion = 0;
    this._pumpCart();
  }

  _send(obj) {
    return this._sendText(JSON.stringify(obj));
  }

  _sendText(text) {
    if (!this._ws || this._ws.readyState !== 1) return false;
    try {
      this._ws.send(text);
      return true;
    } catch (e) {
      this._lastError = "send failed: " + (e && e.message);
      return false;
    }
  }

  _onMessage(data) {
    let m;
    try { m = JSON.parse(data); } catch (_) { warn("agent sent non-JSON"); return; }
    if (!m || typeof m !== "object") return;
    switch (m.type) {
      case "welcome":
        this._welcome = m;
        this._features = new Set(Array.isArray(m.features) ? m.features.filter((f) => typeof f === "string") : []);
        this._emit("welcome", m);
        if (!this._ready) this._becomeReady();
        return;
      case "ack":
        if (this._inflight && m.id === this._inflight.id) {
          this._emit("ack", { id: m.id, seq: m.seq });
          this._answered();
        }
        return;
      case "error":
        this._onAgentError(m);
        return;
      case "scan":
        this._onScan(m);
        return;
      default:
        return; // newer agents may send more; ignore
    }
  }

  _onAgentError(m) {
    const err = { id: m.id, code: String(m.code || ""), field: m.field ? String(m.field) : "", message: String(m.message || "") };
    this._lastError = err.code + (err.field ? " " + err.field : "") + ": " + err.message;
    this._emit("error", err);
    if (this._inflight && m.id === this._inflight.id) {
      if (err.code === "rate_limited" || err.code === "internal") {
        // Transient: try the latest cart again shortly.
        this._inflight = null;
        clearTimeout(this._ackTimer);
        this._sentVersion = 0;
        clearTimeout(this._retryTimer);
        this._retryTimer = setTimeout(() => this._pumpCart(), 500);
        return;
      }
      // Rejected: sending the same cart again cannot help. Wait for the
      // next setCart.
      this._answered();
    }
  }

  // ---- cart sync ----

  _setDesired(msg) {
    this._desired = msg;
    this._desiredVersion++;
    this._pumpCart();
  }

  _pumpCart() {
    if (!this._ready || this._inflight || !this._desired) return;
    if (this._sentVersion === this._desiredVersion) return;
    const id = "c" + (this._nextId++);
    const text = this._desired.json !== undefined
      ? '{"type":"cart","id":' + JSON.stringify(id) + ',"cart":' + this._desired.json + "}"
      : JSON.stringify({ type: this._desired.type, id });
    if (!this._sendText(text)) return; // onclose will reconnect and re-send
    this._inflight = { id, version: this._desiredVersion };
    this._sentVersion = this._desiredVersion;
    clearTimeout(this._ackTimer);
    this._ackTimer = setTimeout(() => {
      this._lastError = "no answer from agent";
      if (this._ws) { try { this._ws.close(4000, "ack timeout"); } catch (_) { /* ignore */ } }
    }, ACK_TIMEOUT_MS);
  }

  _answered() {
    this._inflight = null;
    clearTimeout(this._ackTimer);
    this._pumpCart();
  }

  // ---- scans ----

  _onScan(m) {
    if (typeof m.id !== "string" && typeof m.id !== "number") return;
    const scan = {
      id: m.id,
      code: String(m.code == null ? "" : m.code),
      symbology: String(m.symbology || ""),
      source: String(m.source || ""),
      at: m.at ? String(m.at) : "",
      // scan_order feature: the GTIN for the POS's lookup, and the sale
      // (order) the scan was taken in; "" when the agent does not say.
      gtin: typeof m.gtin === "string" ? m.gtin : "",
      order: typeof m.order === "string" ? m.order : "",
    };
    if (this._doneScans.includes(scan.id)) {
      this._send({ type: "ack", id: scan.id }); // ack was lost: do not add the item twice
      return;
    }
    const refused = this._refused.get(scan.id);
    if (refused) {
      // Re-sent after a reconnect or a page load: never apply it now, it
      // may belong to another sale. Repeat the refusal if the agent can
      // take it; an older agent keeps it until its scan_ttl.
      if (this.has("scan_refuse")) this._send({ type: "refuse", id: scan.id, reason: refused.reason, message: refused.message });
      return;
    }
    if ((this._scanCurrent && this._scanCurrent.id === scan.id) || this._scanQueue.some((s) => s.id === scan.id)) {
      return; // re-sent after a reconnect while we still hold it
    }
    if (this._scanQueue.length >= MAX_QUEUED_SCANS) {
      warn("scan queue full, dropping", scan.id);
      return;
    }
    this._scanQueue.push(scan);
    this._emit("scan", scan);
    this._pumpScans();
  }

  async _pumpScans() {
    if (this._scanBusy || !this._scanHandler) return;
    this._scanBusy = true;
    try {
      while (this._scanQueue.length && this._scanHandler) {
        const scan = this._scanQueue.shift();
        this._scanCurrent = scan;
        let ok = false;
        let refusal = null;
        const born = Number.isFinite(Date.parse(scan.at)) ? Date.parse(scan.at) : Date.now();
        // The agent holds every later scan until this one is acked, so a
        // scan the POS could not take yet (busy, on another screen) is
        // retried here, in place, until it is too old to belong to the
        // current sale.
        for (let delay = SCAN_RETRY_MIN_MS; !this._closed && this._scanHandler; delay = Math.min(delay * 2, SCAN_RETRY_MAX_MS)) {
          try {
            const r = await this._scanHandler(scan);
            if (r && typeof r === "object" && typeof r.refuse === "string") {
              refusal = { reason: r.refuse, message: Array.from(String(r.message || "")).slice(0, 200).join("") };
              break;
            }
            ok = !!r;
          } catch (e) {
            warn("scan handler failed:", e);
            this._emit("error", { code: "scan_handler", message: String(e && e.message || e), id: scan.id });
          }
          if (ok || Date.now() - born + delay > this._scanMaxAgeMs) break;
          await new Promise((r) => setTimeout(r, delay));
        }
        this._scanCurrent = null;
        if (refusal) {
          this._remember(scan.id, refusal);
          const sent = this.has("scan_refuse") &&
            this._send({ type: "refuse", id: scan.id, reason: refusal.reason, message: refusal.message });
          this._emit("refuse", { id: scan.id, code: scan.code, reason: refusal.reason, message: refusal.message, sent });
        } else if (ok) {
          this._doneScans.push(scan.id);
          if (this._doneScans.length > DONE_SCANS_KEPT) this._doneScans.shift();
          this._saveScanMemory();
          this._send({ type: "ack", id: scan.id }); // if offline, the agent re-sends and we re-ack
        } else {
          this._emit("error", { code: "scan_not_taken", message: "the POS did not take scan " + scan.code, id: scan.id });
        }
      }
    } finally {
      this._scanBusy = false;
    }
  }

  _remember(id, refusal) {
    this._refused.set(id, refusal);
    while (this._refused.size > DONE_SCANS_KEPT) this._refused.delete(this._refused.keys().next().value);
    this._saveScanMemory();
  }

  // The scan ids acked and refused here survive a page load (a Commerce POS
  // step is a full page POST) in opts.storage, when given.
  _loadScanMemory() {
    if (!this._storage) return;
    try {
      const m = JSON.parse(this._storage.getItem(this._storageKey) || "null");
      if (!m || typeof m !== "object") return;
      if (Array.isArray(m.done)) this._doneScans = m.done.filter((x) => typeof x === "string" || typeof x === "number").slice(-DONE_SCANS_KEPT);
      if (Array.isArray(m.refused)) {
        for (const r of m.refused.slice(-DONE_SCANS_KEPT)) {
          if (r && (typeof r.id === "string" || typeof r.id === "number")) this._refused.set(r.id, { reason: String(r.reason || ""), message: String(r.message || "") });
        }
      }
    } catch (_) { /* unreadable memory: start empty */ }
  }

  _saveScanMemory() {
    if (!this._storage) return;
    try {
      const refused = Array.from(this._refused, ([id, r]) => ({ id, reason: r.reason, message: r.message }));
      this._storage.setItem(this._storageKey, JSON.stringify({ done: this._doneScans, refused }));
    } catch (_) { /* storage full or denied: memory stays in this page */ }
  }

  // ---- events ----

  _stateEvent() {
    return { state: this._state, error: this._lastError, attempt: this._attempt };
  }

  _setState(s) {
    if (this._state === s && s !== "closed") return;
    this._state = s;
    this._emit("state", this._stateEvent());
  }

  _fail(msg) {
    this._lastError = msg;
    this._closed = true;
    warn(msg);
    this._emit("error", { code: "bad_options", message: msg });
  }

  _emit(event, payload) {
    const s = this._listeners.get(event);
    if (!s) return;
    for (const fn of Array.from(s)) this._call(fn, payload);
  }

  _call(fn, payload) {
    try { fn(payload); } catch (e) { warn("listener threw:", e); }
  }
}
