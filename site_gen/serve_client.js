/* site-gen serve: live reload client. Served by `site-gen serve` only, at
   /__site-gen__/reload.js, and injected as <script src> into previewed pages
   (never into `site-gen build` output). It listens to the server's event
   stream and, after each build:
   - shows an overlay listing the build's errors (and hides it once fixed);
   - swaps changed stylesheets in place when only CSS changed;
   - reloads the page when it (or a script or image) changed, keeping the
     scroll position.
   A hidden tab closes its stream (browsers allow ~6 connections per host)
   and reconnects when shown again, reloading if it missed a build. */
(function () {
  "use strict";

  var me = document.currentScript;
  var page = me ? me.getAttribute("data-page") : "";
  var generation = me ? Number(me.getAttribute("data-generation")) : 0;
  var scrollKey = "site-gen:scroll:" + location.pathname;
  var stream = null;
  var overlay = null;

  function reload() {
    try {
      sessionStorage.setItem(scrollKey, JSON.stringify({ x: window.scrollX, y: window.scrollY }));
    } catch (e) { /* storage disabled: reload without keeping the position */ }
    location.reload();
  }

  function restoreScroll() {
    var saved = null;
    try { saved = JSON.parse(sessionStorage.getItem(scrollKey) || "null"); } catch (e) { saved = null; }
    if (!saved) { return; }
    window.scrollTo(saved.x, saved.y);
    window.addEventListener("load", function () {
      window.scrollTo(saved.x, saved.y);
      try { sessionStorage.removeItem(scrollKey); } catch (e) { /* ignore */ }
    });
  }

  function pathOf(url) {
    return decodeURIComponent(new URL(url, location.href).pathname).replace(/^\//, "");
  }

  function swapStylesheets(changed) {
    document.querySelectorAll('link[rel~="stylesheet"]').forEach(function (link) {
      if (changed.indexOf(pathOf(link.href)) < 0) { return; }
      var fresh = link.cloneNode();
      var url = new URL(link.href);
      url.searchParams.set("site-gen", String(generation));
      fresh.href = url.href;
      fresh.addEventListener("load", function () { link.remove(); });
      fresh.addEventListener("error", function () { link.remove(); });
      link.after(fresh);
    });
  }

  function style(element, properties) {
    Object.keys(properties).forEach(function (key) { element.style[key] = properties[key]; });
    return element;
  }

  function showErrors(errors) {
    if (overlay) { overlay.remove(); overlay = null; }
    if (!errors.length) { return; }
    overlay = style(document.createElement("div"), {
      position: "fixed", inset: "0", zIndex: "2147483647", overflow: "auto", padding: "2rem",
      background: "rgba(20, 20, 20, 0.92)", color: "#fff", font: "14px/1.5 ui-monospace, monospace"
    });
    overlay.id = "site-gen-error-overlay";
    overlay.setAttribute("role", "alert");
    var title = style(document.createElement("h2"), { margin: "0 0 1rem", color: "#ff8a80", font: "bold 18px sans-serif" });
    title.textContent = "site-gen: the build failed; this page shows the last good build";
    overlay.appendChild(title);
    errors.forEach(function (text) {
      var item = style(document.createElement("pre"), { whiteSpace: "pre-wrap", margin: "0 0 1rem" });
      item.className = "site-gen-error";
      item.textContent = text;
      overlay.appendChild(item);
    });
    var close = style(document.createElement("button"), { position: "absolute", top: "1rem", right: "1rem" });
    close.type = "button";
    close.textContent = "Dismiss";
    close.addEventListener("click", function () { showErrors([]); });
    overlay.appendChild(close);
    document.body.appendChild(overlay);
  }

  function apply(data) {
    if (data.generation === generation) { return; }
    var changed = data.changed;
    if (changed === null) { reload(); return; }
    var css = changed.filter(function (p) { return /\.css$/.test(p); });
    var others = changed.filter(function (p) { return !/\.(css|html)$/.test(p); });
    generation = data.generation;
    if (others.length || changed.indexOf(page) >= 0) { reload(); return; }
    if (css.length) { swapStylesheets(css); }
  }

  function connect() {
    if (stream) { return; }
    stream = new EventSource("/__site-gen__/events");
    stream.addEventListener("hello", function (event) {
      var data = JSON.parse(event.data);
      showErrors(data.errors);
      if (data.generation !== generation) { reload(); }
    });
    stream.addEventListener("build", function (event) {
      var data = JSON.parse(event.data);
      showErrors(data.errors);
      if (!data.errors.length) { apply(data); }
    });
  }

  function disconnect() {
    if (stream) { stream.close(); stream = null; }
  }

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) { disconnect(); } else { connect(); }
  });
  window.addEventListener("pagehide", disconnect);
  window.addEventListener("pageshow", function () { if (!document.hidden) { connect(); } });

  restoreScroll();
  if (!document.hidden) { connect(); }
}());
