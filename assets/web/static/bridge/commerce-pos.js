// commerce-pos.js: posdisplay adapter for the Drupal Commerce POS cashier
// page (drupal/commerce_pos 8.x-2.x: POSForm + PosOrderItemWidget, Drupal 8
// core Ajax, any admin theme).
//
// What it reads, and from where (docs/web.md has the details):
// - the order id: the order step's "Void Order" link
//   (/admin/commerce/orders/<id>/delete), or drupalSettings.commercePosReceipt
//   .orderId on the payment step (receipt module); a page showing another
//   order than the last one is a new sale;
// - the lines, on the order step only: the saved quantity and prices that
//   the widget renders as hidden inputs (never a quantity typed but not yet
//   saved); return items (negative unit price) become return lines. The
//   payment step shows no lines: the lines of that order are kept in
//   sessionStorage across the full page POST;
// - totals by position (first row subtotal, last row total, adjustments in
//   between), payment balance rows by their classes, never by their English
//   labels; voided payments are skipped. When the lines do not add up to the
//   page's own totals, the page wins and the cashier is told so.
//
// Scans from the agent go through the POS's own exact path first: the code
// (the GTIN when the agent sends one) is put in the product field and
// 'autocompleteclose' is triggered, as the upstream barcode_scanning module
// does. A scan is acked only when the item is on the order (a line added or
// its quantity risen after the Ajax response); otherwise it is refused with
// a reason, and the cashier sees a dismissable notice on the POS page.
//
// Start it with drupalSettings.posdisplay = {register, token, url} (the
// Drupal library in docs/web.md does this), or call start({...}) yourself.
import { connect } from "./pos-bridge.js";

export const DEFAULTS = {
  url: "ws://127.0.0.1:7421/v1/pos",
  register: "",
  token: "",
  currency: "", // ISO code; read from the page's hidden currency inputs when empty
  fractionDigits: 2, // minor-unit digits of the currency
  decimalSeparator: "", // as the site formats prices; guessed from the page when empty
  selectors: {
    form: 'form[data-drupal-selector="commerce-pos"]',
    orderStep: "#commerce-pos-order-form-wrapper, .layout-pos-form-products",
    paymentStep: "#commerce-pos-pay-form-wrapper, .layout-pos-form-payment",
    productInput: 'input[name="order_items[target_id][product_selector]"]',
    itemRows: 'table[data-drupal-selector="edit-order-items-target-id-order-items"] > tbody > tr',
    rowTitle: ".field--name-title",
    rowSku: ".field--name-sku .field__item",
    rowUnitPrice: "input.commerce-pos-customer-display-unit-price-hidden",
    rowTotal: "input.commerce-pos-customer-display-item-total-price-hidden",
    rowQuantity: 'input[type="hidden"][name$="[quantity][quantity_hidden]"]',
    rowPriceNumber: 'input[name$="[unit_price][unit_price][number]"]',
    rowCurrency: 'input[name$="[unit_price][unit_price][currency_code]"], select[name$="[unit_price][unit_price][currency_code]"]',
    rowRemove: 'input[name^="remove_order_item_"], button[name^="remove_order_item_"]',
    rowReturn: 'input[name^="set_order_item_as_return_"]',
    deleteLink: 'a[data-drupal-selector="edit-actions-delete"], a[href*="/admin/commerce/orders/"][href*="/delete"]',
    totalsRows: "table.commerce-pos--totals--totals > tbody > tr",
    paymentRows: "table.commerce-pos--totals--payments > tbody > tr",
    paymentVoid: ".commerce-pos-pay-keypad-remove",
    balancePaid: "tr.commerce-pos--totals--total-paid",
    balanceToPay: "tr.commerce-pos--totals--to-pay",
    balanceChange: "tr.commerce-pos--totals--change",
  },
  // Scans: how long to wait for a quantity change (or any other Ajax
  // request) in flight before refusing a scan as busy.
  busyWaitMs: 5000,
  // How long the POS may take to answer a scan before it counts as failed.
  scanTimeoutMs: 15000,
  // Opt-in fallback when the exact lookup finds nothing: ask the product
  // field's autocomplete endpoint and take a single hit only.
  searchFallback: false,
  // Changes are read once the DOM has been quiet this long (Ajax swaps the
  // whole form in several mutations).
  settleMs: 15,
  // Hook: orderId(document) -> string, for sites that show it elsewhere.
  orderId: null,
  // Where notices for the cashier go (null: a fixed box on the page).
  noticeRoot: null,
};

const STORE_PREFIX = "posdisplay:commerce:";
// Line memory kept per order; older orders are forgotten.
const ORDERS_KEPT = 5;

function warn(...a) { try { console.warn("[commerce-pos]", ...a); } catch (_) { /* no console */ } }

function merge(opts) {
  const o = Object.assign({}, DEFAULTS, opts || {});
  o.selectors = Object.assign({}, DEFAULTS.selectors, (opts && opts.selectors) || {});
  return o;
}

function clean(s) { return String(s == null ? "" : s).replace(/\s+/g, " ").trim(); }

function cutRunes(s, n) { const r = Array.from(s); return r.length > n ? r.slice(0, n).join("") : s; }

// text is POS text fit for the cart: no control or bidi-override
// characters (the agent rejects a cart holding them), at most n runes.
function text(s, n) {
  // eslint-disable-next-line no-control-regex
  return cutRunes(clean(String(s == null ? "" : s).replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, " ")), n);
}

// parseMoney reads "$1,234.50", "-$3.00", "1.234,50 €", "(3.00)" into
// integer minor units without floating point. decimal is the site's decimal
// separator ("." or ","); null if the text has no digits.
export function parseMoney(s, digits, decimal) {
  s = clean(s);
  if (!/\d/.test(s)) return null;
  const neg = /^\(.*\)$/.test(s) || /-|\u2212/.test(s);
  const dec = decimal || guessDecimal(s);
  let intPart = s, frac = "";
  const at = s.lastIndexOf(dec);
  if (at >= 0) {
    const tail = s.slice(at + 1).replace(/\D/g, "");
    if (tail.length >= 1 && tail.length <= 4 && /^\d+\D*$/.test(s.slice(at + 1).trim())) {
      intPart = s.slice(0, at);
      frac = tail;
    }
  }
  intPart = intPart.replace(/\D/g, "") || "0";
  if (intPart.length > 13) return null;
  frac = (frac + "0".repeat(digits)).slice(0, digits);
  const v = Number(intPart) * Math.pow(10, digits) + (digits ? Number(frac) : 0);
  return neg ? -v : v;
}

// A lone separator followed by exactly 1-2 (or 3 when the other one is also
// present) digits at the end is the decimal one.
function guessDecimal(s) {
  const d = s.lastIndexOf("."), c = s.lastIndexOf(",");
  if (d >= 0 && c >= 0) return d > c ? "." : ",";
  if (c >= 0 && /,\d{1,2}\D*$/.test(s)) return ",";
  return ".";
}

// parseQty reads "1", "1.00", "0.250" into thousandths; null if invalid.
export function parseQty(s) {
  const m = /^(\d{1,7})(?:[.,](\d*))?$/.exec(clean(s));
  if (!m) return null;
  const f = (m[2] || "").replace(/0+$/, "");
  if (f.length > 3) return null;
  return Number(m[1]) * 1000 + Number((f + "000").slice(0, 3));
}

function qtyString(q) {
  const i = Math.floor(q / 1000);
  const f = String(q % 1000).padStart(3, "0").replace(/0+$/, "");
  return f ? i + "." + f : String(i);
}

function extend(qty, unitPrice) {
  // round half up of qty/1000 × price, exact in BigInt
  const p = BigInt(qty) * BigInt(unitPrice);
  return Number((p * 2n + 1000n) / 2000n);
}

function cellTexts(tr) {
  return Array.from(tr.children).filter((c) => c.matches("td, th")).map((td) => clean(td.textContent));
}

function lastAmount(tr, money) {
  const cells = Array.from(tr.children).filter((c) => c.matches("td, th"));
  return cells.length ? money(cells[cells.length - 1].textContent) : null;
}

// readOrderId: the order step's Void Order link, the receipt module's
// setting on the payment step, or the hook.
export function readOrderId(doc, options) {
  const o = merge(options);
  try {
    if (typeof o.orderId === "function") return cutRunes(String(o.orderId(doc) || ""), 64);
    for (const a of doc.querySelectorAll(o.selectors.deleteLink)) {
      const m = /\/admin\/commerce\/orders\/(\d+)\/delete(?:[/?#]|$)/.exec(a.getAttribute("href") || "");
      if (m) return m[1];
    }
    const w = doc.defaultView || (typeof window !== "undefined" ? window : null);
    const s = w && w.drupalSettings && w.drupalSettings.commercePosReceipt;
    if (s && s.orderId != null && /^\d{1,20}$/.test(String(s.orderId))) return String(s.orderId);
  } catch (_) { /* fall through */ }
  return "";
}

/**
 * readCart builds the cart the cashier page shows. memory is
 * {order, lines, currency} saved from this order's order step (the payment
 * step has no lines). Returns {cart, step, order, notes}: cart is null when
 * no POS form is on the page; notes are things the cashier must be told.
 */
export function readCart(doc, options, memory) {
  const o = merge(options);
  const S = o.selectors;
  const notes = [];
  const form = doc.querySelector(S.form);
  if (!form) return { cart: null, step: "", order: "", notes };
  const inStep = (sel) => !!(form.closest(sel) || form.querySelector(sel));
  const step = inStep(S.paymentStep) ? "payment" : inStep(S.orderStep) ? "order" : "order";
  let order = readOrderId(doc, o);
  if (!order && step === "payment" && memory && memory.order) order = memory.order; // no receipt module
  let decimal = o.decimalSeparator;
  let currency = o.currency;

  let lines = [];
  let fromMemory = false;
  if (step === "order") {
    form.querySelectorAll(S.itemRows).forEach((tr, i) => {
      const qtyEl = tr.querySelector(S.rowQuantity);
      const priceEl = tr.querySelector(S.rowPriceNumber);
      const shownPrice = tr.querySelector(S.rowUnitPrice);
      const shownTotal = tr.querySelector(S.rowTotal);
      if (!qtyEl || (!priceEl && !shownPrice)) return; // not an order item row
      const rm = tr.querySelector(S.rowRemove) || tr.querySelector(S.rowReturn);
      const m = rm && /(\d+)$/.exec(rm.getAttribute("name") || "");
      const id = m ? "oi-" + m[1] : "row-" + i;
      const curEl = tr.querySelector(S.rowCurrency);
      if (!currency && curEl && /^[A-Z]{3}$/.test(curEl.value)) currency = curEl.value;
      // The number input holds the saved price with "." (Commerce's price
      // element); the hidden formatted one tells the site's separator.
      if (!decimal && shownPrice && priceEl) decimal = separatorOf(shownPrice.value, priceEl.getAttribute("value"));
      const qty = parseQty(qtyEl.value);
      const raw = priceEl ? clean(priceEl.getAttribute("value")) : "";
      let price = raw ? parseMoney(raw, o.fractionDigits, /^-?\d+(\.\d+)?$/.test(raw) ? "." : decimal) : null;
      if (price === null && shownPrice) price = parseMoney(shownPrice.value, o.fractionDigits, decimal);
      if (qty === null || qty <= 0 || price === null) { notes.push(`line ${id} unreadable`); return; }
      const ret = price < 0;
      const unit = Math.abs(price);
      let total = extend(qty, unit);
      const pageTotal = shownTotal ? parseMoney(shownTotal.value, o.fractionDigits, decimal) : null;
      if (pageTotal !== null && Math.abs(Math.abs(pageTotal) - total) <= 1) total = Math.abs(pageTotal);
      const titleEl = tr.querySelector(S.rowTitle);
      const title = clean(titleEl ? titleEl.textContent : (tr.querySelector("td") || tr).textContent) || "Item";
      const line = { id, title: text(title, 200) || "Item", quantity: qtyString(qty), unit_price: unit, discount: 0, total };
      const skuEl = tr.querySelector(S.rowSku);
      const sku = skuEl ? clean(skuEl.textContent) : "";
      if (sku) line.sku = text(sku, 64);
      if (ret) line.return = true;
      lines.push(line);
    });
    // The widget lists the newest item first; the customer sees them in
    // the order they were rung up (order item ids rise).
    if (lines.every((l) => /^oi-\d+$/.test(l.id))) lines.sort((a, b) => Number(a.id.slice(3)) - Number(b.id.slice(3)));
  } else if (memory && memory.order === order && Array.isArray(memory.lines)) {
    lines = memory.lines.map((l) => Object.assign({}, l));
    fromMemory = true;
    if (!currency && memory.currency) currency = memory.currency;
  }
  const money = (s) => parseMoney(s, o.fractionDigits, decimal);

  // Totals table: the first row is the subtotal, the last the total, the
  // rows between are adjustments (promotions negative, taxes positive).
  const rows = Array.from(form.querySelectorAll(S.totalsRows));
  let pageSubtotal = null, pageTotal = null, discount = 0;
  const taxes = [];
  rows.forEach((tr, i) => {
    const amount = lastAmount(tr, money);
    if (amount === null) return;
    if (i === 0) { pageSubtotal = amount; return; }
    if (i === rows.length - 1) { pageTotal = amount; return; }
    const label = cellTexts(tr)[0] || "Tax";
    if (amount < 0) discount += -amount;
    else if (amount > 0) taxes.push({ label: text(label, 64) || "Tax", amount });
  });

  if (step === "payment" && !fromMemory && pageSubtotal) {
    // Opened straight on the payment step (another browser, or the lines
    // were never seen here): the page shows no items to show.
    lines = [{ id: "order", title: order ? "Order " + order : "Order", quantity: "1", unit_price: Math.abs(pageSubtotal), discount: 0, total: Math.abs(pageSubtotal) }];
    if (pageSubtotal < 0) lines[0].return = true;
    notes.push({ code: "no_lines", message: "The customer display shows this order as one line: its items were not seen on this register." });
  }

  const signed = (l) => (l.return ? -l.total : l.total);
  let subtotal = lines.reduce((a, l) => a + signed(l), 0);
  if (pageSubtotal !== null && pageSubtotal !== subtotal) {
    // The page wins: the difference is shown as a line of its own.
    const d = pageSubtotal - subtotal;
    lines.push({ id: "pos-adjustment", title: "Adjustment", quantity: "1", unit_price: Math.abs(d), discount: 0, total: Math.abs(d), return: d < 0 ? true : undefined });
    if (d >= 0) delete lines[lines.length - 1].return;
    subtotal = pageSubtotal;
    notes.push({ code: "total_mismatch", message: "The order lines do not add up to the POS subtotal; the customer display shows the POS's figures." });
  }
  const taxSum = taxes.reduce((a, t) => a + t.amount, 0);
  if (pageTotal !== null && taxSum && pageTotal === subtotal - discount) {
    taxes.forEach((t) => { t.included = true; }); // tax-inclusive prices
  }
  let total = subtotal - discount + taxes.reduce((a, t) => a + (t.included ? 0 : t.amount), 0);
  if (pageTotal !== null && pageTotal !== total) {
    const d = pageTotal - total;
    if (d < 0) discount += -d;
    else taxes.push({ label: "Other charges", amount: d });
    total = pageTotal;
    if (!notes.some((n) => n.code === "total_mismatch")) {
      notes.push({ code: "total_mismatch", message: "The order's adjustments do not add up to the POS total; the customer display shows the POS's total." });
    }
  }

  const c = {
    register: o.register,
    order,
    currency: currency || (memory && memory.currency) || "USD",
    state: lines.length ? "open" : "idle",
    lines,
    subtotal,
    discount,
    taxes,
    total,
  };

  if (step === "payment") {
    let method = "";
    form.querySelectorAll(S.paymentRows).forEach((tr) => {
      // A voided payment keeps its row with "VOID" for an amount and no
      // void button: it is no payment.
      const amount = lastAmount(tr, money);
      if (amount === null || amount <= 0) return;
      const first = tr.querySelector("td, th");
      if (!first) return;
      const label = Array.from(first.childNodes).filter((n) => n.nodeType === 3 || (n.nodeType === 1 && !n.matches(S.paymentVoid) && !n.querySelector(S.paymentVoid)))
        .map((n) => n.textContent).join(" ");
      if (clean(label)) method = clean(label);
    });
    const sumRows = (sel) => {
      let v = null;
      form.querySelectorAll(sel).forEach((tr) => { const a = lastAmount(tr, money); if (a !== null) v = (v || 0) + a; });
      return v;
    };
    const paid = sumRows(S.balancePaid) || 0;
    const toPay = sumRows(S.balanceToPay);
    // A negative total (returns) is a refund: due is negative and the
    // change is what the customer gets back.
    const due = total;
    c.state = "payment";
    c.payment = { due, tendered: Math.max(0, paid), change: Math.max(0, Math.max(0, paid) - due) };
    if (method) c.payment.method = text(method, 32);
    if ((paid > 0 && (toPay === 0 || paid >= due)) || (due < 0 && toPay === 0)) c.state = "complete";
  }
  return { cart: c, step, order, notes };
}

function separatorOf(formatted, plain) {
  formatted = clean(formatted);
  if (plain && String(plain).includes(".") && /,\d{1,4}\D*$/.test(formatted) && !/\.\d{1,4}\D*$/.test(formatted)) return ",";
  return guessDecimal(formatted);
}

// ---- memory across page loads ----
//
// posdisplay:commerce:<register>:last      -> the last order id seen on the order step
// posdisplay:commerce:<register>:order:<id> -> {order, lines, currency} of that order
// Only the ORDERS_KEPT most recent orders are kept.

function storage() {
  try { return window.sessionStorage; } catch (_) { return null; }
}

function loadMemory(register) {
  const st = storage();
  if (!st) return null;
  try {
    const last = st.getItem(STORE_PREFIX + register + ":last");
    if (!last) return null;
    const m = JSON.parse(st.getItem(STORE_PREFIX + register + ":order:" + last) || "null");
    return m && typeof m === "object" && m.order === last ? m : null;
  } catch (_) { return null; }
}

function saveMemory(register, mem) {
  const st = storage();
  if (!st) return;
  try {
    const k = STORE_PREFIX + register + ":order:";
    st.setItem(k + mem.order, JSON.stringify({ order: mem.order, lines: mem.lines, currency: mem.currency }));
    st.setItem(STORE_PREFIX + register + ":last", mem.order);
    const ids = [];
    for (let i = 0; i < st.length; i++) {
      const key = st.key(i);
      if (key && key.startsWith(k)) ids.push(key.slice(k.length));
    }
    ids.sort((a, b) => Number(a) - Number(b) || a.localeCompare(b));
    ids.filter((id) => id !== mem.order).slice(0, Math.max(0, ids.length - ORDERS_KEPT)).forEach((id) => st.removeItem(k + id));
  } catch (_) { /* full: memory stays in this page */ }
}

// ---- notices for the cashier ----

const NOTICE_STYLE = "position:fixed;right:12px;bottom:12px;z-index:10000;max-width:360px;font:14px/1.35 sans-serif";
const ITEM_STYLE = "background:#fff4e5;color:#3a2600;border:1px solid #e0a040;border-radius:4px;padding:8px 32px 8px 10px;margin-top:6px;position:relative;box-shadow:0 1px 4px rgba(0,0,0,.2)";

function noticeBox(o) {
  if (o.noticeRoot) return o.noticeRoot;
  let box = document.getElementById("posdisplay-notices");
  if (!box) {
    box = document.createElement("div");
    box.id = "posdisplay-notices";
    box.setAttribute("role", "status");
    box.setAttribute("aria-live", "polite");
    box.style.cssText = NOTICE_STYLE;
    document.body.appendChild(box);
  }
  return box;
}

// notify shows text to the cashier until dismissed; one notice per key.
function notify(o, key, text) {
  try {
    const box = noticeBox(o);
    let n = Array.from(box.children).find((c) => c.dataset.key === key);
    if (!n) {
      n = document.createElement("div");
      n.className = "posdisplay-notice";
      n.dataset.key = key;
      n.setAttribute("role", "alert");
      n.style.cssText = ITEM_STYLE;
      const t = document.createElement("span");
      t.className = "posdisplay-notice-text";
      const b = document.createElement("button");
      b.type = "button";
      b.className = "posdisplay-notice-dismiss";
      b.setAttribute("aria-label", "Dismiss");
      b.textContent = "\u00d7";
      b.style.cssText = "position:absolute;top:4px;right:6px;border:0;background:none;font-size:18px;cursor:pointer";
      b.addEventListener("click", () => n.remove());
      n.append(t, b);
      box.appendChild(n);
    }
    n.querySelector(".posdisplay-notice-text").textContent = "Customer display: " + text;
  } catch (e) { warn("notice:", text, e); }
}

function unnotify(o, key) {
  try {
    const box = o.noticeRoot || document.getElementById("posdisplay-notices");
    if (!box) return;
    Array.from(box.children).filter((c) => c.dataset.key === key).forEach((c) => c.remove());
  } catch (_) { /* ignore */ }
}

const REFUSE_TEXT = {
  no_product_field: "scan %s was not added: this step of the POS takes no products. Scan it again on the order screen.",
  not_found: "scan %s was not added: no product has this code.",
  ambiguous: "scan %s was not added: several products match this code.",
  lookup_error: "scan %s was not added: the POS could not look it up (server error).",
  wrong_sale: "scan %s was not added: it was taken during another sale.",
  busy: "scan %s was not added: the POS was busy. Scan it again.",
};

/**
 * start attaches the adapter to the page: it connects the bridge, reads the
 * cart on every change and places scans. Returns {bridge, refresh, stop,
 * cart()}. Never throws.
 */
export function start(options) {
  const o = merge(options);
  const S = o.selectors;
  const bridge = connect({ url: o.url, register: o.register, token: o.token, storage: storage() });
  let memory = loadMemory(o.register); // {order, lines, currency} of the last order step seen
  let lastKey = "";
  let last = null; // last cart read from the page
  let sent = null; // last cart handed to the bridge
  let timer = null;
  const waiters = new Set();

  function remember(read) {
    if (read.step === "order" && read.cart && read.order) {
      const lines = read.cart.lines.filter((l) => l.id !== "pos-adjustment");
      const key = JSON.stringify(lines) + read.cart.currency;
      if (memory && memory.order === read.order && memory.key === key) return;
      memory = { order: read.order, lines, currency: read.cart.currency, key };
      saveMemory(o.register, memory);
    }
  }

  function refresh() {
    timer = null;
    try {
      const read = readCart(document, o, memory);
      if (read.cart) {
        remember(read);
        last = read.cart;
        const key = JSON.stringify(read.cart);
        if (key !== lastKey) {
          lastKey = key;
          publish(read.cart);
          // Told once per cart read: a dismissed notice stays dismissed
          // until the order changes.
          for (const n of read.notes) {
            if (typeof n === "object") notify(o, n.code, n.message);
            else warn(n);
          }
          for (const code of ["total_mismatch", "no_lines"]) {
            if (!read.notes.some((n) => n.code === code)) unnotify(o, code);
          }
        }
      }
      for (const w of Array.from(waiters)) w();
    } catch (e) {
      warn("reading the order failed:", e);
    }
  }

  function publish(c) {
    const hasReturns = c.lines.some((l) => l.return) || c.total < 0;
    if (hasReturns && !bridge.has("returns")) {
      // An older agent would reject (or misstate) the cart: keep showing
      // the last good one and tell the cashier.
      notify(o, "returns", "this agent cannot show returns; the customer display keeps the last cart without them.");
      return;
    }
    unnotify(o, "returns");
    sent = c;
    bridge.setCart(c);
  }

  // The welcome arrives after the first read: re-publish, as the features
  // decide what may be sent.
  bridge.on("welcome", () => { lastKey = ""; refresh(); });
  bridge.on("refuse", (r) => {
    const text = (REFUSE_TEXT[r.reason] || "scan %s was not added.").replace("%s", r.code);
    notify(o, "scan-" + r.id, text + (r.sent ? "" : " (not reported: update the posdisplay agent)"));
  });

  function schedule() {
    if (timer === null) timer = setTimeout(refresh, o.settleMs);
  }

  const observer = new MutationObserver(schedule);
  observer.observe(document.documentElement, {
    subtree: true, childList: true, characterData: true,
    attributes: true, attributeFilter: ["disabled", "value", "class", "checked"],
  });

  // Wait until cond() holds, re-checked after each refresh and every 25 ms
  // (a disabled property changes no attribute); false on timeout.
  function until(cond, ms) {
    return new Promise((resolve) => {
      let done = false;
      const check = () => {
        if (done) return;
        let ok = false;
        try { ok = cond(); } catch (_) { ok = false; }
        if (ok) finish(true);
      };
      const finish = (v) => { done = true; waiters.delete(check); clearTimeout(t); clearInterval(poll); resolve(v); };
      const t = setTimeout(() => finish(false), ms);
      const poll = setInterval(check, 25);
      waiters.add(check);
      check();
    });
  }

  // Drupal's Ajax objects carry an "ajaxing" flag for the request in flight;
  // its throbber sits in the form meanwhile.
  function ajaxBusy() {
    try {
      const D = window.Drupal;
      if (D && D.ajax && Array.isArray(D.ajax.instances) && D.ajax.instances.some((a) => a && a.ajaxing)) return true;
    } catch (_) { /* not Drupal */ }
    return !!document.querySelector(S.form + " .ajax-progress");
  }

  function quantities() {
    const q = new Map();
    const r = readCart(document, o, memory);
    if (r.cart && r.step === "order") for (const l of r.cart.lines) if (!l.return) q.set(l.id, parseQty(l.quantity));
    return { order: r.order, q };
  }

  function grew(before, after) {
    for (const [id, n] of after.q) if (!before.q.has(id) || n > before.q.get(id)) return true;
    return false;
  }

  const refuse = (reason, message) => ({ refuse: reason, message });

  // submitCode puts value in the product field and fires the event the
  // widget's Ajax listens to. Resolves "taken", "unchanged", "error" or
  // "ignored" (the POS did not start a request).
  async function submitCode(value) {
    const input = document.querySelector(S.productInput);
    if (!input || input.disabled) return "ignored";
    const before = quantities();
    const jq = window.jQuery;
    if (jq && jq.fn && jq.fn.trigger) {
      jq(input).val(value).trigger("autocompleteclose");
    } else {
      input.value = value;
      input.dispatchEvent(new CustomEvent("autocompleteclose", { bubbles: true }));
    }
    const started = input.disabled || ajaxBusy() || !input.isConnected;
    if (!started) return "ignored";
    // Done: the field was replaced by the response (success) or enabled
    // again in place (error), and no request is in flight.
    const done = await until(() => {
      const now = document.querySelector(S.productInput);
      if (ajaxBusy()) return false;
      return (now && now !== input && !now.disabled) || (input.isConnected && !input.disabled);
    }, o.scanTimeoutMs);
    if (!done) return "error";
    refresh();
    if (input.isConnected && document.querySelector(S.productInput) === input) return "error";
    return grew(before, quantities()) ? "taken" : "unchanged";
  }

  async function search(input, code) {
    const path = input.getAttribute("data-autocomplete-path");
    if (!path) return { none: true };
    const url = new URL(path, location.href);
    url.searchParams.set("q", code);
    let res;
    try {
      res = await fetch(url.toString(), { credentials: "same-origin", headers: { Accept: "application/json" } });
    } catch (_) { return { error: true }; }
    if (!res.ok) return { error: true };
    let items;
    try { items = await res.json(); } catch (_) { return { error: true }; }
    if (!Array.isArray(items) || !items.length) return { none: true };
    if (items.length > 1) return { many: true };
    return { value: String(items[0].value) };
  }

  async function takeScan(scan) {
    const code = scan.gtin || scan.code;
    const current = readOrderId(document, o) || (memory && memory.order) || "";
    if (scan.order && current && scan.order !== current) {
      return refuse("wrong_sale", `scan from order ${scan.order}, the POS shows order ${current}`);
    }
    if (!document.querySelector(S.productInput)) {
      return refuse("no_product_field", "no product field on this POS step");
    }
    if (ajaxBusy() || document.querySelector(S.productInput).disabled) {
      const free = await until(() => !ajaxBusy() && !!document.querySelector(S.productInput) && !document.querySelector(S.productInput).disabled, o.busyWaitMs);
      if (!free) return refuse(document.querySelector(S.productInput) ? "busy" : "no_product_field", "the POS was busy with another request");
      // The request we waited for may have moved to another step or sale.
      const now = readOrderId(document, o) || current;
      if (scan.order && now && scan.order !== now) return refuse("wrong_sale", `scan from order ${scan.order}, the POS shows order ${now}`);
    }
    let r = await submitCode(code);
    if (r === "ignored") return refuse("busy", "the product field did not start a request");
    if (r === "error") return refuse("lookup_error", "the POS answered the lookup with an error");
    if (r === "taken") return true;
    if (!o.searchFallback) return refuse("not_found", "no product with code " + code);
    const input = document.querySelector(S.productInput);
    if (!input) return refuse("no_product_field", "no product field on this POS step");
    const hit = await search(input, code);
    if (hit.error) return refuse("lookup_error", "the product search failed");
    if (hit.none) return refuse("not_found", "no product with code " + code);
    if (hit.many) return refuse("ambiguous", "several products match code " + code);
    r = await submitCode(hit.value);
    if (r === "taken") return true;
    if (r === "error" || r === "ignored") return refuse("lookup_error", "the POS did not add the product found");
    return refuse("not_found", "no product with code " + code);
  }

  bridge.onScan(takeScan);

  // Drupal re-attaches behaviors to every Ajax-replaced fragment.
  try {
    const D = window.Drupal;
    if (D && D.behaviors) D.behaviors.posdisplayCommercePos = { attach: schedule };
  } catch (_) { /* not a Drupal page */ }

  refresh();
  return {
    bridge,
    refresh,
    cart: () => last,
    sent: () => sent,
    stop() { observer.disconnect(); bridge.close(); },
  };
}

// Auto-start on Drupal pages that carry drupalSettings.posdisplay.
try {
  const s = window.drupalSettings && window.drupalSettings.posdisplay;
  if (s && s.register && !window.__posdisplayCommercePos) {
    window.__posdisplayCommercePos = start(s);
  }
} catch (e) { warn("auto-start failed:", e); }
