/* buybutton card (docs/embeds.md). */
(function (w) {
  "use strict";
  var CSS = ".c{box-sizing:border-box;border:1px solid var(--buybutton-border,#d5d8e0);" +
    "border-radius:var(--buybutton-card-radius,14px);background:var(--buybutton-card,#fff);" +
    "color:var(--buybutton-ink,#17171c);overflow:hidden;text-align:left;" +
    "font:16px/1.4 var(--buybutton-font,system-ui,sans-serif)}" +
    "img{display:block;width:100%;height:200px;object-fit:cover;background:#eef0f4}" +
    ".i{display:grid;gap:6px;padding:12px 16px 16px}.t{margin:0;font-size:18px;font-weight:700;line-height:1.3}" +
    "p{margin:0}.s{font-size:14px;color:var(--buybutton-muted,#4d5060)}.r{display:flex;gap:10px}" +
    "label{display:grid;gap:2px;flex:1;font-size:14px}label[hidden]{display:none}" +
    "select{min-height:44px;font:inherit;color:inherit;background:#fff;border:1px solid #767b8a;" +
    "border-radius:8px;padding:0 8px}.b{width:100%}" +
    "select:focus-visible{outline:3px solid var(--buybutton-focus,#0b3bd3);outline-offset:1px}";

  w.BuyButton.ready("card", function (a) {
    var B = w.BuyButton, el = B.el, label = a.textContent;
    function data(k) { return a.getAttribute("data-buybutton-" + k); }
    var fallback = a.closest("[data-buybutton-card]"), tall = fallback && fallback.offsetHeight;
    if (fallback) fallback.replaceWith(a);
    var root = B.mount(a, CSS, { display: "block", "max-width": "var(--buybutton-card-width,360px)",
      "min-height": (tall || 452) + "px" });
    var sku = data("sku"), base = new URL(a.href), level = data("heading");
    var c = el("div", "c", root), img = el("img", "", c), i = el("div", "i", c), info = null;
    var h = el("p", "t", i), price = el("p", "", i), stock = el("p", "s", i), row = el("div", "r", i);
    function choice(text) {
      var l = el("label", "", row);
      l.textContent = text;
      return el("select", "", l);
    }
    var qty = choice("Quantity"), variant = choice("Option");
    img.alt = "";
    img.width = 360;
    img.height = 200;
    if (data("image")) img.src = data("image");
    if (level) {
      h.setAttribute("role", "heading");
      h.setAttribute("aria-level", level);
    }
    h.textContent = data("title") || label;
    price.textContent = data("price") || "\u00a0";
    stock.textContent = "\u00a0";
    variant.parentNode.hidden = true;
    price.setAttribute("aria-live", "polite");
    stock.setAttribute("aria-live", "polite");
    i.appendChild(a);

    function relink() {
      var url = new URL(base);
      if (variant.value && variant.value !== sku) url.searchParams.set("variant", variant.value);
      if (qty.value > 1) url.searchParams.set("quantity", qty.value);
      a.href = url;
    }
    function show(p) {
      if (!(info = p)) return;
      h.textContent = p.title;
      if (p.image_url) img.src = p.image_url;
      price.textContent = p.price.formatted;
      var t = p.text || {};
      stock.textContent = !p.in_stock ? t.sold_out || "Sold out" : p.low_stock ? t.low_stock || "Only " + p.low_stock + " left" : t.in_stock || "In stock";
      a.textContent = p.in_stock ? label : t.sold_out || "Sold out";
      if (p.in_stock) a.removeAttribute("aria-disabled"); else a.setAttribute("aria-disabled", "true");
      var keep = +qty.value || 1;
      qty.textContent = "";
      for (var n = 1; n <= Math.max(1, p.max_quantity); n++) el("option", "", qty).textContent = n;
      qty.value = Math.min(keep, qty.options.length);
      relink();
    }
    B.product(a).then(function (p) {
      if (p && p.variants.length > 1) {
        p.variants.forEach(function (v) {
          var o = el("option", "", variant);
          o.value = v.sku;
          o.textContent = v.label + " \u00b7 " + v.price.formatted + (v.in_stock ? "" : " (" + ((p.text || {}).sold_out_short || "sold out") + ")");
        });
        variant.value = sku;
        variant.parentNode.hidden = false;
      }
      show(p);
    }, function () {});
    variant.addEventListener("change", function () { B.product(a, variant.value).then(show); });
    qty.addEventListener("change", relink);
    a.addEventListener("click", function (e) { B.open(a, info, root, e); });
  });
})(window);
