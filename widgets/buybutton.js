/* buybutton widget (docs/embeds.md). */
(function (w, d) {
  "use strict";
  if (w.BuyButton) return w.BuyButton.scan();
  var here = (d.currentScript || { src: "" }).src.replace(/[^/]*$/, "buybutton-");
  var CSS = ".b{display:inline-block;text-align:center;box-sizing:border-box;min-height:44px;padding:.75em 1.15em;border-radius:var(--buybutton-radius,8px);background:var(--buybutton-color,#1f5eff);color:var(--buybutton-text-color,#fff);font:600 var(--buybutton-font-size,16px)/1.25 var(--buybutton-font,system-ui,sans-serif);text-decoration:none;cursor:pointer}.b:focus-visible{outline:3px solid var(--buybutton-focus,#0b3bd3);outline-offset:2px}.b[aria-disabled=true]{background:#5b606b;cursor:not-allowed}.p{font-weight:400}";
  var cache = {}, sheets = {}, modules = {};

  function el(tag, cls, parent) {
    var e = d.createElement(tag);
    if (cls) e.className = cls;
    if (parent) parent.append(e);
    return e;
  }

  function at(a, k) { return a.getAttribute("data-buybutton-" + k); }

  function sheet(css) {
    var s = sheets[css];
    if (!s) (s = sheets[css] = new CSSStyleSheet()).replaceSync(css);
    return s;
  }

  function apiOf(a) { return at(a, "api") || a.origin; }

  // The product (default: the link's) in the link's data-buybutton-currency, as its checkout;
  // cached by URL.
  function product(a, sku) {
    var c = at(a, "currency");
    sku = apiOf(a) + "/api/public/products/" + encodeURIComponent(sku || at(a, "sku")) + (c ? "?currency=" + encodeURIComponent(c) : "");
    return cache[sku] || (cache[sku] = fetch(sku).then(function (r) { return r.ok ? r.json() : null; }));
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
  }, { threshold: .5 });

  function mount(a, css, box) {
    var host = el("buybutton-widget"), root = host.attachShadow({ mode: "open" });
    root.adoptedStyleSheets = [sheet(CSS), sheet(css || "")];
    box = box || { display: "inline-block", "max-width": "100%" };
    for (var p in box) host.style.setProperty(p, box[p], "important");
    ["color", "text-color", "radius", "font-size"].forEach(function (k) {
      var v = at(a, k);
      if (v) host.style.setProperty("--buybutton-" + k, v);
    });
    a.before(host);
    a.className = "b";
    root.append(a);
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
    product(a).then(function (p) {
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
    el("script", "", d.head).src = here + name + ".js";
  }

  function scan() {
    d.querySelectorAll("a[data-buybutton-sku]:not([data-bb])").forEach(function (a) {
      a.dataset.bb = "";
      var kind = at(a, "layout");
      if (kind) load(kind, function (run) { run(a); }); else button(a);
    });
  }

  w.BuyButton = {
    scan: scan, product: product, mount: mount, open: open, el: el, sheet: sheet,
    ready: function (name, run) {
      var waiting = modules[name] || [];
      waiting.forEach(modules[name] = function (then) { then(run); });
    }
  };
  function start() {
    scan();
    new MutationObserver(scan).observe(d.documentElement, { childList: 1, subtree: 1 });
  }
  if (d.readyState === "loading") d.addEventListener("DOMContentLoaded", start); else start();
})(window, document);
