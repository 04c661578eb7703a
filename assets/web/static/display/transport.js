// Transport of the web display: a WebSocket when the browser can open one
// to the agent, otherwise the agent's polling transport (docs/protocol.md,
// "Polling transport"), behind the part of the WebSocket interface the page
// uses: onopen, onmessage ({data}), onclose, send(text), close(),
// readyState. The page speaks the same protocol over either: it sends its
// hello and resync, and gets welcome, snapshot, resumed, delta, cue, error
// and heartbeat messages with the same {epoch, seq} positions.
//
// Polling starts when the browser has no WebSocket, or after a few sockets
// in a row closed before their welcome (a proxy that strips Upgrade, an
// old browser's broken WebSocket). Once a poll went live the page stays on
// polling, and probes now and then whether a WebSocket opens again.

// WebSockets in a row that closed before their welcome before a poll is
// tried (then the two alternate until one goes live): an agent that is
// merely restarting fails a socket or two as well.
const WS_FAILURES_BEFORE_POLL = 3;
// The hold the page asks for, in ms. The agent answers a held poll after
// this long with nothing newer, so the page hears from it at least every
// second, as it does from a socket's heartbeats, and its 1.8 s silence rule
// still tells a dead link within 2 s. (The agent holds up to 25 s for
// clients that need no such rule.)
const POLL_WAIT_MS = 1000;
// A poll request that is not answered in this long is given up even if the
// page's silence rule did not (a page without one).
const POLL_TIMEOUT_MS = POLL_WAIT_MS + 10000;
// While polling, how often a WebSocket is tried in the background; when
// one opens, the page reconnects over WebSockets.
const PROBE_MS = 5 * 60 * 1000;

let wsFailures = 0;
let pollNext = false; // the next connection is a poll (alternating)
let polling = false; // a poll went live: stay on polling
let probeTimer = null;

function markTransport(name) {
  document.documentElement.dataset.transport = name; // status output, for tests and store IT
}

// openSocket opens a connection to the display endpoint url (ws:// or
// wss://, with its query) offering protocols, over whichever transport
// works here.
export function openSocket(url, protocols) {
  const canWS = typeof WebSocket === "function";
  if (!canWS || polling || pollNext) {
    pollNext = false;
    const sock = new PollSocket(url, (live) => {
      if (!live) return;
      polling = true;
      markTransport("poll");
      if (canWS) scheduleProbe(url, protocols, sock);
    });
    return sock;
  }
  const ws = new WebSocket(url, protocols);
  let heard = false;
  let welcomed = false;
  ws.addEventListener("message", (ev) => {
    if (heard) return;
    heard = true;
    try { welcomed = JSON.parse(ev.data).type === "welcome"; } catch (_) { /* not a welcome */ }
    if (welcomed) {
      wsFailures = 0;
      markTransport("websocket");
    }
  });
  ws.addEventListener("close", () => {
    if (!welcomed && ++wsFailures >= WS_FAILURES_BEFORE_POLL) pollNext = true;
  });
  return ws;
}

// scheduleProbe tries a WebSocket in PROBE_MS; if it opens, the page leaves
// polling: sock is closed and the page reconnects (and resumes) over a
// WebSocket.
function scheduleProbe(url, protocols, sock) {
  clearTimeout(probeTimer);
  probeTimer = setTimeout(() => {
    if (!polling || sock.readyState !== 1) return;
    let ws;
    try {
      ws = new WebSocket(url, protocols);
    } catch (_) {
      scheduleProbe(url, protocols, sock);
      return;
    }
    let opened = false;
    ws.onopen = () => {
      opened = true;
      ws.close();
      polling = false;
      wsFailures = 0;
      sock.close();
    };
    ws.onclose = () => { if (!opened) scheduleProbe(url, protocols, sock); };
  }, PROBE_MS);
}

// PollSocket speaks the polling transport: every request posts the page's
// hello with the position the page holds, and its answer (a JSON array of
// messages) is handed to onmessage one message at a time. The next request
// goes out as soon as an answer is in. The position is tracked from the
// messages handed over; a resync from the page drops it, so the next
// answer is a snapshot.
class PollSocket {
  constructor(wsURL, outcome) {
    const u = new URL(wsURL);
    u.protocol = u.protocol === "wss:" ? "https:" : "http:";
    u.pathname = u.pathname.replace(/\/$/, "") + "/poll";
    this.url = u;
    this.readyState = 0;
    this.onopen = null;
    this.onmessage = null;
    this.onclose = null;
    this.outcome = outcome;
    this.hello = null;
    this.pos = null; // {epoch, seq} of what was handed to the page
    this.xhr = null;
    this.welcomed = false;
    this.delivering = false; // handing an answer over: the next poll follows it
    // Like a WebSocket, it opens after the constructor returns: the page
    // sends its hello from onopen, and that starts the first request.
    setTimeout(() => {
      if (this.readyState !== 0) return;
      this.readyState = 1;
      if (this.onopen) this.onopen({ type: "open" });
    }, 0);
  }

  send(text) {
    if (this.readyState !== 1) throw new Error("poll transport is not open");
    let m;
    try { m = JSON.parse(text); } catch (_) { return; }
    if (!m || typeof m !== "object") return;
    if (m.type === "hello") {
      this.hello = m;
      this.pos = m.resume || null;
    } else if (m.type === "resync" && this.hello) {
      this.pos = null;
    } else {
      return; // the agent ignores anything else a display sends
    }
    if (!this.delivering) this.poll();
  }

  close() {
    this.finish();
  }

  poll() {
    if (this.xhr) {
      const old = this.xhr;
      this.xhr = null;
      old.abort();
    }
    const body = Object.assign({}, this.hello);
    delete body.resume;
    if (this.pos) body.resume = { epoch: this.pos.epoch, seq: this.pos.seq };
    // The first request is answered at once, so that a page resuming
    // where the agent is goes live without waiting out a hold.
    this.url.searchParams.set("wait", this.welcomed ? String(POLL_WAIT_MS) : "0");
    const xhr = new XMLHttpRequest();
    this.xhr = xhr;
    xhr.open("POST", this.url.toString());
    xhr.setRequestHeader("Content-Type", "application/json");
    xhr.timeout = POLL_TIMEOUT_MS;
    xhr.onload = () => {
      if (this.xhr !== xhr) return;
      this.xhr = null;
      this.answer(xhr.status, xhr.responseText);
    };
    xhr.onerror = xhr.ontimeout = () => { if (this.xhr === xhr) this.finish(); };
    xhr.send(JSON.stringify(body));
  }

  answer(status, text) {
    let body = null;
    try { body = JSON.parse(text); } catch (_) { /* handled below */ }
    if (status !== 200) {
      // A refused poll carries the agent's error, as a socket would have
      // sent it before closing: the page shows why.
      if (body && body.type === "error") this.deliver(body);
      this.finish();
      return;
    }
    if (!Array.isArray(body)) {
      this.finish();
      return;
    }
    const first = !this.welcomed;
    this.delivering = true;
    for (const m of body) {
      if (this.readyState !== 1) break;
      if (!m || typeof m !== "object") continue;
      if (m.type === "welcome" && !this.welcomed) {
        this.welcomed = true;
        this.outcome(true);
      }
      // After the first answer, a resumed at the position held only
      // confirms the request's own position: nothing for the page.
      if (m.type === "resumed" && !first && this.pos && m.epoch === this.pos.epoch && m.seq === this.pos.seq) continue;
      this.track(m);
      this.deliver(m);
    }
    this.delivering = false;
    if (this.readyState === 1) this.poll();
  }

  track(m) {
    if (m.type === "snapshot" || m.type === "resumed") {
      this.pos = { epoch: m.epoch, seq: m.seq };
    } else if (m.type === "delta" && this.pos && m.epoch === this.pos.epoch && m.seq === this.pos.seq + 1) {
      this.pos = { epoch: m.epoch, seq: m.seq };
    }
  }

  deliver(m) {
    if (this.onmessage) this.onmessage({ type: "message", data: JSON.stringify(m) });
  }

  finish() {
    if (this.readyState === 3) return;
    const wasOpen = this.readyState !== 0 || this.welcomed;
    this.readyState = 3;
    if (this.xhr) {
      const old = this.xhr;
      this.xhr = null;
      old.abort();
    }
    if (!this.welcomed) this.outcome(false);
    setTimeout(() => { if (this.onclose) this.onclose({ type: "close", code: wasOpen ? 1000 : 1006 }); }, 0);
  }
}
