/* Sortable tables: every table inside <div class="dl-sortable"> (written by tools/generator/overview.py:
 * the model comparison on 总览, the glossary) gets a button in each header cell. Click (or Enter
 * / Space) sorts the rows by that column, ascending then descending; aria-sort tells screen
 * readers the current order.
 *
 * Cell values are read from their text: "25,557,032", "3.86 G", "724.4 M" and "23.1 K" are numbers
 * (K/M/G multiply by 10^3/10^6/10^9), "—" or an empty cell sorts last in both directions, anything
 * else is compared as Chinese/English text with numeric parts in numeric order. Equal keys keep
 * their original order. No dependencies; Material's instant navigation swaps pages without
 * reloading scripts, so tables are set up again on every `document$` emission.
 */
(function () {
  "use strict";

  var SCALE = { K: 1e3, M: 1e6, G: 1e9, T: 1e12 };
  var NUMBER = /^([-+]?\d+(?:\.\d+)?)\s*([KMGT])?$/;
  var collator = new Intl.Collator(["zh-Hans-CN", "en"], { numeric: true, sensitivity: "base" });

  // Sort key of a cell: null (empty), {num} or {text}.
  function key(cell) {
    var text = cell ? cell.textContent.trim() : "";
    if (text === "" || text === "—" || text === "-") return null;
    var m = NUMBER.exec(text.replace(/[,\u2009\u202f]/g, ""));
    if (m) return { num: parseFloat(m[1]) * (SCALE[m[2]] || 1) };
    return { text: text };
  }

  function compare(a, b) {
    if ("num" in a && "num" in b) return a.num - b.num;
    if ("num" in a) return -1; // numbers before text
    if ("num" in b) return 1;
    return collator.compare(a.text, b.text);
  }

  function sortBy(table, column, direction) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows).map(function (row, index) {
      return { row: row, index: index, key: key(row.cells[column]) };
    });
    rows.sort(function (x, y) {
      if (x.key === null || y.key === null) {
        if (x.key === y.key) return x.index - y.index;
        return x.key === null ? 1 : -1; // empty cells last, whatever the direction
      }
      return compare(x.key, y.key) * direction || x.index - y.index;
    });
    rows.forEach(function (r) {
      body.appendChild(r.row);
    });
  }

  function setup(table) {
    if (table.dataset.dlSortable || !table.tHead || !table.tBodies.length) return;
    table.dataset.dlSortable = "1";
    var headers = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(headers, function (th, column) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "dl-sort";
      while (th.firstChild) button.appendChild(th.firstChild);
      button.title = "点击排序";
      th.appendChild(button);
      button.addEventListener("click", function () {
        var next = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
        Array.prototype.forEach.call(headers, function (other) {
          other.removeAttribute("aria-sort");
        });
        th.setAttribute("aria-sort", next);
        sortBy(table, column, next === "ascending" ? 1 : -1);
      });
    });
  }

  function init() {
    document.querySelectorAll(".dl-sortable table").forEach(setup);
  }

  if (typeof document$ !== "undefined") {
    document$.subscribe(init);
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
