// Pairing by code for the web display (docs/protocol.md, "Pairing
// protocol", "Web displays"): the same endpoints, codes, expiry and lockout
// as the Fyne screen's. A page with no token asks the agent that served it
// for a code (POST /v1/pair), shows it, and polls (GET /v1/pair/{request})
// until store IT approves it on the register (`posdisplay-agent pair CODE`);
// the display token it then receives is kept in localStorage for this
// agent's origin, so the tablet stays paired across reloads and reboots.
// A paired page that the agent refuses (revoked) forgets its token and
// starts again with a new code.
//
// Trust: the page talks only to the origin that served it; over https that
// is the certificate the browser verified (the store's CA, docs/install.md).

const OPEN_PATH = "/v1/pair";
const POLL_PATH = "/v1/pair/";
// The agent refuses a code whose screen stopped polling for 15 s
// (pairing.StaleAfter): poll well within that.
const POLL_MS = 1000;
// After a failure to open a request: the network (a few seconds), or the
// agent's pending limit (too_many: another code must expire first).
const RETRY_MS = 5000;
const TOO_MANY_RETRY_MS = 30000;
const STORAGE_KEY = "posdisplay.display";
// The page's screen key (docs/protocol.md, "Screen key"), kept when its
// credentials are dropped, so that pairing this browser again replaces its
// earlier entry in `displays list` instead of adding one.
const SCREEN_KEY = "posdisplay.screen-key";

const $ = (id) => document.getElementById(id);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// storedCredentials returns {register, token} saved by an earlier pairing
// on this origin, or null.
export function storedCredentials() {
  try {
    const c = JSON.parse(localStorage.getItem(STORAGE_KEY) || "null");
    if (c && typeof c.register === "string" && typeof c.token === "string" && c.register && c.token) return c;
  } catch (_) { /* storage off (private mode) or corrupt: pair again */ }
  return null;
}

function save(c) {
  try { localStorage.setItem(STORAGE_KEY, JSON.stringify(c)); } catch (_) { /* kept for this page's life only */ }
}

// credentialsRefused is called when the agent refuses paired credentials
// (revoked with `displays revoke`, or their register is gone): forget them
// and reload, which shows a new code with nothing of the old session left.
export function credentialsRefused() {
  try { localStorage.removeItem(STORAGE_KEY); } catch (_) { /* nothing saved */ }
  location.reload();
}

// screenKey returns this browser's key for this agent, made on first use:
// 32 hex digits (128 random bits), as the Fyne screen makes. Without
// storage there is none: a key that is not kept replaces nothing.
function screenKey() {
  try {
    let k = localStorage.getItem(SCREEN_KEY) || "";
    if (!/^[0-9a-f]{32}$/.test(k)) {
      const b = crypto.getRandomValues(new Uint8Array(16));
      k = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
      localStorage.setItem(SCREEN_KEY, k);
    }
    return k;
  } catch (_) {
    return "";
  }
}

function show(state, code, detail) {
  document.body.classList.add("pairing");
  document.body.dataset.pairing = state;
  $("pair-code").textContent = code || "";
  $("pair-command").textContent = code ? "sudo posdisplay-agent pair " + code : "";
  $("pair-detail").textContent = detail || "";
}

// pairByCode runs the pairing flow until it is approved and resolves to the
// new credentials {register, token, display, agent}, saved already. name is
// how store IT sees this display in `displays list`.
export async function pairByCode(name) {
  show("starting", "", "Asking the register for a pairing code…");
  const key = screenKey();
  for (;;) {
    let open;
    try {
      const r = await fetch(OPEN_PATH, {
        method: "POST", cache: "no-store", headers: { "Content-Type": "application/json" },
        // The agent that served this page knows the key field: no
        // fallback for version 1 agents is needed here.
        body: JSON.stringify(key ? { name, key } : { name }),
      });
      const body = await r.json().catch(() => ({}));
      if (r.status !== 201 || typeof body.code !== "string") {
        show("error", "", "The register gave no code: " + (body.message || "HTTP " + r.status));
        await sleep(r.status === 429 ? TOO_MANY_RETRY_MS : RETRY_MS);
        continue;
      }
      open = body;
    } catch (_) {
      show("error", "", "Cannot reach the register; trying again…");
      await sleep(RETRY_MS);
      continue;
    }
    const mins = Math.max(1, Math.round((Number(open.expires_in) || 600) / 60));
    show("code", open.code, `Valid for ${mins} minutes; a new code appears after that.`);
    const c = await collect(open);
    if (c) {
      save(c);
      document.body.classList.remove("pairing");
      document.body.dataset.pairing = "paired";
      return c;
    }
    // Expired, or approved too late for a stale code: a new code.
  }
}

// collect polls the request until it is approved (the credentials) or gone
// (null). Network failures keep polling: the request lives until it expires.
async function collect(open) {
  const url = POLL_PATH + encodeURIComponent(open.request);
  for (;;) {
    await sleep(POLL_MS);
    let r;
    try {
      r = await fetch(url, { cache: "no-store", headers: { Authorization: "Bearer " + open.secret } });
    } catch (_) {
      continue;
    }
    if (r.status === 404) return null;
    if (!r.ok) continue;
    const b = await r.json().catch(() => ({}));
    if (b.status === "approved" && typeof b.token === "string" && typeof b.register === "string") {
      return { register: b.register, token: b.token, display: b.display || "", agent: b.agent || "" };
    }
  }
}
