/* smtptls HTML report: sorting, filtering and search of the table #rows.
   The page is complete without this script; it only hides, shows and
   reorders what is already there (no row is ever rebuilt, so a table of
   thousands of domains stays quick). The filter state is also read from
   the URL fragment, #verdict=broken,plaintext&q=text, by the same
   function the controls call (apply). A search for one problem token,
   SEVERITY:ID (fail:delivery.dane, the links of "Most common problems"),
   matches the rows whose data-problems has exactly that token, so the
   list is the domains the link's count counted. */
(function () {
  "use strict";
  var table = document.getElementById("rows");
  var controls = document.getElementById("controls");
  if (!table || !controls) { return; }
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  // Lower-cased text of each row, read once: searching never touches
  // the DOM again.
  var texts = rows.map(function (r) {
    return (r.textContent + " " + (r.getAttribute("data-search") || "")).toLowerCase();
  });
  // Each row's problems as SEVERITY:ID tokens, matched whole.
  var tokens = rows.map(function (r) {
    return (r.getAttribute("data-problems") || "").split(" ");
  });
  var details = rows.map(function (r) {
    var id = r.getAttribute("data-details");
    return id ? document.getElementById(id) : null;
  });
  var select = document.getElementById("f-verdict");
  var input = document.getElementById("f-q");
  var status = document.getElementById("status");
  var state = { verdict: "", q: "" };

  /* Shows the rows (and their drill-downs) that match `next`, hides the
     others, and makes the controls and the fragment say so. */
  function apply(next, keepHash) {
    state = { verdict: next.verdict || "", q: next.q || "" };
    var verdicts = state.verdict ? state.verdict.split(",") : [];
    var needle = state.q.toLowerCase().trim();
    var token = /^(fail|warn|info):[a-z0-9.-]+$/.test(needle);
    var shown = 0;
    for (var i = 0; i < rows.length; i++) {
      var found = needle === "" || (token ? tokens[i].indexOf(needle) >= 0 : texts[i].indexOf(needle) >= 0);
      var ok = (verdicts.length === 0 || verdicts.indexOf(rows[i].getAttribute("data-verdict")) >= 0) && found;
      rows[i].hidden = !ok;
      if (details[i]) { details[i].hidden = !ok; }
      if (ok) { shown++; }
    }
    if (select) {
      select.value = verdicts.length === 1 ? verdicts[0] : (verdicts.length === 0 ? "" : "*");
    }
    if (input && input.value !== state.q) { input.value = state.q; }
    if (status) {
      status.textContent = "Showing " + shown + " of " + rows.length + " domains.";
    }
    document.body.setAttribute("data-shown", String(shown));
    if (!keepHash && window.history && window.history.replaceState) {
      var parts = [];
      if (state.verdict) { parts.push("verdict=" + encodeURIComponent(state.verdict)); }
      if (state.q) { parts.push("q=" + encodeURIComponent(state.q)); }
      window.history.replaceState(null, "", parts.length ? "#" + parts.join("&") : window.location.pathname + window.location.search);
    }
  }

  /* The filter state in the fragment, or null when the fragment is an
     anchor (#d-12, a domain's drill-down). */
  function fromHash() {
    var h = window.location.hash.replace(/^#/, "");
    if (h.indexOf("=") < 0) { return null; }
    var next = { verdict: "", q: "" };
    h.split("&").forEach(function (kv) {
      var at = kv.indexOf("=");
      if (at < 0) { return; }
      var key = kv.slice(0, at);
      var value;
      try { value = decodeURIComponent(kv.slice(at + 1).replace(/\+/g, " ")); } catch (e) { value = ""; }
      if (key === "verdict" || key === "q") { next[key] = value; }
    });
    return next;
  }

  /* A domain's link opens its drill-down. */
  function openAnchor() {
    var h = window.location.hash.replace(/^#/, "");
    if (!h || h.indexOf("=") >= 0) { return; }
    var target = document.getElementById(h);
    if (target && target.tagName === "DETAILS") { target.open = true; }
  }

  /* A link in the page that sets a filter (a problem's count) shows the
     table it filtered. */
  function onHash() {
    var next = fromHash();
    if (next) { apply(next, true); table.scrollIntoView(); } else { openAnchor(); }
  }

  /* Sorting: each header's button sorts by that column; a second press
     reverses. A cell's data-sort, when present, is its key; the header's
     data-type="num" compares keys as numbers. */
  function sortBy(th) {
    var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
    var col = headers.indexOf(th);
    var asc = th.getAttribute("aria-sort") !== "ascending";
    var numeric = th.getAttribute("data-type") === "num";
    headers.forEach(function (h) { if (h.hasAttribute("aria-sort")) { h.setAttribute("aria-sort", "none"); } });
    th.setAttribute("aria-sort", asc ? "ascending" : "descending");
    var keyed = Array.prototype.slice.call(body.rows).map(function (r, i) {
      var cell = r.cells[col];
      var key = cell ? (cell.getAttribute("data-sort") !== null ? cell.getAttribute("data-sort") : cell.textContent) : "";
      return { row: r, key: numeric ? parseFloat(key) : key.toLowerCase(), i: i };
    });
    keyed.sort(function (a, b) {
      var x = a.key, y = b.key, c;
      if (numeric) {
        var xn = isNaN(x), yn = isNaN(y);
        c = xn && yn ? 0 : xn ? 1 : yn ? -1 : x - y;
        if (xn || yn) { return c !== 0 ? c : a.i - b.i; }
      } else {
        c = x < y ? -1 : x > y ? 1 : 0;
      }
      if (!asc) { c = -c; }
      return c !== 0 ? c : a.i - b.i;
    });
    var frag = document.createDocumentFragment();
    keyed.forEach(function (k) { frag.appendChild(k.row); });
    body.appendChild(frag);
  }

  Array.prototype.slice.call(table.tHead.rows[0].cells).forEach(function (th) {
    var button = th.querySelector("button");
    if (button) { button.addEventListener("click", function () { sortBy(th); }); }
  });
  if (select) {
    select.addEventListener("change", function () {
      if (select.value !== "*") { apply({ verdict: select.value, q: state.q }); }
    });
  }
  if (input) {
    input.addEventListener("input", function () { apply({ verdict: state.verdict, q: input.value }); });
  }
  // Enter in the search box filters already; it must not reload the page.
  controls.addEventListener("submit", function (e) { e.preventDefault(); });
  window.addEventListener("hashchange", onHash);
  // Printing shows every drill-down that the filter left visible.
  var opened = [];
  window.addEventListener("beforeprint", function () {
    opened = details.filter(function (d) { return d && !d.open && !d.hidden; });
    opened.forEach(function (d) { d.open = true; });
  });
  window.addEventListener("afterprint", function () {
    opened.forEach(function (d) { d.open = false; });
    opened = [];
  });
  // For scripted use (a test, a bookmarklet): the same entry point.
  window.smtptlsFilter = function (verdict, q) { apply({ verdict: verdict || "", q: q || "" }); };
  controls.hidden = false;
  var initial = fromHash();
  if (initial) { apply(initial, true); } else { apply(state, true); openAnchor(); }
})();
