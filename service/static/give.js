// The give form: shows what covering the fees adds, and the total, as the reader chooses.
// The server computes the same figure (service/domain/giving/amounts.py gross_up); this is a preview.
(function () {
  "use strict";
  var form = document.querySelector("form.give");
  if (!form) { return; }
  var bps = parseInt(form.dataset.feeBps, 10), fixed = parseInt(form.dataset.feeFixed, 10);
  var minimum = parseInt(form.dataset.min, 10);
  var out = document.getElementById("fee-total"), cover = document.getElementById("cover_fees");
  var other = document.getElementById("other_amount"), otherChoice = document.getElementById("amount-other");

  function cents() {
    var chosen = form.querySelector("input[name=amount_choice]:checked");
    if (chosen && chosen.dataset.cents) { return parseInt(chosen.dataset.cents, 10); }
    var text = other.value.trim().replace(/^\$/, "").replace(/,/g, "");
    if (!/^\d+(\.\d{1,2})?$/.test(text)) { return null; }
    var parts = text.split(".");
    return parseInt(parts[0], 10) * 100 + (parts[1] ? parseInt((parts[1] + "0").slice(0, 2), 10) : 0);
  }

  function dollars(value) {
    return "$" + (value / 100).toFixed(2);
  }

  function grossUp(amount) {
    var numerator = (amount + fixed) * 10000, denominator = 10000 - bps;
    var total = Math.floor(numerator / denominator);
    return total * denominator < numerator ? total + 1 : total;
  }

  function update() {
    var amount = cents();
    if (amount === null || amount < minimum) { out.textContent = ""; return; }
    var total = cover.checked ? grossUp(amount) : amount;
    out.textContent = cover.checked
      ? "Adds " + dollars(total - amount) + ": you pay " + dollars(total) + " in total."
      : "Covering them would add " + dollars(grossUp(amount) - amount) + ".";
  }

  other.addEventListener("focus", function () { otherChoice.checked = true; update(); });
  form.addEventListener("input", update);
  form.addEventListener("change", update);
  update();
}());
