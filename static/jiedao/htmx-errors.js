// A part of a page that fails to load or save (HTMX does not swap a 4xx or 5xx answer in) says so
// in a notice at the top of the page, instead of silently doing nothing; what is on the page stays.
(function () {
  "use strict";
  var MAX = 3;

  function notice(text) {
    var box = document.getElementById("jd-notices");
    if (!box) {
      box = document.createElement("div");
      box.id = "jd-notices";
      box.className = "jd-notices";
      box.setAttribute("aria-live", "assertive");
      document.body.appendChild(box);
    }
    var alert = document.createElement("div");
    alert.className = "alert alert-danger alert-dismissible shadow-sm mb-2";
    alert.setAttribute("role", "alert");
    alert.setAttribute("data-testid", "htmx-error");
    alert.textContent = text;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "btn-close";
    close.setAttribute("aria-label", document.body.dataset.noticeDismiss || "×");
    close.addEventListener("click", function () { alert.remove(); });
    alert.appendChild(close);
    box.appendChild(alert);
    while (box.children.length > MAX) box.removeChild(box.firstChild);
  }

  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    var words = document.body.dataset;
    var text = status === 404 ? words.noticeMissing : status === 403 ? words.noticeForbidden : words.noticeError;
    notice((text || "Error") + " (" + status + ")");
  });
})();
