// Applies the saved theme before the page paints (no flash of the wrong one).
(function () {
  var t = null;
  try { t = localStorage.getItem("stampede-theme"); } catch (e) {}
  if (t !== "light" && t !== "dark") {
    t = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }
  document.documentElement.setAttribute("data-theme", t);
})();
