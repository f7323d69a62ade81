// jobyard web UI: the one script (no build step, no CDN; the CSP allows only /static).
// 1. Times: every <time datetime> shows the viewer's zone; the title keeps UTC.
// 2. Live parts: an element with data-live="URL" is re-fetched (server-rendered, escaped
//    HTML) when the event stream says something changed (data-stream="job=5" filters it),
//    at most a few times a second; with no stream, or when it fails, it polls every
//    data-poll ms (default 2000). A part whose content carries data-final stops updating.
(function () {
  "use strict";

  function localTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (t) {
      var d = new Date(t.getAttribute("datetime"));
      if (!isNaN(d)) {
        t.textContent = d.toLocaleString();
        t.title = "UTC " + t.getAttribute("datetime");
      }
    });
  }

  function Live(el) {
    this.el = el;
    this.url = el.getAttribute("data-live");
    this.select = el.getAttribute("data-live-select");
    this.poll = parseInt(el.getAttribute("data-poll") || "2000", 10);
    this.gap = parseInt(el.getAttribute("data-min-gap") || "250", 10);
    this.busy = false;
    this.again = false;
    this.timer = null;
    this.last = 0;
  }
  Live.prototype.final = function () {
    return !!this.el.querySelector("[data-final]");
  };
  Live.prototype.refresh = function () {
    var self = this;
    if (self.busy) { self.again = true; return; }
    var wait = self.gap - (Date.now() - self.last);
    if (wait > 0) {
      if (!self.timer) self.timer = setTimeout(function () { self.timer = null; self.refresh(); }, wait);
      return;
    }
    self.busy = true;
    self.last = Date.now();
    fetch(self.url, { credentials: "same-origin", headers: { "X-Requested-With": "live" } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        if (self.select) {
          var doc = new DOMParser().parseFromString(html, "text/html");
          var part = doc.querySelector(self.select);
          if (!part) return;
          html = part.innerHTML;
        }
        var active = document.activeElement;
        if (active && self.el.contains(active) && active.tagName !== "BUTTON") return;
        self.el.innerHTML = html;
        localTimes(self.el);
        self.el.dispatchEvent(new CustomEvent("live:updated", { bubbles: true }));
      })
      .catch(function () {})
      .then(function () {
        self.busy = false;
        if (self.again) { self.again = false; self.refresh(); }
      });
  };
  Live.prototype.startPolling = function () {
    var self = this;
    if (self.polling) return;
    self.polling = setInterval(function () {
      if (self.final()) { clearInterval(self.polling); return; }
      self.refresh();
    }, self.poll);
  };

  function start() {
    localTimes(document);
    var parts = Array.prototype.map.call(document.querySelectorAll("[data-live]"), function (el) {
      return new Live(el);
    });
    var byStream = {};
    parts.forEach(function (p) {
      var filter = p.el.getAttribute("data-stream");
      // data-poll-always: a part no event announces: poll it while it is live.
      if (filter === null || p.el.hasAttribute("data-poll-always")) p.startPolling();
      if (filter === null) return;
      (byStream[filter] = byStream[filter] || []).push(p);
    });
    Object.keys(byStream).forEach(function (filter) {
      var group = byStream[filter];
      if (!window.EventSource) { group.forEach(function (p) { p.startPolling(); }); return; }
      var es = new EventSource("/api/v1/stream?" + filter);
      var onEvent = function () {
        group.forEach(function (p) { if (!p.final()) p.refresh(); });
        if (group.every(function (p) { return p.final(); })) es.close();
      };
      es.onmessage = onEvent;
      ["job.created", "job.started", "job.progress", "job.log", "job.completed", "job.failed",
       "job.cancelled", "job.retrying", "job.paused", "job.resumed", "job.restarted",
       "jobset.finished"].forEach(function (kind) { es.addEventListener(kind, onEvent); });
      es.onerror = function () {
        // The stream is down (or absent): poll until it is back; EventSource reconnects.
        group.forEach(function (p) { p.startPolling(); });
      };
    });
    document.querySelectorAll("form[data-confirm]").forEach(function (f) {
      f.addEventListener("submit", function (ev) {
        if (!window.confirm(f.getAttribute("data-confirm"))) ev.preventDefault();
      });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
