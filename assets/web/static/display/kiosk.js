// Kiosk behaviour of the web display on a tablet: the screen stays on
// (Screen Wake Lock, taken again whenever the page becomes visible: the
// browser releases it when the page is hidden or the screen turned off),
// the page does not zoom or select text under a customer's fingers, and it
// goes fullscreen: at once where the browser allows that, else at the first
// tap, with a clear "Tap to go fullscreen" until then. Installed from the
// home screen (manifest.json) it opens fullscreen by itself.
//
// Its state is on <body> for people and tests: data-wake-lock (held,
// released, hidden, refused, unsupported), data-wake-lock-count (times taken),
// data-fullscreen (on, needs-gesture, app, unsupported).

const $ = (id) => document.getElementById(id);
const mark = (k, v) => { document.body.dataset[k] = v; };

let lock = null;
let asking = false;
let taken = 0;

// keepAwake takes the screen wake lock if the page is visible and holds
// none. A refusal (no permission, battery saver) is retried at the next
// visibility change or tap.
async function keepAwake() {
  if (!("wakeLock" in navigator)) { mark("wakeLock", "unsupported"); return; }
  if (lock || asking) return;
  if (document.visibilityState !== "visible") { mark("wakeLock", "hidden"); return; }
  asking = true;
  try {
    const l = await navigator.wakeLock.request("screen");
    lock = l;
    taken++;
    mark("wakeLockCount", String(taken));
    mark("wakeLock", "held");
    l.addEventListener("release", () => {
      if (lock === l) lock = null;
      mark("wakeLock", "released");
    });
  } catch (e) {
    mark("wakeLock", "refused");
    console.warn("[display] screen wake lock refused:", e.name, e.message);
  } finally {
    asking = false;
  }
}

function isFullscreen() {
  return Boolean(document.fullscreenElement || document.webkitFullscreenElement);
}

// goFullscreen asks for fullscreen; without a user gesture the browser says
// no, and the hint stays up until a tap.
function goFullscreen() {
  const el = document.documentElement;
  const req = el.requestFullscreen || el.webkitRequestFullscreen;
  if (isFullscreen()) return;
  try {
    const p = req.call(el, { navigationUI: "hide" });
    if (p && typeof p.catch === "function") p.catch(showFullscreen);
  } catch (_) {
    showFullscreen();
  }
}

function showFullscreen() {
  const full = isFullscreen();
  $("fullscreen-hint").hidden = full;
  mark("fullscreen", full ? "on" : "needs-gesture");
}

function fullscreen() {
  const el = document.documentElement;
  const app = matchMedia("(display-mode: fullscreen), (display-mode: standalone)").matches || navigator.standalone === true;
  if (app) { mark("fullscreen", "app"); return; }
  if (!(el.requestFullscreen || el.webkitRequestFullscreen) || document.fullscreenEnabled === false) {
    mark("fullscreen", "unsupported"); // iPhone Safari: Add to Home Screen instead
    return;
  }
  showFullscreen();
  document.addEventListener("fullscreenchange", showFullscreen);
  document.addEventListener("webkitfullscreenchange", showFullscreen);
  document.addEventListener("click", goFullscreen); // any tap is a gesture
  goFullscreen(); // allowed without a gesture in some kiosk setups
}

// noZoom keeps the layout fixed under fingers: the viewport and CSS
// (touch-action, user-select) do most of it; iPadOS Safari ignores
// user-scalable=no, so its pinch gestures are cancelled here, as are
// double-tap zoom, the long-press menu and Ctrl+wheel or Ctrl +/- on
// keyboards (ChromeOS).
function noZoom() {
  const stop = (e) => e.preventDefault();
  for (const ev of ["gesturestart", "gesturechange", "dblclick", "contextmenu", "selectstart"]) {
    document.addEventListener(ev, stop, { passive: false });
  }
  document.addEventListener("wheel", (e) => { if (e.ctrlKey) e.preventDefault(); }, { passive: false });
  document.addEventListener("keydown", (e) => {
    if ((e.ctrlKey || e.metaKey) && ["+", "-", "=", "0"].includes(e.key)) e.preventDefault();
  });
}

// startKiosk turns it all on; call once at start-up.
export function startKiosk() {
  noZoom();
  document.addEventListener("visibilitychange", keepAwake);
  document.addEventListener("click", keepAwake); // after a refusal, a tap tries again
  keepAwake();
  fullscreen();
}
