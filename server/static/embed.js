// Pages of the shop shown in a frame on someone else's page.
(function () {
  "use strict";
  if (window.parent === window) return;

  if (!document.body.classList.contains("embed")) {
    // The overlay checkout: Escape closes the dialog even while the focus is inside this
    // frame (a key press never leaves a frame on its own).
    document.addEventListener("keydown", function (e) {
      if (e.key === "Escape") window.parent.postMessage({ buybutton: "close" }, "*");
    });
    return;
  }

  // The product card (/p/{sku}/embed) in a WordPress post. WordPress frames oEmbed cards
  // with sandbox="allow-scripts": no popups and no top navigation, so a plain link cannot
  // open. It appends "#?secret=<letters and digits>" to the frame's address, and its
  // wp-embed.js on the post answers {secret, message, value} messages from this frame:
  // "height" sizes the frame (200 to 1000 px), "link" takes the whole page to the URL when
  // it is on the frame's own host (and the frame has the focus, as after a tap).
  // Without a secret (any other site's frame) the links work as they always did.
  var found = /.*secret=([A-Za-z0-9]+)/.exec(window.location.hash); // the last, as WordPress
  if (!found) return;
  var secret = found[1];
  function send(message, value) {
    window.parent.postMessage({ secret: secret, message: message, value: value }, "*");
  }
  function sendHeight() {
    send("height", Math.ceil(document.body.getBoundingClientRect().height));
  }
  document.addEventListener("click", function (e) {
    var link = e.target instanceof Element ? e.target.closest("a[href]") : null;
    if (!link || e.defaultPrevented) return;
    e.preventDefault();
    send("link", link.href); // absolute: WordPress parses it with new URL(value)
  });
  // wp-embed.js says "ready" when it loaded after this frame did: tell the height again.
  window.addEventListener("message", function (e) {
    var data = e.data;
    if (e.source === window.parent && data && data.message === "ready" && data.secret === secret) {
      sendHeight();
    }
  });
  if (window.ResizeObserver) new ResizeObserver(sendHeight).observe(document.body);
  else window.addEventListener("resize", sendHeight);
  sendHeight();
})();
