// Hosted checkout: keep the total in step with the quantity and stop double taps.
// The page works without this file; the server is idempotent either way.
// When it has run, the form carries data-ready="1" (browser tests wait for it).
(function () {
  "use strict";
  var form = document.getElementById("checkout");
  if (!form) return;
  var unit = parseInt(form.dataset.unitAmount, 10);
  var currency = form.dataset.currency;
  var fmt = new Intl.NumberFormat(undefined, { style: "currency", currency: currency });
  var digits = fmt.resolvedOptions().maximumFractionDigits;
  var quantity = document.getElementById("quantity");
  function show() {
    var text = fmt.format((unit * parseInt(quantity.value, 10)) / Math.pow(10, digits));
    document.getElementById("total").textContent = text;
    document.getElementById("pay-amount").textContent = text;
  }
  // A multi-item page has no picker: each line's quantity is fixed and the server's total stays.
  if (quantity) {
    quantity.addEventListener("change", show);
    // A quantity picked before this script ran (a quick shopper on a slow phone, a form the
    // browser restored) counts too: start from the form as it is now. The server's rendering
    // stays when the quantity is still the one it rendered.
    var rendered = Array.prototype.filter.call(quantity.options, function (o) {
      return o.defaultSelected;
    })[0] || quantity.options[0];
    if (!rendered || quantity.value !== rendered.value) show();
  }
  var expiry = form.elements.card_expiry; // the test provider's card form only
  if (expiry) {
    expiry.addEventListener("input", function (e) {
      var v = formatExpiry(expiry.value, /^delete/.test(e.inputType || ""));
      if (v !== expiry.value) expiry.value = v;
    });
    form.addEventListener("submit", function (e) {
      if (e.submitter && e.submitter.value === "wallet") return;
      var m = /^(\d\d) \/ (\d\d)$/.exec(expiry.value = formatExpiry(expiry.value, true));
      var ok = m && m[1] > 0 && m[1] < 13; // the message is payments/messages.py's
      fieldError(expiry, ok ? "" : "Enter the expiry date as MM / YY.");
      if (!ok) { e.preventDefault(); expiry.focus(); }
    });
  }
  if (!form.dataset.stripeKey) guardDoubleSubmit(); // checkout-stripe.js submits it itself
  // Deferred scripts run in document order: checkout-stripe.js, when present, has run too.
  form.dataset.ready = "1";

  // "MM / YY" as the shopper types, pastes or autofills: 1230, 12/2030, 1/30, 4 -> 04 / ...
  function formatExpiry(v, deleting) {
    var p = v.split(/\D+/).filter(Boolean), d = p.join(""), sep = /\d\D+$/.test(v), m, y;
    if (p.length > 1) { m = p[0]; y = p[1]; } else {
      if (d.length > 5) d = d.slice(0, 2) + d.slice(4);
      m = d.slice(0, 2); y = d.slice(2, 4);
    }
    var pad = m.length === 1 && (p.length > 1 || sep || m > "1");
    m = (pad ? "0" + m : m).slice(0, 2);
    y = /^20\d\d$/.test(y) ? y.slice(2) : y.slice(0, /^20/.test(y) ? 3 : 2);
    return y ? m + " / " + y : m + (m.length === 2 && !deleting && (pad || sep) ? " / " : "");
  }
  function fieldError(input, message) {
    var id = "err-" + input.name, el = document.getElementById(id);
    if (!el) {
      if (!message) return;
      el = input.parentNode.appendChild(document.createElement("small"));
      el.className = "error"; el.id = id;
    }
    el.textContent = message; el.hidden = !message;
    input.parentNode.classList.toggle("invalid", !!message);
    input.setAttribute("aria-invalid", !!message);
    input[message ? "setAttribute" : "removeAttribute"]("aria-describedby", id);
  }

  function guardDoubleSubmit() {
    form.addEventListener("submit", function (event) {
      var submitter = event.submitter;
      if (event.defaultPrevented) return; // a field is wrong: nothing was sent
      if (form.dataset.sent) { event.preventDefault(); return; }
      form.dataset.sent = "1";
      // Disable after the browser has read the form, so the pressed button's value is sent.
      setTimeout(function () {
        form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
        if (submitter) submitter.textContent = "Processing…";
      }, 0);
    });
    window.addEventListener("pageshow", function (event) {
      if (event.persisted) location.reload();
    });
  }
})();
