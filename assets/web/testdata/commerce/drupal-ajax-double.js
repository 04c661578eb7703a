// A test double of Drupal 8.5 core's drupal.js, drupalSettingsLoader.js and
// misc/ajax.js, written from their documented behaviour (see README.md in
// this directory), for the posdisplay Commerce POS tests. It is not
// Drupal's code. What it reproduces, because the adapter depends on it:
//
// - drupalSettings is parsed from the page's
//   <script type="application/json" data-drupal-selector="drupal-settings-json">;
// - Drupal.behaviors are attached at DOM ready and after every Ajax
//   response (Drupal.attachBehaviors(context, settings));
// - one Drupal.Ajax object per element listed in drupalSettings.ajax,
//   bound to its event (autocompleteclose, change, mousedown), kept in
//   Drupal.ajax.instances, each with its own "ajaxing" flag: a second event
//   on the same element while its request is in flight is ignored;
//   requests from different elements may overlap, as in core;
// - beforeSend: the form is serialised, then the triggering element is
//   disabled and a throbber is inserted after it;
// - success: throbber removed, element re-enabled, then the commands: a
//   "settings" merge and an "insert" that replaceWith()s the step wrapper by
//   the server's copy (whose ids carry a new "--" + 11 characters suffix;
//   wrapped in a <div> unless it is a single element), behaviours attached
//   to the new content; error (HTTP 500): throbber
//   removed, element re-enabled in place, nothing replaced.
(function () {
  "use strict";

  var el = document.querySelector('script[data-drupal-selector="drupal-settings-json"]');
  var drupalSettings = window.drupalSettings = el ? JSON.parse(el.textContent) : {};

  var Drupal = window.Drupal = { behaviors: {}, ajaxLog: [], ajaxErrors: [] };

  Drupal.attachBehaviors = function (context, settings) {
    context = context || document;
    settings = settings || window.drupalSettings;
    Object.keys(Drupal.behaviors).forEach(function (k) {
      var b = Drupal.behaviors[k];
      if (b && typeof b.attach === "function") {
        try { b.attach(context, settings); } catch (e) { Drupal.ajaxErrors.push("behavior " + k + ": " + e); }
      }
    });
  };

  Drupal.detachBehaviors = function (context, settings, trigger) {
    Object.keys(Drupal.behaviors).forEach(function (k) {
      var b = Drupal.behaviors[k];
      if (b && typeof b.detach === "function") {
        try { b.detach(context || document, settings || window.drupalSettings, trigger || "unload"); } catch (e) { /* as core: ignore */ }
      }
    });
  };

  function Ajax(base, element, s) {
    this.base = base;
    this.element = element;
    this.wrapper = "#" + s.wrapper;
    this.event = s.event || (element.type === "checkbox" || element.type === "number" || element.type === "text" ? "change" : "mousedown");
    this.url = s.url;
    this.submit = s.submit || {};
    this.ajaxing = false;
    this.progress = null;
    var self = this;
    element.addEventListener(this.event, function (ev) {
      ev.preventDefault();
      self.eventResponse(ev);
    });
  }

  Ajax.prototype.eventResponse = function () {
    var name = this.submit._triggering_element_name || this.base;
    if (this.ajaxing) {
      Drupal.ajaxLog.push("ignored:" + name);
      return;
    }
    var form = this.element.form;
    // Serialised before the element is disabled (a disabled input is not
    // submitted).
    var data = new FormData(form);
    Object.keys(this.submit).forEach(function (k) { data.set(k, this.submit[k]); }, this);
    if (this.element.name && this.element.type !== "submit") data.set(this.element.name, this.element.value);
    data.set("_drupal_ajax", "1");
    data.set("ajax_page_state[theme]", "seven");
    this.ajaxing = true;
    Drupal.ajaxLog.push("send:" + name + "=" + (this.element.type === "submit" ? "" : this.element.value));
    // beforeSend
    this.element.disabled = true;
    var throbber = document.createElement("div");
    throbber.className = "ajax-progress ajax-progress-throbber";
    throbber.innerHTML = '<div class="throbber">&nbsp;</div>';
    this.element.after(throbber);
    this.progress = throbber;
    var self = this;
    var url = this.url + (this.url.indexOf("?") < 0 ? "?" : "&") + "_wrapper_format=drupal_ajax";
    fetch(url, { method: "POST", body: data, credentials: "same-origin" })
      .then(function (res) {
        if (!res.ok) throw new Error("An AJAX HTTP error occurred. HTTP Result Code: " + res.status);
        return res.json();
      })
      .then(function (cmds) { self.ajaxing = false; self.success(cmds); },
        function (e) { self.ajaxing = false; self.error(e); });
  };

  Ajax.prototype.success = function (cmds) {
    if (this.progress) this.progress.remove();
    this.progress = null;
    this.element.disabled = false;
    for (var i = 0; i < cmds.length; i++) {
      var c = cmds[i];
      if (c.command === "settings") {
        mergeSettings(window.drupalSettings, c.settings || {});
      } else if (c.command === "insert") {
        insert(c.selector || this.wrapper, c.data);
      }
    }
    Drupal.ajaxLog.push("done:" + (this.submit._triggering_element_name || this.base));
    Drupal.attachBehaviors(this.element.form || document, window.drupalSettings);
  };

  Ajax.prototype.error = function (e) {
    if (this.progress) this.progress.remove();
    this.progress = null;
    this.element.disabled = false;
    Drupal.ajaxErrors.push(String(e && e.message || e));
    Drupal.ajaxLog.push("error:" + (this.submit._triggering_element_name || this.base));
    Drupal.attachBehaviors(this.element.form || document, window.drupalSettings);
  };

  function mergeSettings(into, from) {
    Object.keys(from).forEach(function (k) {
      var v = from[k];
      if (v && typeof v === "object" && !Array.isArray(v) && into[k] && typeof into[k] === "object") mergeSettings(into[k], v);
      else if (v !== null && v !== undefined) into[k] = v;
    });
  }

  // The insert command with method replaceWith: the wrapper is replaced by
  // the new content, whose behaviours are then attached. As in core, new
  // content that is not exactly one element (a trailing newline is enough)
  // stays wrapped in a <div>: the step wrapper nests one level deeper on
  // every response.
  function insert(selector, data) {
    var target = document.querySelector(selector);
    if (!target) return;
    var wrapped = document.createElement("div");
    wrapped.innerHTML = String(data);
    var content = wrapped;
    if (wrapped.childNodes.length === 1 && wrapped.firstChild.nodeType === 1) content = wrapped.firstChild;
    Drupal.detachBehaviors(target, window.drupalSettings, "unload");
    target.replaceWith(content);
    if (document.documentElement.contains(content)) Drupal.attachBehaviors(content, window.drupalSettings);
  }

  Drupal.ajax = function (s) { var a = new Ajax(s.base, s.element, s); a.instanceIndex = Drupal.ajax.instances.length; Drupal.ajax.instances.push(a); return a; };
  Drupal.ajax.instances = [];

  Drupal.behaviors.AJAX = {
    attach: function (context, settings) {
      var list = (settings && settings.ajax) || {};
      Object.keys(list).forEach(function (base) {
        var e = document.getElementById(base);
        if (!e || e.__drupalAjax) return; // once('drupal-ajax')
        e.__drupalAjax = true;
        var s = Object.assign({}, list[base], { base: base, element: e });
        Drupal.ajax(s);
      });
      // Instances whose element left the page are dropped (detach 'unload').
      Drupal.ajax.instances = Drupal.ajax.instances.filter(function (a) { return a && (document.body.contains(a.element) || a.ajaxing); });
    },
  };

  document.addEventListener("DOMContentLoaded", function () {
    Drupal.attachBehaviors(document, window.drupalSettings);
  });
})();
