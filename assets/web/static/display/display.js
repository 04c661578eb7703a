// Web display: the customer screen for tablets and browsers that cannot run
// the Fyne app. Speaks the display protocol (docs/protocol.md) on
// /v1/display of the host that served this page: hello with resume, snapshot,
// resumed, delta (applied exactly like cart.Apply), cue, error; a gap, an
// epoch change or a delta that does not fit asks for a resync.
//
// Register and display token come from the URL fragment
// (#register=lane1&token=...), which browsers never send to the server, or,
// without a token there, from pairing by code (pairing.js).
// Every text from the POS is set with textContent, never as HTML.
import { applyOps, checkCart, formatMoney } from "/display/replica.js";
import { credentialsRefused, pairByCode, storedCredentials } from "/display/pairing.js";
import { startKiosk } from "/display/kiosk.js";

// Backoff between reconnects, jittered so a room of tablets spreads out.
const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 1500; // live again within about 3 s of a link coming back
// The agent sends something (a heartbeat when idle) at least every second;
// after this long without a message the link is dead: the cart is marked
// stale and the socket replaced (docs/protocol.md, "Heartbeat and liveness").
const SILENCE_MS = 1800; // 2 s at most, with the page's own latency
// A rejected display (bad token, unknown register) retries slowly.
const REJECTED_RETRY_MS = 30000;
// After this long without a live stream the money figures are hidden: an
// old total must not be mistaken for the current one.
const STALE_HIDE_MS = 3000;
// A cart the agent restored after a restart, not yet confirmed by the POS,
// is marked "Updating…" at once and its figures are hidden after this long
// (#restored_hide=SECONDS in the URL overrides it).
const RESTORED_HIDE_MS = (Number(params().get("restored_hide")) || 5) * 1000;
// How long a "scanning" cue stays visible.
const CUE_MS = 1500;

function params() { return new URLSearchParams(location.hash.replace(/^#/, "")); }
// A token in the URL was provisioned by hand (`displays add`); otherwise
// the credentials come from pairing by code, and are dropped when refused.
const provisioned = params().get("token") ? { register: params().get("register") || "", token: params().get("token") } : null;
let { register, token } = provisioned || storedCredentials() || { register: "", token: "" };

let ws = null;
let attempt = 0;
let cart = null; // replica, null until the first snapshot
let pos = null; // {epoch, seq}
let status = "connecting";
let staleTimer = null;
let restored = false; // the cart is the agent's restored one, unconfirmed
let restoredAt = 0;
let restoredTimer = null;
let cueTimer = null;
let reconnectTimer = null;
let silenceTimer = null;
let changed = new Set();
let snapshots = 0;

const $ = (id) => document.getElementById(id);

function text(el, s) { el.textContent = s == null ? "" : String(s); }

// ---- connection ----

// openSocket: a WebSocket, or the agent's polling transport where none
// opens (transport.js). Imported here, by the code that uses it.
import { openSocket } from "/display/transport.js";

function wsURL() {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  // features=returns: this page shows return lines (protocol revision
  // 1.1); without it the agent sends the version 1 view.
  return `${proto}//${location.host}/v1/display?register=${encodeURIComponent(register)}&features=returns`;
}

// The token also goes in the upgrade request, as a subprotocol entry
// (base64url of its UTF-8 bytes), so that the agent checks it before the
// upgrade; the agent selects "posdisplay.v1", never the token entry.
function subprotocols() {
  if (!token) return [];
  let bin = "";
  for (const b of new TextEncoder().encode(token)) bin += String.fromCharCode(b);
  const b64 = btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  return ["posdisplay.v1", "posdisplay.token." + b64];
}

function connect() {
  clearTimeout(reconnectTimer);
  if (!register) {
    setStatus("rejected", "No register: open this page as /display#register=ID&token=TOKEN");
    return;
  }
  let sock;
  try {
    sock = openSocket(wsURL(), subprotocols());
  } catch (e) {
    scheduleReconnect();
    return;
  }
  ws = sock;
  let opened = false;
  heard(sock); // also bounds the connect: browsers give it no timeout
  sock.onopen = () => {
    if (ws !== sock) return;
    opened = true;
    heard(sock);
    const hello = { type: "hello", register };
    if (token) hello.token = token;
    if (pos && cart) hello.resume = { epoch: pos.epoch, seq: pos.seq };
    send(hello);
  };
  sock.onmessage = (ev) => { if (ws === sock) { heard(sock); onMessage(ev.data); } };
  sock.onclose = () => {
    if (ws !== sock) return;
    ws = null;
    clearTimeout(silenceTimer);
    if (status === "rejected") {
      reconnectTimer = setTimeout(connect, REJECTED_RETRY_MS);
      return;
    }
    setStatus("reconnecting");
    if (!opened) {
      // The agent checks the token before the upgrade; a browser does not
      // tell a page why an upgrade failed. Ask once over plain HTTP.
      upgradeRefusal().then((why) => {
        if (ws !== null || status === "live") return;
        if (why) {
          setStatus("rejected", why);
          reconnectTimer = setTimeout(connect, REJECTED_RETRY_MS);
        } else {
          scheduleReconnect();
        }
      });
      return;
    }
    scheduleReconnect();
  };
}

// upgradeRefusal asks the display endpoint, without upgrading, whether
// this page's token and register are refused (HTTP 401/403/404 with the
// agent's error), and returns the agent's reason, or null when they are
// not (the failure was the network, or the agent is busy).
async function upgradeRefusal() {
  try {
    const q = `register=${encodeURIComponent(register)}&token=${encodeURIComponent(token)}`;
    const r = await fetch(`/v1/display?${q}`, { cache: "no-store", referrerPolicy: "no-referrer" });
    if (r.status !== 401 && r.status !== 403 && r.status !== 404) return null;
    const e = await r.json().catch(() => ({}));
    return String(e.message || e.code || "HTTP " + r.status);
  } catch (_) {
    return null;
  }
}

// heard restarts the silence watchdog of sock. A dead link closes nothing by
// itself (no FIN, no error for minutes): the page gives up on the socket.
function heard(sock) {
  clearTimeout(silenceTimer);
  silenceTimer = setTimeout(() => {
    if (ws !== sock) return;
    ws = null;
    try { sock.close(); } catch (_) { /* already closing */ }
    if (status === "rejected") return;
    setStatus("reconnecting");
    scheduleReconnect();
  }, SILENCE_MS);
}

function scheduleReconnect() {
  const cap = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * Math.pow(2, attempt));
  attempt++;
  clearTimeout(reconnectTimer);
  reconnectTimer = setTimeout(connect, cap / 2 + Math.random() * cap / 2);
}

function send(obj) {
  try { if (ws && ws.readyState === 1) ws.send(JSON.stringify(obj)); } catch (_) { /* onclose handles it */ }
}

function resync() {
  send({ type: "resync" });
}

function onMessage(data) {
  // Arrival time, for the click-to-display benchmark's breakdown.
  document.body.dataset.received = String(performance.timeOrigin + performance.now());
  let m;
  try { m = JSON.parse(data); } catch (_) { return; }
  if (!m || typeof m !== "object") return;
  switch (m.type) {
    case "welcome":
    case "heartbeat": // only proof of life: heard() already counted it
      return;
    case "snapshot":
      try {
        checkCart(m.cart);
      } catch (e) {
        console.warn("[display] bad snapshot:", e.message);
        return;
      }
      // The restored clock runs from the first sight in this epoch.
      if (!m.restored || !restored || !pos || pos.epoch !== m.epoch) restoredAt = Date.now();
      restored = m.restored === true;
      cart = m.cart;
      pos = { epoch: m.epoch, seq: m.seq };
      changed = new Set();
      snapshots++;
      document.body.dataset.snapshots = String(snapshots); // tests tell resume from resync
      live();
      return;
    case "resumed":
      if (!pos || !cart || m.epoch !== pos.epoch || m.seq !== pos.seq) {
        resync();
        return;
      }
      live();
      return;
    case "delta":
      onDelta(m);
      return;
    case "cue":
      if (m.cue === "scanning") showCue();
      return;
    case "error":
      if (m.code === "unauthorized" || m.code === "unknown_register" || m.code === "bad_hello") {
        setStatus("rejected", m.message || m.code);
      }
      return;
    default:
      return; // newer agents may add messages
  }
}

function onDelta(m) {
  if (!cart || !pos || m.epoch !== pos.epoch) { resync(); return; }
  if (m.seq <= pos.seq) return; // already have it (replay overlap)
  if (m.seq !== pos.seq + 1) { resync(); return; } // gap
  let next;
  try {
    next = applyOps(cart, m.ops);
  } catch (e) {
    console.warn("[display] delta does not fit, resyncing:", e.message);
    resync();
    return;
  }
  changed = new Set();
  for (const op of m.ops) if ((op.op === "add" || op.op === "update") && op.line) changed.add(op.line.id);
  cart = next;
  pos = { epoch: m.epoch, seq: m.seq };
  if (restored) { // any delta: the POS confirmed or replaced the restored cart
    restored = false;
    showRestored();
  }
  render();
}

// showRestored marks a live restored cart "Updating…" and hides its figures
// after RESTORED_HIDE_MS; a stale connection's own marking takes precedence.
function showRestored() {
  clearTimeout(restoredTimer);
  restoredTimer = null;
  const on = restored && status === "live";
  document.body.dataset.restored = String(on);
  if (status !== "live") return;
  const bar = $("status");
  bar.hidden = !on;
  if (!on) {
    document.body.classList.remove("money-hidden");
    return;
  }
  text(bar, "Updating…");
  const left = restoredAt + RESTORED_HIDE_MS - Date.now();
  if (left <= 0) {
    document.body.classList.add("money-hidden");
  } else {
    document.body.classList.remove("money-hidden");
    restoredTimer = setTimeout(showRestored, left);
  }
}

function live() {
  attempt = 0;
  setStatus("live");
  render();
}

function setStatus(s, detail) {
  if (s === "rejected" && token && !provisioned) { credentialsRefused(); return; } // revoked: pair again
  const wasLive = status === "live";
  status = s;
  document.body.dataset.status = s;
  const bar = $("status");
  if (s === "live") {
    clearTimeout(staleTimer);
    staleTimer = null;
    document.body.classList.remove("money-hidden");
    bar.hidden = true;
    showRestored();
    return;
  }
  clearTimeout(restoredTimer);
  restoredTimer = null;
  bar.hidden = false;
  text(bar, s === "rejected" ? "Display not authorized: " + (detail || "") : "Reconnecting to the register…");
  if (s === "rejected") text($("connecting-text"), detail || "Display not authorized");
  // The clock starts when the stream was lost, not at each failed retry.
  if (wasLive || staleTimer === null) {
    clearTimeout(staleTimer);
    staleTimer = setTimeout(() => document.body.classList.add("money-hidden"), STALE_HIDE_MS);
  }
  render();
}

function showCue() {
  const el = $("cue");
  el.hidden = false;
  clearTimeout(cueTimer);
  cueTimer = setTimeout(() => { el.hidden = true; }, CUE_MS);
}

// ---- rendering ----

function screenFor(c) {
  if (!c) return "connecting";
  switch (c.state) {
    case "open": return c.lines.length ? "cart" : "idle";
    case "payment": return "payment";
    case "complete": return "complete";
    default: return "idle";
  }
}

function render() {
  const screen = screenFor(cart);
  document.body.className = document.body.className.replace(/\bscreen-\w+/g, "").trim() + " screen-" + screen;
  if (cart) {
    const cur = cart.currency;
    text($("idle-message"), cart.state === "idle" ? cart.message : "");
    text($("cart-order"), cart.order ? "Order " + cart.order : "");
    renderLines(cart, cur);
    text($("subtotal"), formatMoney(cart.subtotal, cur));
    $("discount-row").hidden = !cart.discount;
    text($("discount"), cart.discount ? "-" + formatMoney(cart.discount, cur) : "");
    const taxes = $("taxes");
    taxes.replaceChildren();
    for (const t of cart.taxes || []) {
      const row = document.createElement("div");
      row.className = "row tax";
      const label = document.createElement("span");
      text(label, t.included ? t.label + " (included)" : t.label);
      const amt = document.createElement("span");
      amt.className = "money";
      text(amt, formatMoney(t.amount, cur));
      row.append(label, amt);
      taxes.append(row);
    }
    text($("total"), formatMoney(cart.total, cur));
    text($("cart-message"), cart.message);
    const p = cart.payment || { due: cart.total, tendered: 0, change: 0, method: "" };
    text($("pay-due"), formatMoney(p.due, cur));
    text($("pay-tendered"), formatMoney(p.tendered, cur));
    text($("pay-change"), formatMoney(p.change, cur));
    text($("pay-method"), p.method);
    $("complete-change-row").hidden = !(cart.payment && cart.payment.change > 0);
    text($("complete-change"), cart.payment ? formatMoney(cart.payment.change, cur) : "");
    text($("complete-message"), cart.state === "complete" ? cart.message : "");
    document.body.dataset.seq = String(pos ? pos.seq : 0);
    document.body.dataset.epoch = pos ? pos.epoch : "";
  }
  document.body.dataset.rendered = String(performance.timeOrigin + performance.now());
}

function renderLines(c, cur) {
  const ol = $("lines");
  const frag = document.createDocumentFragment();
  let last = null;
  for (const l of c.lines) {
    // A returned item (protocol revision 1.1): marked, and its amounts
    // shown negative, as money going back to the customer.
    const ret = l.return === true;
    const sign = ret ? -1 : 1;
    const li = document.createElement("li");
    li.className = ret ? "line return" : "line";
    li.dataset.id = l.id;
    const title = document.createElement("span");
    title.className = "title";
    if (ret) {
      const mark = document.createElement("span");
      mark.className = "return-mark";
      text(mark, "Return");
      const name = document.createElement("span");
      text(name, l.title);
      title.append(mark, name);
    } else {
      text(title, l.title);
    }
    const total = document.createElement("span");
    total.className = "line-total money";
    text(total, formatMoney(sign * l.total, cur));
    const detail = document.createElement("span");
    detail.className = "detail";
    const unit = l.unit ? " " + l.unit : "";
    text(detail, `${l.quantity}${unit} × ${formatMoney(sign * l.unit_price, cur)}`);
    li.append(title, total, detail);
    if (l.discount) {
      const d = document.createElement("span");
      d.className = "line-discount";
      // Off a sale's price, a discount is money off; off a return's, it is
      // kept from the refund.
      text(d, "Discount " + formatMoney(-sign * l.discount, cur));
      li.append(d);
    }
    if (l.note) {
      const n = document.createElement("span");
      n.className = "note";
      text(n, l.note);
      li.append(n);
    }
    if (changed.has(l.id)) {
      li.classList.add("changed");
      last = li;
    }
    frag.append(li);
  }
  ol.replaceChildren(frag);
  // Scroll with the next frame instead of forcing a layout now.
  if (last) requestAnimationFrame(() => { if (last.isConnected) last.scrollIntoView({ block: "nearest" }); });
}

startKiosk();
render();
if (token) {
  connect();
} else {
  pairByCode(params().get("name") || "Web display").then((c) => { ({ register, token } = c); connect(); });
}
