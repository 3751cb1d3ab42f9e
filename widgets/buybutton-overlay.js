/* buybutton overlay: checkout in a dialog over the post (wide screens, registered sites). */
(function (w) {
  "use strict";
  var CSS = "dialog{border:0;padding:0;width:min(480px,96vw);height:min(780px,94vh);" +
    "border-radius:14px;overflow:hidden}dialog::backdrop{background:#000a}" +
    "iframe{border:0;width:100%;height:100%}.x{position:absolute;top:8px;right:8px;width:44px;" +
    "height:44px;border:0;border-radius:22px;background:#fff;color:#17171c;" +
    "font:26px/1 system-ui,sans-serif;cursor:pointer}.x:focus-visible{outline:3px solid #0b3bd3}";

  w.BuyButton.ready("overlay", function (a, root) {
    var B = w.BuyButton, sheet = B.sheet(CSS), url = new URL(a.href);
    var dlg = B.el("dialog", "", root), frame = B.el("iframe", "", dlg), x = B.el("button", "x", dlg);
    if (root.adoptedStyleSheets.indexOf(sheet) < 0) root.adoptedStyleSheets = root.adoptedStyleSheets.concat(sheet);
    url.searchParams.set("embed", "1");
    frame.src = url;
    frame.title = "Checkout";
    frame.allow = "payment";
    x.textContent = "\u00d7";
    x.setAttribute("aria-label", "Close checkout");
    x.addEventListener("click", function () { dlg.close(); });
    function message(e) {
      if (e.origin === url.origin && e.data && e.data.buybutton === "close") dlg.close();
    }
    w.addEventListener("message", message);
    dlg.setAttribute("aria-label", "Checkout");
    dlg.addEventListener("close", function () {
      w.removeEventListener("message", message);
      dlg.remove();
      a.focus();
    });
    dlg.showModal();
  });
})(window);
