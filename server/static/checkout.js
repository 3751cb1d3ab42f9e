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
  quantity.addEventListener("change", show);
  // A quantity picked before this script ran (a quick shopper on a slow phone, a form the
  // browser restored) counts too: start from the form as it is now. The server's rendering
  // stays when the quantity is still the one it rendered.
  var rendered = Array.prototype.filter.call(quantity.options, function (o) {
    return o.defaultSelected;
  })[0] || quantity.options[0];
  if (!rendered || quantity.value !== rendered.value) show();
  if (!form.dataset.stripeKey) guardDoubleSubmit(); // checkout-stripe.js submits it itself
  // Deferred scripts run in document order: checkout-stripe.js, when present, has run too.
  form.dataset.ready = "1";

  function guardDoubleSubmit() {
    form.addEventListener("submit", function (event) {
      var submitter = event.submitter;
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
