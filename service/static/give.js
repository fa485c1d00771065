// The give form: shows what covering the fees adds, and the total, as the reader chooses.
// The server computes the same figure (service/domain/giving/amounts.py gross_up); this is a preview.
// Amounts are read and written the page's way (<html lang>): "12,50 $US" in French, with Latin digits
// as the server writes them (service/money.py); the sentences come translated in the form's data-*.
(function () {
  "use strict";
  var form = document.querySelector("form.give");
  if (!form) { return; }
  var bps = parseInt(form.dataset.feeBps, 10), fixed = parseInt(form.dataset.feeFixed, 10);
  var minimum = parseInt(form.dataset.min, 10);
  var out = document.getElementById("fee-total"), cover = document.getElementById("cover_fees");
  var other = document.getElementById("other_amount"), otherChoice = document.getElementById("amount-other");
  var lang = (document.documentElement.lang || "en") + "-u-nu-latn";
  var money = new Intl.NumberFormat(lang, { style: "currency", currency: form.dataset.currency || "USD" });
  var decimal = new Intl.NumberFormat(lang).formatToParts(1.5).filter(function (part) {
    return part.type === "decimal";
  }).map(function (part) { return part.value; })[0] || ".";
  var arabicDigits = "٠١٢٣٤٥٦٧٨٩";

  // The locale's own way first ("7,50" and "1 000" in French), then the plain way ("7.50");
  // at most two decimals, no sign. The server reads it the same way (money.parse_amount).
  function cents() {
    var chosen = form.querySelector("input[name=amount_choice]:checked");
    if (chosen && chosen.dataset.cents) { return parseInt(chosen.dataset.cents, 10); }
    var text = other.value.trim()
      .replace(/[٠-٩]/g, function (d) { return String(arabicDigits.indexOf(d)); })
      .replace(/٫/g, ".").replace(/٬/g, ",")
      .replace(/[\u200e\u200f\u061c\u2066\u2069]/g, "")
      .replace(/^(US\$|\$US|\$|USD)\s*|\s*(US\$|\$US|\$|USD)$/g, "");
    var plain;
    if (decimal === ",") {
      if (!/^\d{1,3}([\s\u00a0\u202f]?\d{3})*(,\d{1,2})?$/.test(text)) {
        if (text.indexOf(",") !== -1 || !/^\d+(\.\d{1,2})?$/.test(text)) { return null; }
        plain = text;
      } else {
        plain = text.replace(/[\s\u00a0\u202f]/g, "").replace(",", ".");
      }
    } else {
      if (!/^\d{1,3}(,?\d{3})*(\.\d{1,2})?$/.test(text)) { return null; }
      plain = text.replace(/,/g, "");
    }
    var parts = plain.split(".");
    return parseInt(parts[0], 10) * 100 + (parts[1] ? parseInt((parts[1] + "0").slice(0, 2), 10) : 0);
  }

  // On a right-to-left page a Latin currency sign is kept in one piece ("US$", not "$US"), as the server writes it.
  var rtl = document.documentElement.dir === "rtl";
  function amount(value) {
    return money.formatToParts(value / 100).map(function (part) {
      return rtl && part.type === "currency" ? "\u2066" + part.value + "\u2069" : part.value;
    }).join("");
  }

  function grossUp(value) {
    var numerator = (value + fixed) * 10000, denominator = 10000 - bps;
    var total = Math.floor(numerator / denominator);
    return total * denominator < numerator ? total + 1 : total;
  }

  function say(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, name) { return values[name]; });
  }

  function update() {
    var value = cents();
    if (value === null || value < minimum) { out.textContent = ""; return; }
    var total = grossUp(value);
    out.textContent = cover.checked
      ? say(form.dataset.adds, { fee: amount(total - value), total: amount(total) })
      : say(form.dataset.wouldAdd, { fee: amount(total - value) });
  }

  other.addEventListener("focus", function () { otherChoice.checked = true; update(); });
  form.addEventListener("input", update);
  form.addEventListener("change", update);
  update();
}());
