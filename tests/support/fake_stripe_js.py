"""The fake Stripe's stand-in for Stripe.js (https://js.stripe.com/v3/), for browser tests:
`Stripe(pk)`, `elements().create('card').mount(el)` (a card field in an iframe served by the
fake, as Stripe's is served by js.stripe.com), and `confirmCardPayment(secret)`, which has
the iframe confirm the PaymentIntent at the fake with the publishable key, as Stripe.js does.
Test card numbers: 4242 4242 4242 4242 pays; 4000 0000 0000 0002 is declined."""

from __future__ import annotations

STRIPE_JS = r"""
(function () {
  "use strict";
  var script = document.currentScript;
  var origin = new URL(script.src).origin;
  window.Stripe = function (publishableKey) {
    var frame = null;
    return {
      elements: function () {
        return {
          create: function (kind) {
            return {
              mount: function (target) {
                var el = typeof target === "string" ? document.querySelector(target) : target;
                frame = document.createElement("iframe");
                frame.src = origin + "/elements/" + kind +
                  "?key=" + encodeURIComponent(publishableKey);
                frame.title = "Secure card payment input frame";
                el.appendChild(frame);
              }
            };
          }
        };
      },
      confirmCardPayment: function (clientSecret) {
        return new Promise(function (resolve) {
          var id = String(Math.random()).slice(2);
          function answered(event) {
            if (event.origin !== origin || !event.data || event.data.id !== id) { return; }
            window.removeEventListener("message", answered);
            resolve(event.data.result);
          }
          window.addEventListener("message", answered);
          frame.contentWindow.postMessage({ id: id, clientSecret: clientSecret }, origin);
        });
      }
    };
  };
})();
"""

CARD_FRAME = r"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Card</title>
<style>body{margin:0;font:16px system-ui}label{display:block;font-size:.8rem}
input{font:inherit;width:100%;box-sizing:border-box;padding:.3rem}.row{display:flex;gap:.5rem}</style>
</head><body>
<label for="number">Card number</label>
<input id="number" autocomplete="cc-number" inputmode="numeric">
<div class="row"><div><label for="exp">MM / YY</label><input id="exp" autocomplete="cc-exp"></div>
<div><label for="cvc">CVC</label>
<input id="cvc" autocomplete="cc-csc" inputmode="numeric"></div></div>
<script>
window.addEventListener("message", function (event) {
  var ask = event.data || {};
  var intent = String(ask.clientSecret || "").split("_secret_")[0];
  var body = new URLSearchParams({
    key: new URLSearchParams(location.search).get("key") || "",
    client_secret: ask.clientSecret || "",
    "payment_method_data[type]": "card",
    "payment_method_data[card][number]":
      document.getElementById("number").value.replace(/\s+/g, "")
  });
  var path = "/v1/payment_intents/" + encodeURIComponent(intent) + "/confirm";
  fetch(path, { method: "POST", body: body })
    .then(function (r) { return r.json(); })
    .then(function (answer) {
      var result = answer.error ? { error: answer.error } : { paymentIntent: answer };
      event.source.postMessage({ id: ask.id, result: result }, event.origin);
    });
});
</script>
</body></html>
"""
