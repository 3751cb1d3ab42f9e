/* buybutton video: each product shows over the <video> during its moment. */
(function (w) {
  "use strict";
  var BOX = { display: "block", position: "absolute", left: "12px", top: "12px", "z-index": "2",
    "max-width": "calc(100% - 24px)" };
  var CSS = ".m{display:flex;align-items:center;gap:10px;padding:8px;border-radius:12px;" +
    "background:#fffffff2;color:#17171c;box-shadow:0 4px 18px #0004;" +
    "font:14px/1.3 system-ui,sans-serif}img{width:48px;height:48px;border-radius:8px;object-fit:cover}" +
    "strong{display:block;font-size:15px}";

  w.BuyButton.ready("moment", function (a) {
    var B = w.BuyButton, el = B.el, box = a.closest("[data-buybutton-video]");
    var video = box && box.querySelector("video"), info = null;
    var at = +a.getAttribute("data-buybutton-at") || 0, until = +a.getAttribute("data-buybutton-until") || at + 15;
    var root = B.mount(a, CSS, BOX), host = root.host, m = el("div", "m", root);
    var img = el("img", "", m), text = el("span", "", m), name = el("strong", "", text), price = el("span", "", text);
    function title(t) {
      name.textContent = t;
      a.setAttribute("aria-label", "Buy " + t);
    }
    img.alt = "";
    title(a.textContent);
    a.textContent = "Buy";
    m.appendChild(a);
    if (video) {
      var list = host.parentNode.closest("ul,ol"), shown = null;
      box.appendChild(host);
      if (list && list.parentNode === box) list.style.display = "none";
      if (getComputedStyle(box).position === "static") box.style.position = "relative";
      var sync = function () {
        var on = video.currentTime >= at && video.currentTime < until;
        if (on !== shown) host.style.setProperty("display", (shown = on) ? "block" : "none", "important");
      };
      ["timeupdate", "seeked", "loadedmetadata"].forEach(function (e) { video.addEventListener(e, sync); });
      sync();
    }
    a.addEventListener("click", function (e) {
      if (video) video.pause();
      B.open(a, info, root, e);
    });
    B.product(a).then(function (p) {
      if (!(info = p)) return;
      title(p.title);
      price.textContent = p.price.formatted;
      if (p.image_url) img.src = p.image_url;
      if (!p.in_stock) { a.setAttribute("aria-disabled", "true"); a.textContent = "Sold out"; }
    }, function () {});
  });
})(window);
