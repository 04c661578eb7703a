// commerce-pos.js: posdisplay adapter for the Drupal Commerce POS cashier
// form (drupal/commerce_pos 8.x-2.x, POSForm + PosOrderItemWidget).
//
// It reads the order from the form's DOM (order item table, totals table,
// payment balance), builds a cart snapshot and hands it to pos-bridge.js; it
// follows every change (Drupal behaviors attach after each Ajax round trip,
// plus a MutationObserver for anything else). Scans from the agent are typed
// into the product lookup field, resolved through the field's autocomplete
// endpoint, and submitted the way a cashier's pick is (autocompleteclose).
// The stock form disables that field during each Ajax round trip, so scans
// are processed strictly one at a time and acknowledged only once the POS
// has taken the item: field re-rendered and enabled again, order updated.
//
// Start it with drupalSettings.posdisplay = {register, token, url} (the
// Drupal library in docs/web.md does this), or call start({...}) yourself.
// Every selector and label is configurable: see DEFAULTS.
import { connect } from "./pos-bridge.js";

export const DEFAULTS = {
  url: "ws://127.0.0.1:7421/v1/pos",
  register: "",
  token: "",
  currency: "USD", // used when the form does not show a currency code
  fractionDigits: 2, // minor-unit digits of the currency
  decimalSeparator: ".", // as the site formats prices
  selectors: {
    form: 'form[data-drupal-selector="commerce-pos"], form.commerce-order-pos-form',
    productInput: 'input[name="order_items[target_id][product_selector]"]',
    itemRows: 'table[data-drupal-selector="edit-order-items-target-id-order-items"] > tbody > tr',
    rowTitle: ".field--name-title",
    rowSku: ".field--name-sku .field__item",
    rowUnitPrice: 'input[name$="[unit_price][number]"]',
    rowCurrency: 'select[name$="[unit_price][currency_code]"], input[name$="[unit_price][currency_code]"]',
    rowQuantity: 'input[name$="[quantity]"]',
    rowRemove: 'input[name^="remove_order_item_"], button[name^="remove_order_item_"]',
    totalsRows: 'table[data-drupal-selector="edit-totals-totals"] tr',
    paymentRows: 'table[data-drupal-selector="edit-totals-payments"] tbody tr',
    balanceRows: 'table[data-drupal-selector="edit-totals-balance"] tr',
    paymentStep: ".layout-pos-form-payment, #commerce-pos-pay-form-wrapper",
    orderId: "[data-commerce-order-id]",
  },
  // Row labels in the balance table (translated sites change these).
  labels: { paid: "Total Paid", toPay: "To Pay", change: "Change" },
  // How long a scan may take before it counts as not taken (no ack).
  scanTimeoutMs: 15000,
  // Changes are read once the DOM has been quiet this long (Ajax swaps the
  // whole form in several mutations).
  settleMs: 15,
  // Hook: submitScan(input, code) -> Promise<boolean>; replaces the default
  // autocomplete lookup when a site uses a different product field.
  submitScan: null,
  // Hook: orderId(form) -> string.
  orderId: null,
};

function warn(...a) { try { console.warn("[commerce-pos]", ...a); } catch (_) { /* no console */ } }

function merge(opts) {
  const o = Object.assign({}, DEFAULTS, opts || {});
  o.selectors = Object.assign({}, DEFAULTS.selectors, (opts && opts.selectors) || {});
  o.labels = Object.assign({}, DEFAULTS.labels, (opts && opts.labels) || {});
  return o;
}

function clean(s) { return String(s == null ? "" : s).replace(/\s+/g, " ").trim(); }

// parseMoney reads "$1,234.50", "-$3.00", "(3.00)", "1234.5" or an input's
// "12.00" into integer minor units without floating point. null if no digits.
export function parseMoney(s, digits, decimal) {
  s = clean(s);
  if (!/\d/.test(s)) return null;
  const neg = /^\(.*\)$/.test(s) || /-|\u2212/.test(s);
  const dec = decimal || ".";
  let intPart = s, frac = "";
  const at = s.lastIndexOf(dec);
  if (at >= 0 && /^\D*\d{1,}\D*$/.test(s.slice(at + 1)) && s.slice(at + 1).replace(/\D/g, "").length <= 4) {
    intPart = s.slice(0, at);
    frac = s.slice(at + 1).replace(/\D/g, "");
  }
  intPart = intPart.replace(/\D/g, "") || "0";
  if (intPart.length > 13) return null;
  frac = (frac + "0".repeat(digits)).slice(0, digits);
  // A fourth fraction digit (e.g. "1.005") is dropped, not rounded: the
  // POS stores prices at the currency's precision.
  const v = Number(intPart) * Math.pow(10, digits) + (digits ? Number(frac) : 0);
  return neg ? -v : v;
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
  return Array.from(tr.querySelectorAll("td, th")).map((td) => clean(td.textContent));
}

/**
 * readCart builds a cart snapshot from the Commerce POS form under root.
 * prev is the last cart read (the payment step does not show the order
 * items, so its lines are kept from the order step). Returns
 * {cart, warnings}; cart is null when no POS form is on the page.
 */
export function readCart(root, options, prev) {
  const o = merge(options);
  const S = o.selectors;
  const warnings = [];
  const form = root.querySelector(S.form);
  if (!form) return { cart: null, warnings: ["no Commerce POS form on the page"] };
  const money = (s) => parseMoney(s, o.fractionDigits, o.decimalSeparator);

  let currency = o.currency;
  const paymentStep = !!(form.matches(S.paymentStep) || form.querySelector(S.paymentStep) || form.closest(S.paymentStep));

  let lines = [];
  if (!paymentStep) {
    form.querySelectorAll(S.itemRows).forEach((tr, i) => {
      const qtyEl = tr.querySelector(S.rowQuantity);
      const priceEl = tr.querySelector(S.rowUnitPrice);
      if (!qtyEl || !priceEl) return; // not an order item row
      const rm = tr.querySelector(S.rowRemove);
      const m = rm && /(\d+)$/.exec(rm.getAttribute("name") || "");
      const id = m ? "oi-" + m[1] : "row-" + i;
      const titleEl = tr.querySelector(S.rowTitle);
      const title = clean(titleEl ? titleEl.textContent : (tr.querySelector("td") || tr).textContent) || "Item";
      const skuEl = tr.querySelector(S.rowSku);
      const curEl = tr.querySelector(S.rowCurrency);
      if (curEl && /^[A-Z]{3}$/.test(curEl.value)) currency = curEl.value;
      const qty = parseQty(qtyEl.value);
      const price = money(priceEl.value);
      if (qty === null || qty <= 0) { warnings.push(`line ${id}: quantity ${JSON.stringify(qtyEl.value)} unreadable`); return; }
      if (price === null || price < 0) {
        // Return items carry negative unit prices, which a customer cart
        // cannot show as a line; see docs/web.md.
        warnings.push(`line ${id}: unit price ${JSON.stringify(priceEl.value)} not shown`);
        return;
      }
      const line = {
        id, title: title.slice(0, 200), quantity: qtyString(qty), unit_price: price,
        discount: 0, total: extend(qty, price),
      };
      const sku = skuEl ? clean(skuEl.textContent) : "";
      if (sku) line.sku = sku.slice(0, 64);
      lines.push(line);
    });
  } else if (prev && prev.lines) {
    lines = prev.lines.map((l) => Object.assign({}, l));
    currency = prev.currency || currency;
  }

  // Totals table: Subtotal, adjustments (promotions negative, taxes
  // positive), Total.
  const rows = Array.from(form.querySelectorAll(S.totalsRows)).map(cellTexts).filter((c) => c.length >= 2);
  let pageSubtotal = null, pageTotal = null, discount = 0;
  const taxes = [];
  rows.forEach((c, i) => {
    const amount = money(c[c.length - 1]);
    if (amount === null) return;
    if (i === 0) { pageSubtotal = amount; return; }
    if (i === rows.length - 1) { pageTotal = amount; return; }
    if (amount < 0) discount += -amount;
    else if (amount > 0) taxes.push({ label: (c[0] || "Tax").slice(0, 64), amount });
  });

  if (paymentStep && !lines.length && pageSubtotal) {
    // Page opened straight on the payment step: show the order as one line.
    lines = [{ id: "order", title: "Order", quantity: "1", unit_price: pageSubtotal, discount: 0, total: pageSubtotal }];
  }

  const subtotal = lines.reduce((a, l) => a + l.total, 0);
  if (pageSubtotal !== null && pageSubtotal !== subtotal) {
    warnings.push(`page subtotal ${pageSubtotal} differs from the lines' ${subtotal}`);
  }
  if (discount > subtotal) {
    warnings.push(`discount ${discount} above subtotal ${subtotal}, capped`);
    discount = subtotal;
  }
  const taxSum = taxes.reduce((a, t) => a + t.amount, 0);
  if (pageTotal !== null && taxSum && pageTotal === subtotal - discount) {
    taxes.forEach((t) => { t.included = true; }); // tax-inclusive prices
  }
  const total = subtotal - discount + taxes.reduce((a, t) => a + (t.included ? 0 : t.amount), 0);
  if (pageTotal !== null && pageTotal !== total) warnings.push(`page total ${pageTotal} differs from computed ${total}`);

  const c = {
    register: o.register,
    order: orderId(form, o),
    currency,
    state: lines.length ? "open" : "idle",
    lines,
    subtotal,
    discount,
    taxes,
    total,
  };

  if (paymentStep) {
    let paid = 0, method = "";
    form.querySelectorAll(S.paymentRows).forEach((tr) => {
      const cells = cellTexts(tr);
      if (!method && cells[0]) method = cells[0].replace(/\bvoid\b/i, "").trim();
    });
    let toPay = null;
    Array.from(form.querySelectorAll(S.balanceRows)).map(cellTexts).forEach((cells) => {
      const label = cells[0] || "";
      const amount = money(cells[cells.length - 1]);
      if (amount === null) return;
      if (label === o.labels.paid) paid += amount;
      else if (label === o.labels.toPay) toPay = amount;
    });
    c.state = "payment";
    c.payment = { due: total, tendered: paid, change: Math.max(0, paid - total) };
    if (method) c.payment.method = method.slice(0, 32);
    if (paid > 0 && (toPay === 0 || paid >= total)) c.state = "complete";
  }
  return { cart: c, warnings };
}

function orderId(form, o) {
  try {
    if (typeof o.orderId === "function") return String(o.orderId(form) || "").slice(0, 64);
    const el = form.querySelector(o.selectors.orderId) || form.closest(o.selectors.orderId);
    if (el) return String(el.getAttribute("data-commerce-order-id")).slice(0, 64);
    const m = /\/pos\/(\d+)(?:[/?#]|$)/.exec(form.getAttribute("action") || "");
    return m ? m[1] : "";
  } catch (_) { return ""; }
}

function cartKey(c) { return c ? JSON.stringify(c) : ""; }

/**
 * start attaches the adapter to the page: it connects the bridge, reads the
 * cart on every change and forwards scans. Returns {bridge, refresh, stop,
 * cart()}. Never throws.
 */
export function start(options) {
  const o = merge(options);
  const S = o.selectors;
  const bridge = connect({ url: o.url, register: o.register, token: o.token });
  let last = null; // last cart read
  let lastKey = "";
  let version = 0; // bumps when the cart read changes
  let formNode = null;
  let inputNode = null;
  let renders = 0; // bumps when the form or product field is replaced
  let timer = null;
  const waiters = new Set();

  function refresh() {
    try {
      timer = null;
      const form = document.querySelector(S.form);
      const input = document.querySelector(S.productInput);
      if (form !== formNode || input !== inputNode) {
        formNode = form;
        inputNode = input;
        renders++;
      }
      const { cart, warnings } = readCart(document, o, last);
      if (warnings.length) warn(warnings.join("; "));
      if (cart) {
        const key = cartKey(cart);
        if (key !== lastKey) {
          last = cart;
          lastKey = key;
          version++;
          bridge.setCart(cart);
        }
      }
      for (const w of Array.from(waiters)) w();
    } catch (e) {
      warn("reading the order failed:", e);
    }
  }

  function schedule() {
    if (timer === null) timer = setTimeout(refresh, o.settleMs);
  }

  const observer = new MutationObserver(schedule);
  observer.observe(document.documentElement, {
    subtree: true, childList: true, characterData: true,
    attributes: true, attributeFilter: ["disabled", "value", "class"],
  });
  // Input values typed by the cashier are not attributes: listen as well.
  document.addEventListener("change", schedule, true);

  // Wait until cond() holds, re-checked after each refresh; false on timeout.
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
      // Disabled-state changes on a property (not attribute) fire no
      // mutation, so poll gently as well.
      const poll = setInterval(check, 25);
      waiters.add(check);
      check();
    });
  }

  const fieldReady = () => {
    const i = document.querySelector(S.productInput);
    return !!i && !i.disabled && !i.readOnly;
  };

  async function defaultSubmit(input, code) {
    const path = input.getAttribute("data-autocomplete-path");
    let value = code;
    if (path) {
      const url = new URL(path, location.href);
      url.searchParams.set("q", code);
      const res = await fetch(url.toString(), { credentials: "same-origin", headers: { Accept: "application/json" } });
      const items = res.ok ? await res.json() : [];
      if (!Array.isArray(items) || !items.length) return "not_found";
      // Prefer the suggestion that mentions the code (SKU/UPC shown in its
      // label); a lone suggestion is taken as it is.
      let pick = items.find((it) => it && typeof it.label === "string" && it.label.includes(code));
      if (!pick && items.length === 1) pick = items[0];
      if (!pick) return "not_found";
      value = String(pick.value);
    }
    input.value = value;
    input.dispatchEvent(new Event("input", { bubbles: true }));
    // Drupal binds the field's Ajax to autocompleteclose (jQuery handlers
    // run for native events too).
    input.dispatchEvent(new CustomEvent("autocompleteclose", { bubbles: true }));
    return true;
  }

  async function takeScan(scan) {
    if (!(await until(fieldReady, o.scanTimeoutMs))) {
      warn("product field not ready, scan not taken:", scan.code);
      return false;
    }
    const input = document.querySelector(S.productInput);
    const v0 = version;
    const r0 = renders;
    let submitted;
    try {
      submitted = await (o.submitScan || defaultSubmit)(input, scan.code);
    } catch (e) {
      warn("submitting scan failed:", e);
      return false;
    }
    if (submitted === "not_found") {
      // The POS has seen it and there is nothing to add: ack so later scans
      // are not held; tell the host page.
      warn("no product for scan", scan.code);
      dispatchEvent(new CustomEvent("posdisplay:scan-not-found", { detail: { code: scan.code } }));
      return true;
    }
    if (!submitted) return false;
    // Taken = the form came back from its Ajax round trip (field re-rendered
    // or order changed) and the field accepts input again.
    const taken = await until(() => (renders !== r0 || version !== v0) && fieldReady(), o.scanTimeoutMs);
    if (!taken) warn("POS did not take scan", scan.code);
    return taken;
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
    stop() { observer.disconnect(); document.removeEventListener("change", schedule, true); bridge.close(); },
  };
}

// Auto-start on Drupal pages that carry drupalSettings.posdisplay.
try {
  const s = window.drupalSettings && window.drupalSettings.posdisplay;
  if (s && s.register && !window.__posdisplayCommercePos) {
    window.__posdisplayCommercePos = start(s);
  }
} catch (e) { warn("auto-start failed:", e); }
