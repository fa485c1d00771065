// A page waiting on Stripe ("we're confirming your payment") asks again every few seconds and,
// once the answer has changed, shows it in place and moves focus to its heading, so a screen reader
// reads it out. No timed full-page refresh, which takes the reader's place away (WCAG 2.2.1); a
// browser without script gets the <noscript> refresh instead.
(function () {
  "use strict";
  if (!document.querySelector("[data-pending]") || !window.fetch || !window.DOMParser) { return; }
  var every = 3000, tries = 0, limit = 200;

  function later() {
    tries += 1;
    if (tries < limit) { window.setTimeout(check, every); }
  }

  function show(next) {
    var main = document.getElementById("main"), fresh = next.getElementById("main");
    if (!main || !fresh) { window.location.reload(); return; }
    main.replaceChildren.apply(main, Array.prototype.map.call(fresh.childNodes, function (node) {
      return document.importNode(node, true);
    }));
    document.title = next.title;
    var heading = main.querySelector("h1");
    if (heading) {
      heading.setAttribute("tabindex", "-1");
      heading.focus();
    }
  }

  function check() {
    window.fetch(window.location.href, { headers: { Accept: "text/html" }, credentials: "same-origin", cache: "no-store" })
      .then(function (answer) { return answer.ok ? answer.text() : null; })
      .then(function (html) {
        var next = html && new window.DOMParser().parseFromString(html, "text/html");
        if (!next || next.querySelector("[data-pending]")) { later(); return; }
        show(next);
      })
      .catch(later);
  }

  window.setTimeout(check, every);
}());
