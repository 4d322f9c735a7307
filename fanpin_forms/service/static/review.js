/* 复核: Enter accepts (or saves the correction) without reloading the page; Tab moves to the next
   item's value. The page works without this script: each item is an ordinary form. */
(function () {
  "use strict";
  var forms = Array.prototype.slice.call(document.querySelectorAll("form.decide"));
  var status = document.getElementById("status");
  function inputOf(form) { return form.querySelector("input[name=value]"); }
  function next(form) {
    var i = forms.indexOf(form);
    for (var j = i + 1; j < forms.length; j++) { if (!forms[j].dataset.done) { return forms[j]; } }
    for (j = 0; j < i; j++) { if (!forms[j].dataset.done) { return forms[j]; } }
    return null;
  }
  function left() { return forms.filter(function (f) { return !f.dataset.done; }).length; }
  forms.forEach(function (form) {
    var input = inputOf(form);
    input.addEventListener("keydown", function (ev) {
      if (ev.key === "Tab" && !ev.shiftKey) {
        var n = next(form);
        if (n) { ev.preventDefault(); inputOf(n).focus(); inputOf(n).select(); }
      }
    });
    form.addEventListener("submit", function (ev) {
      if (!window.fetch || !window.FormData) { return; }
      ev.preventDefault();
      if (form.dataset.busy) { return; }
      form.dataset.busy = "1";
      fetch(form.getAttribute("action"), { method: "POST", body: new FormData(form), credentials: "same-origin",
                           headers: { "Accept": "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (answer) {
          delete form.dataset.busy;
          var card = form.closest(".review-item");
          var note = card.querySelector(".result") || document.createElement("p");
          note.className = "result " + (answer.ok ? "good" : "bad");
          note.textContent = answer.message;
          form.parentNode.insertBefore(note, form.nextSibling);
          if (answer.ok || answer.code === "LEDGER_REVIEW_CONFLICT") {
            form.dataset.done = "1";
            card.classList.add("decided");
            input.disabled = true;
            var n = next(form);
            status.textContent = left() ? "还有 " + left() + " 项待复核。" : "全部复核完毕。";
            if (n) { inputOf(n).focus(); inputOf(n).select(); }
          }
        })
        .catch(function () { delete form.dataset.busy; form.submit(); });
    });
  });
}());
