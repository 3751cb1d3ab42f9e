/* buybutton widget (docs/embeds.md). */
(function (w, d) {
  "use strict";
  if (w.BuyButton) return w.BuyButton.scan();
  var me = d.currentScript, here = me ? me.src.replace(/[^/]*$/, "") : "";
  var CSS = ".b{display:inline-block;text-align:center;box-sizing:border-box;min-height:44px;padding:.75em 1.15em;border-radius:var(--buybutton-radius,8px);background:var(--buybutton-color,#1f5eff);color:var(--buybutton-text-color,#fff);font:600 var(--buybutton-font-size,16px)/1.25 var(--buybutton-font,system-ui,sans-serif);text-decoration:none;cursor:pointer}.b:focus-visible{outline:3px solid var(--buybutton-focus,#0b3bd3);outline-offset:2px}.b[aria-disabled=true]{background:#5b606b;cursor:not-allowed}.p{font-weight:400}";
  var cache = {}, sheets = {}, modules = {};

  function el(tag, cls, parent) {
    var e = d.createElement(tag);
    if (cls) e.className = cls;
    if (parent) parent.appendChild(e);
    return e;
  }

  function sheet(css) {
    var s = sheets[css];
    if (!s) (s = sheets[css] = new CSSStyleSheet()).replaceSync(css);
    return s;
  }

  function apiOf(a) { return a.getAttribute("data-buybutton-api") || new URL(a.href).origin; }

  function product(api, sku) {
    var key = api + " " + sku;
    return cache[key] || (cache[key] = fetch(api + "/api/public/products/" + encodeURIComponent(sku))
      .then(function (r) { return r.ok ? r.json() : null; }));
  }

  var io = new IntersectionObserver(function (es) {
    var by = {};
    es.forEach(function (e) {
      var a = e.target, api = apiOf(a);
      if (!e.isIntersecting) return;
      io.unobserve(a);
      (by[api] = by[api] || []).push(a.href.split("?")[0]);
    });
    for (var api in by) navigator.sendBeacon(api + "/api/public/events", JSON.stringify({ impressions: by[api] }));
  }, { threshold: 0.5 });

  function mount(a, css, box) {
    var host = d.createElement("buybutton-widget"), root = host.attachShadow({ mode: "open" });
    root.adoptedStyleSheets = [sheet(CSS), sheet(css || "")];
    box = box || { display: "inline-block", "max-width": "100%" };
    for (var p in box) host.style.setProperty(p, box[p], "important");
    ["color", "text-color", "radius", "font-size"].forEach(function (k) {
      var v = a.getAttribute("data-buybutton-" + k);
      if (v) host.style.setProperty("--buybutton-" + k, v);
    });
    a.parentNode.insertBefore(host, a);
    a.className = "b";
    root.appendChild(a);
    io.observe(a);
    var url = new URL(a.href), q = url.searchParams;
    q.has("return") || q.set("return", location.href.split(/[?#]/)[0]);
    a.href = url;
    return root;
  }

  function open(a, p, root, e) {
    if (a.getAttribute("aria-disabled")) return e.preventDefault();
    if (!p || !p.overlay || !w.matchMedia("(min-width:720px)").matches) return;
    e.preventDefault();
    load("overlay", function (run) { run(a, root); });
  }

  function button(a) {
    var root = mount(a), note = el("span", "p", a), info = null;
    note.setAttribute("aria-live", "polite");
    a.addEventListener("click", function (e) { open(a, info, root, e); });
    product(apiOf(a), a.getAttribute("data-buybutton-sku")).then(function (p) {
      if (!(info = p)) return;
      if (!p.in_stock) a.setAttribute("aria-disabled", "true");
      var t = p.text || {};
      note.textContent = " · " + (!p.in_stock ? t.sold_out || "Sold out" :
        p.price.formatted + (p.low_stock ? " · " + (t.low_stock || "only " + p.low_stock + " left") : ""));
    }, function () {});
  }

  function load(name, then) {
    var m = modules[name];
    if (m) return m.push ? m.push(then) : m(then);
    modules[name] = [then];
    el("script", "", d.head).src = here + "buybutton-" + name + ".js";
  }

  function scan() {
    d.querySelectorAll("a[data-buybutton-sku]:not([data-bb])").forEach(function (a) {
      a.setAttribute("data-bb", "");
      var kind = a.getAttribute("data-buybutton-layout");
      if (kind) load(kind, function (run) { run(a); }); else button(a);
    });
  }

  w.BuyButton = {
    scan: scan, product: product, mount: mount, open: open, api: apiOf, el: el, sheet: sheet,
    ready: function (name, run) {
      var waiting = modules[name] || [];
      modules[name] = function (then) { then(run); };
      waiting.forEach(function (then) { then(run); });
    }
  };
  function start() {
    scan();
    new MutationObserver(scan).observe(d.documentElement, { childList: 1, subtree: 1 });
  }
  if (d.readyState === "loading") d.addEventListener("DOMContentLoaded", start); else start();
})(window, document);
