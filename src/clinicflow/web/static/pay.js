// The booking site's card step (book_pay.html): Stripe.js's card field, and confirming the
// payment with the client secret the server got from Stripe. Success goes on to the
// confirmation, which says paid once Stripe's webhook has landed (pending until then).
(function () {
  "use strict";
  var form = document.getElementById("card-form");
  if (!form || typeof window.Stripe !== "function") { return; }
  var stripe = window.Stripe(form.getAttribute("data-publishable-key"));
  var card = stripe.elements().create("card");
  card.mount("#card-element");
  var errors = document.getElementById("card-errors");
  var button = document.getElementById("card-pay");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    button.disabled = true;
    errors.textContent = "";
    stripe.confirmCardPayment(form.getAttribute("data-client-secret"), {
      payment_method: { card: card }
    }).then(function (result) {
      if (result.error) {
        errors.textContent = result.error.message || "The card was not accepted; try another.";
        button.disabled = false;
        return;
      }
      window.location.assign(form.getAttribute("data-done"));
    });
  });
})();
