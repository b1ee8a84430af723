// The serve form's "add a target" and "remove" buttons. Without JavaScript the form still
// works: it shows three target rows and blank rows are ignored.
(function () {
  "use strict";
  function renumber(list) {
    list.querySelectorAll(".target-row").forEach(function (row, i) {
      row.querySelectorAll("label").forEach(function (l) {
        var id = l.getAttribute("for").replace(/-\d+$/, "-" + i);
        var input = row.querySelector("#" + CSS.escape(l.getAttribute("for")));
        if (input) { input.id = id; }
        l.setAttribute("for", id);
        l.querySelector(".n") && (l.querySelector(".n").textContent = String(i + 1));
      });
      var rm = row.querySelector("button.remove-target");
      if (rm) { rm.setAttribute("aria-label", "Remove target " + (i + 1)); }
    });
  }
  document.addEventListener("click", function (e) {
    var t = e.target;
    if (!(t instanceof Element)) { return; }
    if (t.matches("button.add-target")) {
      var list = document.getElementById("targets");
      var rows = list.querySelectorAll(".target-row");
      var copy = rows[rows.length - 1].cloneNode(true);
      copy.querySelectorAll("input").forEach(function (i) { i.value = ""; });
      list.appendChild(copy);
      renumber(list);
      copy.querySelector("select").focus();
    } else if (t.matches("button.remove-target")) {
      var l = document.getElementById("targets");
      if (l.querySelectorAll(".target-row").length > 1) {
        t.closest(".target-row").remove();
        renumber(l);
        l.querySelector("select").focus();
        l.dispatchEvent(new Event("change", { bubbles: true }));
      }
    }
  });
})();
