/*! buybutton widget: turns <a data-buybutton-sku> checkout links into buttons with live
    price and stock, each in its own Shadow DOM. Without this script the links still open
    checkout. Cards and shoppable videos load their own small module on demand. */
(function (w, d) {
  "use strict";
  if (w.BuyButton) { w.BuyButton.scan(); return; }
  var script = d.currentScript, here = script ? script.src.replace(/[^/]*$/, "") : "";
  var CSS =
    ".b{display:inline-block;text-align:center;box-sizing:border-box;" +
    "min-height:44px;padding:.75em 1.15em;border-radius:var(--buybutton-radius,8px);" +
    "background:var(--buybutton-color,#1f5eff);color:var(--buybutton-text-color,#fff);" +
    "font:600 var(--buybutton-font-size,16px)/1.25 var(--buybutton-font,system-ui,sans-serif);" +
    "text-decoration:none;cursor:pointer}" +
    ".b:focus-visible{outline:3px solid var(--buybutton-focus,#0b3bd3);outline-offset:2px}" +
    ".b[aria-disabled=true]{background:#5b606b;cursor:not-allowed}.p{font-weight:400}";
  var THEME = ["color", "text-color", "radius", "font-size"];
  var cache = {}, sheets = {};

  function sheet(css) {
    var s = sheets[css];
    if (!s) (s = sheets[css] = new CSSStyleSheet()).replaceSync(css);
    return s;
  }

  function product(api, sku) {
    var key = api + " " + sku;
    // A cross-origin fetch sends no cookies: nothing about the reader goes with it.
    return cache[key] || (cache[key] = fetch(api + "/api/public/products/" + encodeURIComponent(sku))
      .then(function (r) { return r.ok ? r.json() : null; }));
  }

  // Move the publisher's link into a shadow root on a new host element: host CSS cannot
  // reach it, and nothing of ours leaks out. Theme attributes become CSS custom properties.
  // The host's own box is set inline (CSSOM, allowed by any CSP), where `* {all: unset}`
  // on the page cannot undo it.
  function mount(a, css, box) {
    var host = d.createElement("span"), root = host.attachShadow({ mode: "open" });
    root.adoptedStyleSheets = [sheet(CSS), sheet(css || "")];
    box = box || { display: "inline-block", "max-width": "100%" };
    for (var p in box) host.style.setProperty(p, box[p]);
    if (io) io.observe(a);
    THEME.forEach(function (k) {
      var v = a.getAttribute("data-buybutton-" + k);
      if (v) host.style.setProperty("--buybutton-" + k, v);
    });
    host.className = "buybutton-host";
    a.parentNode.insertBefore(host, a);
    a.className = "b";
    root.appendChild(a);
    // After paying, the shop offers a way back here (if this site is registered there).
    var url = new URL(a.href), q = url.searchParams;
    q.has("return") || q.set("return", location.href.split("#")[0]);
    a.href = url;
    return root;
  }

  // Wide screens on a site the merchant registered: checkout in a dialog over the post.
  function open(a, p, root, e) {
    if (!p || !p.overlay || !w.matchMedia("(min-width:720px)").matches) return;
    e.preventDefault();
    load("overlay", function (run) { run(a, root); });
  }

  // Impressions: links at least half on screen, one sendBeacon per batch the observer
  // reports. No cookie, no id: the server counts them against the signed link's placement.
  var io = w.IntersectionObserver && navigator.sendBeacon && new IntersectionObserver(function (es) {
    var by = {};
    es.forEach(function (e) {
      var a = e.target, api = api_of(a);
      if (!e.isIntersecting) return;
      io.unobserve(a);
      (by[api] = by[api] || []).push(a.href.split("?")[0]);
    });
    for (var api in by) navigator.sendBeacon(api + "/api/public/events", JSON.stringify({ impressions: by[api] }));
  }, { threshold: 0.5 });

  function button(a) {
    var root = mount(a), note = d.createElement("span"), api = api_of(a), info = null;
    note.className = "p";
    note.setAttribute("aria-live", "polite");
    a.appendChild(note);
    a.addEventListener("click", function (e) {
      if (a.getAttribute("aria-disabled")) e.preventDefault(); else open(a, info, root, e);
    });
    product(api, a.getAttribute("data-buybutton-sku")).then(function (p) {
      if (!(info = p)) return;
      if (!p.in_stock) {
        a.setAttribute("aria-disabled", "true");
        note.textContent = " \u00b7 Sold out";
      } else {
        note.textContent = " \u00b7 " + p.price.formatted + (p.low_stock ? " \u00b7 only " + p.low_stock + " left" : "");
      }
    }, function () { /* offline or blocked: the plain link still works */ });
  }

  function api_of(a) { return a.getAttribute("data-buybutton-api") || new URL(a.href).origin; }

  var modules = {};
  function load(name, then) { // a module calls BuyButton.ready(name, fn) when it has loaded
    if (modules[name]) return modules[name].push ? modules[name].push(then) : modules[name](then);
    modules[name] = [then];
    var s = d.createElement("script");
    s.async = true;
    s.src = here + "buybutton-" + name + ".js";
    d.head.appendChild(s);
  }

  function scan() {
    d.querySelectorAll("a[data-buybutton-sku]:not([data-bb])").forEach(function (a) {
      a.setAttribute("data-bb", "");
      var kind = a.getAttribute("data-buybutton-layout");
      if (kind) load(kind, function (run) { run(a); }); else button(a);
    });
  }

  w.BuyButton = {
    scan: scan, product: product, mount: mount, open: open, api: api_of,
    ready: function (name, run) {
      var waiting = modules[name] || [];
      modules[name] = function (then) { then(run); };
      waiting.forEach(function (then) { then(run); });
    }
  };
  if (d.readyState === "loading") d.addEventListener("DOMContentLoaded", scan); else scan();
})(window, document);
