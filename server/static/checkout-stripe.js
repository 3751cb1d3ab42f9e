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
    // A reservation is paid at the store's counter: the form goes as it is, with no card.
    if (form.querySelector('input[name="fulfilment"][value^="reserve:"]:checked')) return;
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
    // The wallet sheet shows what the server priced: the page's total until the shopper
    // picks an address in the sheet, then the quote for that address (POST .../quote).
    var shipping = form.dataset.requiresShipping === "true";
    var currency = form.dataset.currency.toLowerCase();
    var walletElements = stripe.elements({
      mode: "payment", amount: parseInt(form.dataset.total, 10), currency: currency,
      paymentMethodCreation: "manual",
    });
    var countries = (form.dataset.countries || "").split(" ").filter(Boolean);
    var sheet = { address: {}, option: null, total: null };
    var express = walletElements.create("expressCheckout", {
      // The wallet sheet's label ("Pay <shop>"): the shop's name when the owner set one.
      business: form.dataset.shopName ? { name: form.dataset.shopName } : undefined,
      emailRequired: true, phoneNumberRequired: false, shippingAddressRequired: shipping,
      allowedShippingCountries: shipping && countries.length ? countries : undefined,
      // A placeholder until the sheet has an address: shippingaddresschange replaces it.
      shippingRates: shipping ? [{ id: "pending", displayName: "Shipping", amount: 0 }] : undefined,
    });
    express.on("ready", function (event) {
      var any = event.availablePaymentMethods && Object.values(event.availablePaymentMethods).some(Boolean);
      document.getElementById("express-checkout").hidden = !any;
      document.getElementById("express-divider").hidden = !any;
    });
    // The page's own quote (quantity, codes, address typed) keeps the sheet's amount in step.
    form.addEventListener("quote", function (event) {
      walletElements.update({ amount: event.detail.totals.total.amount });
    });
    async function sheetQuote(extra) {
      var body = new FormData();
      ["codes", "quantity", "email"].forEach(function (name) {
        if (form.elements[name]) body.set(name, form.elements[name].value || "");
      });
      var a = sheet.address;
      body.set("country", a.country || ""); body.set("region", a.state || "");
      body.set("postal_code", a.postal_code || ""); body.set("city", a.city || "");
      if (sheet.option) body.set("shipping_option", sheet.option);
      Object.keys(extra || {}).forEach(function (k) { body.set(k, extra[k]); });
      var response = await fetch(form.dataset.quoteUrl, {
        method: "POST", body: body, credentials: "same-origin", headers: { Accept: "application/json" },
      });
      var q = await response.json();
      if (!response.ok || q.blocked) return null;
      sheet.total = q.totals.total.amount;
      sheet.option = q.selected_shipping;
      walletElements.update({ amount: sheet.total });
      return q;
    }
    function lineItems(q) {
      var t = q.totals, items = [{ name: "Items", amount: t.subtotal.amount - t.discount.amount }];
      if (!t.tax.included && t.tax.amount) items.push({ name: t.tax.label, amount: t.tax.amount });
      return items;
    }
    function rates(q) {
      return q.shipping_options.map(function (o) {
        return { id: o.id, displayName: o.title, amount: q.selected_shipping === o.id ? q.totals.shipping.amount : o.price.amount };
      }).sort(function (a, b) { return a.id === q.selected_shipping ? -1 : b.id === q.selected_shipping ? 1 : 0; });
    }
    express.on("shippingaddresschange", async function (event) {
      sheet.address = event.address || {}; sheet.option = null;
      var q = await sheetQuote().catch(function () { return null; });
      if (!q || !q.shipping_options.length) { event.reject(); return; }
      event.resolve({ lineItems: lineItems(q), shippingRates: rates(q) });
    });
    express.on("shippingratechange", async function (event) {
      sheet.option = event.shippingRate && event.shippingRate.id;
      var q = await sheetQuote().catch(function () { return null; });
      if (!q) { event.reject(); return; }
      event.resolve({ lineItems: lineItems(q) });
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
          line1: ship.line1, line2: ship.line2, city: ship.city, region: ship.state,
          postal_code: ship.postal_code, country: ship.country,
          shipping_option: (event.shippingRate && event.shippingRate.id) || sheet.option,
          shown_total: String(sheet.total != null ? sheet.total : form.dataset.total), quoted: "1",
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
