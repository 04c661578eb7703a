// Demo cashier page: rings up a sale by hand, all through pos-bridge.js.
// Arithmetic is exact: money in integer minor units, quantities in
// thousandths, products of the two in BigInt, rounding half up, the same
// rules the agent validates (register/cart).
import { connect } from "/bridge/pos-bridge.js";

const CURRENCY = "USD";
const FRACTION_DIGITS = 2;
const TAX_LABEL = "Sales tax";
const TAX_PERCENT = 8n;

const PRODUCTS = [
  { sku: "COF-1", barcode: "4006381333931", title: "Coffee beans 250 g", price: 899 },
  { sku: "MLK-1", barcode: "5012345678900", title: "Oat milk 1 l", price: 249 },
  { sku: "BRD-1", barcode: "4012345678901", title: "Sourdough loaf", price: 425 },
  { sku: "APL-1", barcode: "2000000000015", title: "Apples", price: 329, unit: "kg" },
  { sku: "CHO-1", barcode: "7622210449283", title: "Dark chocolate 85%", price: 279 },
  { sku: "TEA-1", barcode: "8712100849947", title: "Green tea (20 bags)", price: 365 },
];

const params = new URLSearchParams(location.hash.replace(/^#/, "") || location.search.replace(/^\?/, ""));
const register = params.get("register") || "demo";
const token = params.get("token") || "";
const $ = (id) => document.getElementById(id);
const text = (el, s) => { el.textContent = s == null ? "" : String(s); };

const products = PRODUCTS.slice();
const sale = newSale();

function newSale() {
  return { order: "D" + Date.now().toString(36).toUpperCase(), lines: [], discount: 0, state: "idle", tendered: null };
}

// ---- exact arithmetic ----

// parseMoney turns "12.5" into 1250 minor units, or null; never a float.
export function parseMoney(s) {
  s = String(s || "").trim().replace(/^\$/, "");
  const m = /^(\d{1,11})(?:\.(\d{0,2}))?$/.exec(s);
  if (!m) return null;
  return Number(m[1]) * 100 + Number(((m[2] || "") + "00").slice(0, FRACTION_DIGITS));
}

// parseQty turns "1.25" into 1250 thousandths, or null.
export function parseQty(s) {
  const m = /^(\d{1,6})(?:\.(\d{0,3}))?$/.exec(String(s || "").trim());
  if (!m) return null;
  return Number(m[1]) * 1000 + Number(((m[2] || "") + "000").slice(0, 3));
}

function qtyString(q) {
  const i = Math.floor(q / 1000);
  const f = String(q % 1000).padStart(3, "0").replace(/0+$/, "");
  return f ? i + "." + f : String(i);
}

// roundDiv returns round-half-up(a / b) for non-negative BigInts.
function roundDiv(a, b) { return (a * 2n + b) / (2n * b); }

function extend(qty, unitPrice) {
  return Number(roundDiv(BigInt(qty) * BigInt(unitPrice), 1000n));
}

function moneyString(minor) {
  const neg = minor < 0;
  const s = String(Math.abs(minor)).padStart(FRACTION_DIGITS + 1, "0");
  return (neg ? "-" : "") + "$" + s.slice(0, -FRACTION_DIGITS) + "." + s.slice(-FRACTION_DIGITS);
}

function totals() {
  const subtotal = sale.lines.reduce((a, l) => a + extend(l.qty, l.price), 0);
  const discount = Math.min(sale.discount, subtotal);
  const tax = Number(roundDiv(BigInt(subtotal - discount) * TAX_PERCENT, 100n));
  return { subtotal, discount, tax, total: subtotal - discount + tax };
}

// snapshot builds the cart the agent expects (docs/protocol.md).
function snapshot() {
  const t = totals();
  const c = {
    register,
    order: sale.order,
    currency: CURRENCY,
    state: sale.state,
    lines: sale.lines.map((l) => ({
      id: l.sku, sku: l.sku, barcode: l.barcode || "", title: l.title,
      quantity: qtyString(l.qty), unit: l.unit || "", unit_price: l.price,
      discount: 0, total: extend(l.qty, l.price),
    })),
    subtotal: t.subtotal,
    discount: t.discount,
    taxes: t.tax || t.subtotal ? [{ label: TAX_LABEL, amount: t.tax }] : [],
    total: t.total,
  };
  if ((sale.state === "payment" || sale.state === "complete") && sale.tendered !== null) {
    c.payment = { due: t.total, tendered: sale.tendered, change: Math.max(0, sale.tendered - t.total), method: "cash" };
  } else if (sale.state === "payment") {
    c.payment = { due: t.total, tendered: 0, change: 0, method: "cash" };
  }
  return c;
}

// ---- actions ----

function notice(msg) { text($("notice"), msg); }

function addProduct(p, qty) {
  qty = qty || 1000;
  if (sale.state === "complete") resetSale();
  let line = sale.lines.find((l) => l.sku === p.sku);
  if (line) line.qty += qty;
  else sale.lines.push(line = { sku: p.sku, barcode: p.barcode, title: p.title, price: p.price, unit: p.unit, qty });
  sale.state = "open";
  sale.tendered = null;
  notice("");
  changed();
}

function addBarcode(code) {
  const p = products.find((x) => x.barcode === code || x.sku === code);
  if (!p) {
    notice("Unknown barcode " + code);
    return false;
  }
  addProduct(p);
  return true;
}

function setQty(sku, q) {
  const i = sale.lines.findIndex((l) => l.sku === sku);
  if (i < 0) return;
  if (q === 0) sale.lines.splice(i, 1);
  else sale.lines[i].qty = q;
  if (sale.state === "payment") sale.state = "open";
  if (!sale.lines.length && sale.state === "open") sale.state = "open";
  changed();
}

function resetSale() {
  Object.assign(sale, newSale());
  bridge.clear();
  render();
}

function changed() {
  // Customer display first: the cashier's own table can follow.
  bridge.setCart(snapshot());
  render();
}

// ---- view ----

function render() {
  text($("order-id"), sale.order);
  const tbody = $("lines");
  tbody.replaceChildren();
  for (const l of sale.lines) {
    const tr = document.createElement("tr");
    tr.dataset.sku = l.sku;
    const name = document.createElement("td");
    text(name, l.title);
    const q = document.createElement("td");
    const minus = document.createElement("button");
    text(minus, "−");
    minus.className = "qty-minus";
    minus.onclick = () => setQty(l.sku, Math.max(0, l.qty - 1000));
    const input = document.createElement("input");
    input.className = "qty";
    input.value = qtyString(l.qty);
    input.setAttribute("aria-label", "Quantity of " + l.title);
    input.onchange = () => {
      const v = parseQty(input.value);
      if (v === null) { notice("Quantity must be a number with at most 3 decimals"); input.value = qtyString(l.qty); return; }
      setQty(l.sku, v);
    };
    const plus = document.createElement("button");
    text(plus, "+");
    plus.className = "qty-plus";
    plus.onclick = () => setQty(l.sku, l.qty + 1000);
    q.append(minus, input, plus);
    const price = document.createElement("td");
    text(price, moneyString(l.price) + (l.unit ? "/" + l.unit : ""));
    const tot = document.createElement("td");
    text(tot, moneyString(extend(l.qty, l.price)));
    const rm = document.createElement("td");
    const rmb = document.createElement("button");
    rmb.className = "remove";
    text(rmb, "Remove");
    rmb.onclick = () => setQty(l.sku, 0);
    rm.append(rmb);
    tr.append(name, q, price, tot, rm);
    tbody.append(tr);
  }
  const t = totals();
  text($("subtotal"), moneyString(t.subtotal));
  text($("discount-show"), t.discount ? "-" + moneyString(t.discount) : moneyString(0));
  text($("tax"), moneyString(t.tax));
  text($("total"), moneyString(t.total));
  text($("change"), sale.tendered !== null ? moneyString(Math.max(0, sale.tendered - t.total)) : "");
}

function renderProducts() {
  const grid = $("products");
  grid.replaceChildren();
  for (const p of products) {
    const b = document.createElement("button");
    b.dataset.sku = p.sku;
    b.className = "product";
    text(b, `${p.title} ${moneyString(p.price)}${p.unit ? "/" + p.unit : ""}`);
    b.onclick = () => addProduct(p);
    grid.append(b);
  }
}

const bridge = connect({ url: `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/v1/pos`, register, token });
bridge.on("state", (s) => {
  const el = $("conn");
  el.dataset.state = s.state;
  text(el, s.state + (s.state !== "open" && s.error ? " (" + s.error + ")" : ""));
});
bridge.on("error", (e) => notice("Agent: " + e.code + (e.field ? " " + e.field : "") + " " + e.message));
bridge.onScan((scan) => { addBarcode(scan.code); return true; });

$("barcode-form").onsubmit = (ev) => {
  ev.preventDefault();
  const code = $("barcode").value.trim();
  if (code) addBarcode(code);
  $("barcode").value = "";
};
$("discount-apply").onclick = () => {
  const v = parseMoney($("discount").value);
  if (v === null) { notice("Discount must be an amount such as 1.50"); return; }
  sale.discount = Math.min(v, totals().subtotal);
  changed();
};
$("discount-10").onclick = () => {
  sale.discount = Number(roundDiv(BigInt(totals().subtotal) * 10n, 100n));
  changed();
};
$("pay").onclick = () => {
  if (!sale.lines.length) { notice("Nothing to pay"); return; }
  sale.state = "payment";
  sale.tendered = null;
  changed();
};
$("tender").onclick = () => {
  const v = parseMoney($("tendered").value);
  if (v === null) { notice("Tendered must be an amount such as 20.00"); return; }
  if (!sale.lines.length) { notice("Nothing to pay"); return; }
  sale.state = "payment";
  sale.tendered = v;
  changed();
};
$("complete").onclick = () => {
  const t = totals();
  if (sale.tendered === null || sale.tendered < t.total) { notice("Tender at least the total first"); return; }
  sale.state = "complete";
  changed();
};
$("new-sale").onclick = () => resetSale();

text($("register-label"), "Register " + register);
renderProducts();
render();

// For tests and the curious: drive the page from the console.
window.posDemo = {
  bridge, sale, snapshot,
  addProduct: (p) => { products.push(p); renderProducts(); },
};
