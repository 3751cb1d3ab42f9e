/*! buybutton widget: turns <a data-buybutton-sku> checkout links into buttons with live
    price and stock. Without this script the links still open checkout. */
(function (w, d) {
  "use strict";
  if (w.BuyButton) { w.BuyButton.scan(); return; }
  var CSS =
    ".buybutton{display:inline-block;text-align:center;min-height:44px;box-sizing:border-box;" +
    "padding:.65em 1.15em;border-radius:8px;background:#1f5eff;color:#fff!important;" +
    "font:600 16px/1.2 system-ui,-apple-system,sans-serif;text-decoration:none!important;cursor:pointer}" +
    ".buybutton:focus-visible{outline:3px solid #9db6ff;outline-offset:2px}" +
    ".buybutton[aria-disabled=true]{background:#767b86;cursor:not-allowed}" +
    ".buybutton .bb-price{font-weight:400}";
  var cache = {};

  function addStyles() {
    try { // Constructed sheets need no inline <style>, so a strict host CSP allows them.
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      d.adoptedStyleSheets = d.adoptedStyleSheets.concat(sheet);
    } catch (e) { /* old browser: the link stays a plain link */ }
  }

  function product(api, sku) {
    var key = api + " " + sku;
    return cache[key] || (cache[key] = fetch(api + "/api/public/products/" + encodeURIComponent(sku),
      { credentials: "omit" }).then(function (r) { return r.ok ? r.json() : null; }));
  }

  function enhance(a) {
    if (a.hasAttribute("data-bb-ready")) return;
    a.setAttribute("data-bb-ready", "");
    a.classList.add("buybutton");
    var api = a.getAttribute("data-buybutton-api") || new URL(a.href).origin;
    try { // after paying, the shop offers a way back here (if this site is registered there)
      var url = new URL(a.href);
      if (!url.searchParams.has("return")) {
        url.searchParams.set("return", location.href.split("#")[0]);
        a.href = url.toString();
      }
    } catch (e) { /* leave the link as it is */ }
    var note = d.createElement("span");
    note.className = "bb-price";
    note.setAttribute("aria-live", "polite");
    a.appendChild(note);
    product(api, a.getAttribute("data-buybutton-sku")).then(function (p) {
      if (!p) return;
      if (!p.in_stock) {
        a.setAttribute("aria-disabled", "true");
        note.textContent = " · Sold out";
        a.addEventListener("click", function (e) { e.preventDefault(); });
        return;
      }
      note.textContent = " · " + p.price.formatted + (p.low_stock ? " · only " + p.low_stock + " left" : "");
    }, function () { /* offline or blocked: the plain link still works */ });
  }

  function scan() { d.querySelectorAll("a[data-buybutton-sku]").forEach(enhance); }

  addStyles();
  w.BuyButton = { scan: scan };
  if (d.readyState === "loading") d.addEventListener("DOMContentLoaded", scan); else scan();
})(window, document);
