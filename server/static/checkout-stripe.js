// Stripe checkout: Stripe.js turns the card (or a wallet) into a payment method, our server
// creates and confirms the PaymentIntent for the amount in its database, and Stripe.js
// finishes 3-D Secure when the bank asks. The order page then shows what Stripe's webhook
// settled; nothing here decides that an order is paid.
(function () {
  "use strict";
  var form = document.getElementById("checkout");
  if (!form || !form.dataset.stripeKey || !window.Stripe) return;
  var stripe = window.Stripe(form.dataset.stripeKey);
  var errorBox = document.getElementById("pay-error");
  var payButton = document.getElementById("pay-card");
  var card = stripe.elements().create("card");
  card.mount("#card-element");
  // Stripe.js proper has handleNextAction and the Express Checkout Element; stand-ins used
  // in tests (localstripe) have neither, and then the page offers the card form alone.
  var fullStripe = typeof stripe.handleNextAction === "function";
  var busy = false;

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = false;
    errorBox.scrollIntoView({ block: "center" });
  }

  function setBusy(on) {
    busy = on;
    payButton.disabled = on;
    if (on) errorBox.hidden = true;
  }

  async function cardPaymentMethod() {
    var result = await stripe.createPaymentMethod({ type: "card", card: card });
    if (result && result.paymentMethod) return result.paymentMethod.id;
    if (result && result.error) throw result.error;
    var token = await stripe.createToken(card); // stand-in Stripe.js: tokenize instead
    if (token.error) throw token.error;
    return token.token.card.id;
  }

  async function finishAction(clientSecret) {
    var result = fullStripe
      ? await stripe.handleNextAction({ clientSecret: clientSecret })
      : await stripe.confirmCardPayment(clientSecret);
    var intent = result && result.paymentIntent;
    return !result.error && intent && (intent.status === "succeeded" || intent.status === "processing");
  }

  async function pay(paymentMethodId, extra) {
    var body = new FormData(form);
    body.set("payment_method", paymentMethodId);
    Object.keys(extra || {}).forEach(function (key) { if (extra[key]) body.set(key, extra[key]); });
    var response = await fetch(window.location.pathname, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    var data = await response.json();
    if (data.attempt) form.elements.attempt.value = data.attempt;
    if (!response.ok) {
      var fields = data.error && data.error.fields;
      var detail = fields ? " " + Object.keys(fields).map(function (k) { return fields[k]; }).join(" ") : "";
      throw new Error((data.error ? data.error.message : "Payment failed.") + detail);
    }
    if (data.status === "requires_action" && !(await finishAction(data.client_secret))) {
      await fetch(data.next + "/abandon", { method: "POST", credentials: "same-origin" });
      throw new Error("Your bank could not confirm the payment. Try again or use another card.");
    }
    window.location.assign(data.next);
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    if (busy) return;
    setBusy(true);
    try {
      await pay(await cardPaymentMethod());
    } catch (error) {
      showError(error.message || "Check your card details and try again.");
      setBusy(false);
    }
  });

  if (!fullStripe) return;
  try {
    // A multi-item page has no quantity picker: data-unit-amount is then the cart's total.
    var count = function () { return form.elements.quantity ? parseInt(form.elements.quantity.value, 10) : 1; };
    var amount = parseInt(form.dataset.unitAmount, 10) * count();
    var shipping = form.dataset.requiresShipping === "true";
    var walletElements = stripe.elements({
      mode: "payment", amount: amount, currency: form.dataset.currency.toLowerCase(),
      paymentMethodCreation: "manual",
    });
    var express = walletElements.create("expressCheckout", {
      // The wallet sheet's label ("Pay <shop>"): the shop's name when the owner set one.
      business: form.dataset.shopName ? { name: form.dataset.shopName } : undefined,
      emailRequired: true, phoneNumberRequired: false, shippingAddressRequired: shipping,
      shippingRates: shipping ? [{ id: "standard", displayName: "Standard shipping", amount: 0 }] : undefined,
    });
    express.on("ready", function (event) {
      var any = event.availablePaymentMethods && Object.values(event.availablePaymentMethods).some(Boolean);
      document.getElementById("express-checkout").hidden = !any;
      document.getElementById("express-divider").hidden = !any;
    });
    if (form.elements.quantity) form.elements.quantity.addEventListener("change", function () {
      walletElements.update({ amount: parseInt(form.dataset.unitAmount, 10) * count() });
    });
    express.on("confirm", async function (event) {
      setBusy(true);
      try {
        var created = await stripe.createPaymentMethod({ elements: walletElements });
        if (created.error) throw created.error;
        var billing = event.billingDetails || {};
        var ship = (event.shippingAddress || {}).address || {};
        await pay(created.paymentMethod.id, {
          email: billing.email, name: (event.shippingAddress || {}).name || billing.name,
          line1: ship.line1, line2: ship.line2, city: ship.city,
          postal_code: ship.postal_code, country: ship.country,
        });
      } catch (error) {
        event.paymentFailed && event.paymentFailed();
        showError(error.message || "The wallet payment did not go through.");
        setBusy(false);
      }
    });
    express.mount("#express-checkout");
  } catch (error) { /* no wallet on this device: the card form is there */ }
})();
