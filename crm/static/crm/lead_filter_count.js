// A campaign's lead filter: how many leads it selects, asked again on every change.
"use strict";
(function () {
  function start() {
    const box = document.querySelector(".json-object[data-count-url]");
    if (!box) return;
    const out = document.createElement("p");
    out.id = "lead-filter-count";
    out.setAttribute("role", "status");
    box.appendChild(out);
    let asked = 0;
    function refresh() {
      const query = new URLSearchParams();
      box.querySelectorAll("input, select, textarea").forEach(function (input) {
        if ((input.type === "checkbox" || input.type === "radio") && !input.checked) return;
        if (input.name) query.append(input.name, input.value);
      });
      const mine = ++asked;
      fetch(box.dataset.countUrl + "?" + query.toString(), { credentials: "same-origin" })
        .then(function (response) { return response.json(); })
        .then(function (answer) {
          if (mine !== asked) return;  // a later change has been asked since
          if (answer.count === undefined) {
            out.textContent = "Check the filter: " + JSON.stringify(answer.errors);
          } else if (answer.whole_organization) {
            out.textContent = answer.count + " lead(s) match now.";
          } else {
            out.textContent = answer.count + " of the leads you may see match now;" +
              " the campaign calls every matching lead of the organization.";
          }
        })
        .catch(function () { out.textContent = ""; });
    }
    box.addEventListener("change", refresh);
    box.addEventListener("input", refresh);
    refresh();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
