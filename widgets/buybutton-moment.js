/*! buybutton shoppable video: product links that appear over a <video> at their moment. */
(function (w, d) {
  "use strict";
  var BOX = { display: "block", position: "absolute", left: "12px", top: "12px", "z-index": "2",
    "max-width": "calc(100% - 24px)" };
  var CSS =
    ".m{display:flex;align-items:center;gap:10px;padding:8px;" +
    "border-radius:12px;background:#fffffff2;color:#17171c;box-shadow:0 4px 18px #0004;" +
    "font:14px/1.3 system-ui,-apple-system,sans-serif}img{width:48px;height:48px;border-radius:8px;object-fit:cover}" +
    "strong{display:block;font-size:15px}";

  w.BuyButton.ready("moment", function (a) {
    var B = w.BuyButton, box = a.closest("[data-buybutton-video]"), video = box && box.querySelector("video");
    var at = +a.getAttribute("data-buybutton-at") || 0, until = +a.getAttribute("data-buybutton-until") || at + 15;
    var root = B.mount(a, CSS, BOX), host = root.host, info = null;
    var m = d.createElement("div"), img = d.createElement("img"), text = d.createElement("span"), name = d.createElement("strong");
    var price = d.createElement("span");
    m.className = "m";
    img.alt = "";
    text.append(name, price);
    name.textContent = a.textContent;
    a.setAttribute("aria-label", "Buy " + a.textContent);
    a.textContent = "Buy";
    m.append(img, text, a);
    root.appendChild(m);
    if (video) {
      // The chip lives over the video; the plain list it came from is for pages without us.
      var list = host.parentNode.closest("ul,ol");
      box.appendChild(host);
      if (list && list.parentNode === box) list.style.display = "none";
      if (getComputedStyle(box).position === "static") box.style.position = "relative";
      var shown = null, sync = function () {
        var t = video.currentTime, on = t >= at && t < until;
        if (on !== shown) host.style.display = (shown = on) ? "block" : "none";
      };
      ["timeupdate", "seeked", "loadedmetadata"].forEach(function (e) { video.addEventListener(e, sync); });
      sync();
    }
    a.addEventListener("click", function (e) {
      if (a.getAttribute("aria-disabled")) return e.preventDefault();
      if (video) video.pause();
      B.open(a, info, root, e);
    });
    B.product(B.api(a), a.getAttribute("data-buybutton-sku")).then(function (p) {
      if (!(info = p)) return;
      name.textContent = p.title;
      a.setAttribute("aria-label", "Buy " + p.title);
      price.textContent = p.price.formatted;
      if (p.image_url) img.src = p.image_url;
      if (!p.in_stock) { a.setAttribute("aria-disabled", "true"); a.textContent = "Sold out"; }
    }, function () {});
  });
})(window, document);
