// Minimal stand-in for Drupal core on the fixture harness: behaviors, and
// the product field's Ajax binding (event autocompleteclose) which, like
// Drupal.Ajax.beforeSend, disables the field for the round trip and then
// replaces the whole form with the server's next rendering.
(function () {
  var root = function () { return document.getElementById("fixture-root"); };
  window.Drupal = {
    behaviors: {},
    attachBehaviors: function (context, settings) {
      for (var k in this.behaviors) {
        try { this.behaviors[k].attach && this.behaviors[k].attach(context || document, settings || window.drupalSettings || {}); }
        catch (e) { console.error(e); }
      }
    },
  };
  var fx = window.fixture = {
    log: [],       // "submit:<value>" per accepted submission, "lost:<value>" if the field was busy
    queue: [],     // fixture names the "server" renders after each product submission
    delayMs: 60,   // Ajax round trip
    current: "",
    load: function (name) {
      return fetch("/fixtures/" + name + ".html").then(function (r) { return r.text(); }).then(function (html) {
        root().innerHTML = html;
        fx.current = name;
        window.Drupal.attachBehaviors(root(), window.drupalSettings);
      });
    },
  };
  document.addEventListener("autocompleteclose", function (ev) {
    var input = ev.target;
    if (!input.matches || !input.matches('input[name="order_items[target_id][product_selector]"]')) return;
    if (input.disabled) { fx.log.push("lost:" + input.value); return; }
    fx.log.push("submit:" + input.value);
    input.disabled = true;
    var next = fx.queue.shift();
    setTimeout(function () { if (next) fx.load(next); else input.disabled = false; }, fx.delayMs);
  });
})();
