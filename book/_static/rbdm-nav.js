/* Sidebar toggles that work (desktop and phone).
   pydata-sphinx-theme 0.17 adds its own top header (#pst-header) whose zero-width buttons are the
   first .primary-toggle / .secondary-toggle of every page, and both themes bind their handlers to
   document.querySelector(...), i.e. to those. rbdm.css hides that header (and its second search
   box); here every other toggle forwards its click to the one the themes listen on, so the visible
   buttons open the chapter list and the page outline as the themes intend (a side bar on a wide
   screen, a drawer on a phone). */
document.addEventListener("DOMContentLoaded", function () {
  ["primary", "secondary"].forEach(function (kind) {
    var all = document.querySelectorAll("." + kind + "-toggle");
    if (all.length < 2) return;
    var bound = all[0];
    all.forEach(function (btn, i) {
      if (i === 0) return;
      btn.addEventListener("click", function (event) {
        event.preventDefault();
        event.stopPropagation();
        bound.click();
      });
    });
  });
});
