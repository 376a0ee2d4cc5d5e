// The lead import wizard: the allowed values under each column's field, and the
// import's progress (polled from the server) while the import runs.
"use strict";
(function () {
  const form = document.getElementById("import-map");
  if (!form) return;
  const allowed = JSON.parse(document.getElementById("allowed-values-data").textContent);

  function showAllowed(select) {
    const hint = select.parentElement.querySelector(".allowed-values");
    hint.textContent = allowed[select.value] ? "Allowed: " + allowed[select.value] : "";
  }
  form.querySelectorAll("#import-preview select").forEach(function (select) {
    showAllowed(select);
    select.addEventListener("change", function () { showAllowed(select); });
  });

  form.addEventListener("submit", function () {
    const status = document.getElementById("import-progress");
    status.hidden = false;
    status.textContent = "Importing…";
    form.querySelector("input[type=submit]").disabled = true;
    setInterval(function () {
      fetch(form.dataset.progressUrl, { credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (p) {
          if (!p) return;
          status.textContent = "Checked " + p.checked + " of " + p.total + " row(s), wrote "
            + p.written + " lead(s)…";
        })
        .catch(function () {});
    }, 700);
  });
})();
