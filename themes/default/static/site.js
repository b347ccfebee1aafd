/* site-gen default theme: progressive enhancement only. Every note is reachable
   without this script (checkbox toggles, margin notes); it adds Escape to close a
   note, and topic previews on hover/focus from the data-summary the page carries. */
(function () {
  "use strict";

  function closeNotes(except) {
    document.querySelectorAll(".note-state:checked").forEach(function (box) {
      if (box !== except) { box.checked = false; }
    });
  }

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    var open = document.querySelector(".note-state:checked");
    if (open) {
      open.checked = false;
      open.focus();
    }
    hidePreview();
  });

  document.addEventListener("change", function (event) {
    var box = event.target;
    if (box.classList && box.classList.contains("note-state") && box.checked) { closeNotes(box); }
  });

  var popover = null;
  function hidePreview() {
    if (popover) { popover.remove(); popover = null; }
  }
  function showPreview(link) {
    var summary = link.getAttribute("data-summary");
    if (!summary) { return; }
    hidePreview();
    popover = document.createElement("div");
    popover.className = "preview-popover";
    popover.setAttribute("role", "tooltip");
    var title = document.createElement("strong");
    title.textContent = link.textContent;
    var text = document.createElement("span");
    text.textContent = summary;
    popover.appendChild(title);
    popover.appendChild(text);
    document.body.appendChild(popover);
    var box = link.getBoundingClientRect();
    var left = Math.min(window.scrollX + box.left, window.scrollX + document.documentElement.clientWidth - popover.offsetWidth - 8);
    popover.style.left = Math.max(8, left) + "px";
    popover.style.top = (window.scrollY + box.bottom + 6) + "px";
  }
  ["mouseover", "focusin"].forEach(function (type) {
    document.addEventListener(type, function (event) {
      var link = event.target.closest && event.target.closest("a[data-summary]");
      if (link) { showPreview(link); }
    });
  });
  ["mouseout", "focusout"].forEach(function (type) {
    document.addEventListener(type, function (event) {
      if (event.target.closest && event.target.closest("a[data-summary]")) { hidePreview(); }
    });
  });
})();
