/* Figures that fit their column (rbdm_core.book_assets makes each figure's script draw through
   window.rbdmPlot; loaded only on pages with figures, after plotly.js).
   - A figure is laid out (rbdm_core.figure_fit) for a column of WIDTH px. In a wider column it
     fills the column; in a narrower one (a phone) it is drawn at WIDTH and scaled down as a whole,
     so its text keeps the places the layout gave it; a figure taller than the screen is shrunk
     towards the screen's height (to no less than 60 % of the column's width).
   - It follows the window's size (resize, rotation).
   - The toolbar sits in a strip above the plot, never over its title or legend (rbdm.css).
   - On a touch screen (pointer: coarse) dragging does not zoom: the page scrolls under a finger. */
(function () {
  "use strict";
  var WIDTH = 680;  // rbdm_core.figure_fit.WIDTH
  var STRIP = 28;   // px above the plot for the toolbar (rbdm.css .rbdm-fig-frame)
  var coarse = !!(window.matchMedia && window.matchMedia("(pointer: coarse)").matches);
  var figures = [];

  function fit(gd) {
    var frame = gd.parentNode, host = frame.parentNode;
    var col = host.getBoundingClientRect().width || WIDTH;
    var w = gd._rbdmWidth, h = gd._rbdmHeight;
    var drawn = col >= w ? col : w;          // fill a wide column; keep the layout's width in a narrow one
    var s = Math.min(1, col / w);
    var room = 0.9 * (window.innerHeight || h) - STRIP;
    if (h * s > room) s = Math.max(room / h, 0.6 * s);
    if (s < 1 && drawn > w) drawn = w;
    gd.style.width = drawn + "px";
    gd.style.height = h + "px";
    gd.style.transform = s < 1 ? "scale(" + s + ")" : "";
    gd.style.transformOrigin = "0 0";
    frame.style.width = Math.floor(drawn * s) + "px";
    frame.style.height = Math.ceil(h * s + STRIP * s) + "px";
    frame.style.paddingTop = Math.round(STRIP * s) + "px";
    if (gd._fullLayout && Math.abs((gd._fullLayout.width || 0) - drawn) > 0.5) {
      window.Plotly.relayout(gd, {width: drawn, height: h});
    }
  }

  window.rbdmPlot = function (id, data, layout, config) {
    var gd = typeof id === "string" ? document.getElementById(id) : id;
    layout = Object.assign({}, layout || {});
    config = Object.assign({}, config || {}, {responsive: false, displaylogo: false});
    if (coarse) {                            // no drag-to-zoom, no scroll-zoom: the page scrolls
      layout.dragmode = false;
      config.scrollZoom = false;
    }
    gd._rbdmWidth = layout.width || WIDTH;
    gd._rbdmHeight = layout.height || parseFloat(gd.style.height) || 450;
    if (!gd.parentNode.classList.contains("rbdm-fig-frame")) {
      var frame = document.createElement("div");
      frame.className = "rbdm-fig-frame";
      gd.parentNode.insertBefore(frame, gd);
      frame.appendChild(gd);
    }
    figures.push(gd);
    fit(gd);
    var col = gd.parentNode.parentNode.getBoundingClientRect().width || WIDTH;
    layout.width = layout.width || Math.max(col, gd._rbdmWidth);
    if (col < gd._rbdmWidth) layout.width = gd._rbdmWidth;
    layout.height = gd._rbdmHeight;
    return window.Plotly.newPlot(gd, data, layout, config);
  };

  var pending = null;
  window.addEventListener("resize", function () {
    if (pending) clearTimeout(pending);
    pending = setTimeout(function () { pending = null; figures.forEach(fit); }, 100);
  });
  // printing shows the static images (rbdm.css @media print): fetch the lazy ones first
  function eager() {
    document.querySelectorAll("img.rbdm-static[loading=lazy]").forEach(function (img) { img.loading = "eager"; });
  }
  window.addEventListener("beforeprint", eager);
  if (window.matchMedia) {
    var mq = window.matchMedia("print");
    if (mq.addEventListener) mq.addEventListener("change", function (e) { if (e.matches) eager(); });
  }
})();
