// replica.js: the web display's cart replica, a mirror of register/cart's
// Apply (same ops, same checks, same all-or-nothing rule) and exact money
// formatting. No DOM access: tests import it on its own.

// Same bounds as the Go cart package (cart.MaxLines, cart.MaxOps).
const MAX_LINES = 500;
const MAX_OPS = 2 * MAX_LINES + 2;

// ---- money ----

const fmtCache = new Map();
function formatter(currency) {
  let f = fmtCache.get(currency);
  if (!f) {
    try {
      f = new Intl.NumberFormat(navigator.language || "en", { style: "currency", currency });
    } catch (_) {
      f = new Intl.NumberFormat("en", { style: "currency", currency: "XXX" });
    }
    fmtCache.set(currency, f);
  }
  return f;
}

// formatMoney turns integer minor units into a localized string without
// floating point: the decimal is built as text and formatted as a string.
export function formatMoney(minor, currency) {
  if (typeof minor !== "number" || !Number.isSafeInteger(minor)) return "";
  const f = formatter(currency);
  const digits = f.resolvedOptions().maximumFractionDigits;
  const neg = minor < 0;
  let s = String(Math.abs(minor));
  if (digits > 0) {
    s = s.padStart(digits + 1, "0");
    s = s.slice(0, s.length - digits) + "." + s.slice(s.length - digits);
  }
  return f.format((neg ? "-" : "") + s);
}

// ---- replica (mirror of register/cart Apply) ----

export function clone(c) { return JSON.parse(JSON.stringify(c)); }

export class OutOfStep extends Error {}

export function applyOps(c, ops) {
  if (!Array.isArray(ops) || ops.length > MAX_OPS) throw new OutOfStep("too many ops");
  const out = clone(c);
  out.lines = out.lines || [];
  ops.forEach((op, n) => {
    const lines = out.lines;
    const len = lines.length;
    const bad = (what) => { throw new OutOfStep(`ops[${n}] (${op && op.op}): ${what}`); };
    if (!op || typeof op !== "object") bad("not an object");
    const idx = op.index | 0;
    switch (op.op) {
      case "add":
        if (!op.line || idx < 0 || idx > len || len >= MAX_LINES) bad("bad add");
        lines.splice(idx, 0, op.line);
        break;
      case "update":
        if (!op.line || idx < 0 || idx >= len || lines[idx].id !== op.line.id) bad("bad update");
        lines[idx] = op.line;
        break;
      case "remove":
        if (idx < 0 || idx >= len || lines[idx].id !== op.id) bad("bad remove");
        lines.splice(idx, 1);
        break;
      case "move": {
        const from = op.from;
        if (typeof from !== "number" || from < 0 || from >= len || idx < 0 || idx >= len || lines[from].id !== op.id) bad("bad move");
        const [l] = lines.splice(from, 1);
        lines.splice(idx, 0, l);
        break;
      }
      case "totals":
        if (!op.totals) bad("bad totals");
        out.subtotal = op.totals.subtotal;
        out.discount = op.totals.discount;
        out.taxes = (op.totals.taxes || []).slice();
        out.total = op.totals.total;
        break;
      case "header": {
        const h = op.header;
        if (!h) bad("bad header");
        out.order = h.order || "";
        out.currency = h.currency;
        out.state = h.state;
        out.message = h.message || "";
        out.payment = h.payment ? Object.assign({}, h.payment) : null;
        break;
      }
      default:
        bad("unknown op");
    }
  });
  checkCart(out);
  return out;
}

// checkCart repeats the arithmetic checks of cart.Validate that matter for
// what the customer sees; a replica that fails them is out of step.
export function checkCart(c) {
  if (!c || !Array.isArray(c.lines) || c.lines.length > MAX_LINES) throw new OutOfStep("bad lines");
  let sum = 0;
  let returns = false;
  const ids = new Set();
  for (const l of c.lines) {
    if (!l || typeof l.id !== "string" || ids.has(l.id)) throw new OutOfStep("bad line id");
    ids.add(l.id);
    // A return line (protocol revision 1.1) carries a non-negative total
    // that is subtracted.
    if (l.return === true) {
      returns = true;
      sum -= l.total;
    } else {
      sum += l.total;
    }
  }
  if (sum !== c.subtotal) throw new OutOfStep("subtotal does not match lines");
  // Only a cart with a return line may owe the customer money.
  const neg = (v) => typeof v === "number" && v < 0;
  if (!returns && (neg(c.subtotal) || neg(c.total) || (c.payment && neg(c.payment.due)))) {
    throw new OutOfStep("negative amount without a return line");
  }
  if ((c.discount || 0) > Math.max(c.subtotal, 0)) throw new OutOfStep("discount above the subtotal");
  let want = c.subtotal - (c.discount || 0);
  for (const t of c.taxes || []) if (!t.included) want += t.amount;
  if (want !== c.total) throw new OutOfStep("total does not add up");
}

