/* Chart helpers shared by the pages. Data comes embedded in the page or from /api/v1;
   boundaries come from /static/maps/<code>.json (ECharts 4.9.0 map files, Apache-2.0). */
(function () {
  "use strict";
  var fmt = new Intl.NumberFormat("zh-CN");
  var PALETTE = ["#ffffd9", "#c7e9b4", "#7fcdbb", "#41b6c4", "#1d91c0", "#225ea8", "#0c2c84"];
  var loaded = {};

  function loadMap(code) {
    if (!loaded[code]) {
      loaded[code] = fetch("/static/maps/" + code + ".json").then(function (r) { return r.json(); })
        .then(function (geo) { echarts.registerMap("m" + code, geo); return "m" + code; });
    }
    return loaded[code];
  }

  /* Choropleth of `rows` ([{code, name, value}]) on the boundaries of region `mapCode`.
     Clicking an area opens `linkPrefix + code` when given. */
  window.nrmcMap = function (el, mapCode, rows, opts) {
    opts = opts || {};
    var chart = echarts.init(el, null, { renderer: "canvas" });
    chart.showLoading();
    var max = Math.max.apply(null, rows.map(function (r) { return r.value || 0; })
      .concat([opts.percent ? 0.01 : 1]));
    return loadMap(mapCode).then(function (name) {
      chart.hideLoading();
      chart.setOption({
        tooltip: { trigger: "item", formatter: function (p) {
          var d = p.data || {}; return (d.label || p.name) + "<br>" + (opts.metric || "") + ": " +
            (d.value == null ? "—" : (opts.percent ? (d.value * 100).toFixed(1) + "%" : fmt.format(d.value)));
        } },
        visualMap: { min: 0, max: max, left: 8, bottom: 8, calculable: true, text: [opts.high || "高 high", opts.low || "低 low"],
                     inRange: { color: PALETTE }, formatter: function (v) { return opts.percent ? (v * 100).toFixed(0) + "%" : fmt.format(Math.round(v)); } },
        series: [{ type: "map", map: name, nameProperty: "adcode", roam: false,
                   emphasis: { label: { show: false }, itemStyle: { areaColor: "#ffbf47" } },
                   itemStyle: { borderColor: "#555", borderWidth: 0.6, areaColor: "#eeeeee" },
                   data: rows.map(function (r) { return { name: r.code, value: r.value, label: r.name }; }) }]
      });
      el.setAttribute("data-rendered", String(rows.length));
      if (opts.linkPrefix) {
        chart.on("click", function (p) { if (p.name) { window.location.href = opts.linkPrefix + p.name; } });
      }
      window.addEventListener("resize", function () { chart.resize(); });
      return chart;
    });
  };

  window.nrmcBars = function (el, categories, series, opts) {
    opts = opts || {};
    var chart = echarts.init(el);
    chart.setOption({
      tooltip: { trigger: "axis" }, legend: { top: 0 }, grid: { left: 50, right: 20, top: 36, bottom: 40 },
      xAxis: { type: "category", data: categories }, yAxis: { type: "value", name: opts.yName || "" },
      color: ["#225ea8", "#41b6c4", "#a1dab4", "#fdae61", "#d7191c"],
      series: series.map(function (s) { return { type: opts.type || "bar", name: s.name, data: s.data, stack: opts.stack }; })
    });
    el.setAttribute("data-rendered", "1");
    window.addEventListener("resize", function () { chart.resize(); });
    return chart;
  };
})();

/* Pages carry no inline script (the Content-Security-Policy forbids it): each chart's data sits
   in a <script type="application/json" data-chart="map|bars|siting" data-target="ELEMENT-ID">
   block, drawn here on load and after every htmx swap. */
(function () {
  "use strict";
  function scaled(series) {
    if (!series.scale) { return series; }
    var p = Math.pow(10, series.digits || 0);
    return { name: series.name, data: series.data.map(function (v) {
      return v === null || v === undefined ? null : Math.round(v * series.scale * p) / p; }) };
  }
  var draw = {
    map: function (el, d) { return window.nrmcMap(el, d.code, d.rows, d.opts); },
    bars: function (el, d) {
      var opts = d.opts || {};
      var categories = opts.batchLabels
        ? d.categories.map(function (b) { return b ? "第" + b + "批" : "未知"; }) : d.categories;
      return window.nrmcBars(el, categories, d.series.map(scaled), opts);
    }
  };
  function drawCharts(root) {
    var blocks = (root || document).querySelectorAll('script[type="application/json"][data-chart]');
    Array.prototype.forEach.call(blocks, function (block) {
      var el = document.getElementById(block.getAttribute("data-target"));
      var kind = draw[block.getAttribute("data-chart")];
      if (!el || !kind || block.getAttribute("data-drawn")) { return; }
      block.setAttribute("data-drawn", "1");
      kind(el, JSON.parse(block.textContent));
    });
  }
  /* Wide tables scroll inside their own box instead of widening the page (375 px phones). */
  function wrapTables(root) {
    Array.prototype.forEach.call((root || document).querySelectorAll("main table"), function (table) {
      var parent = table.parentElement;
      if (parent && parent.classList.contains("table-wrap")) { return; }
      var box = document.createElement("div");
      box.className = "table-wrap";
      parent.insertBefore(box, table);
      box.appendChild(table);
    });
  }
  function ready(root) { wrapTables(root); drawCharts(root); }
  document.addEventListener("DOMContentLoaded", function () {
    ready(document);
    /* After a swap, look at the whole page: the new content may be the JSON block itself. */
    if (window.htmx) { window.htmx.onLoad(function () { ready(document); }); }
    var toggle = document.querySelector(".nav-toggle");
    if (toggle) {
      toggle.addEventListener("click", function () {
        var open = document.body.classList.toggle("nav-open");
        toggle.setAttribute("aria-expanded", open ? "true" : "false");
      });
    }
  });
  /* <select data-autosubmit> submits its form on change (instead of an inline onchange). */
  document.addEventListener("change", function (e) {
    var t = e.target;
    if (t && t.matches && t.matches("select[data-autosubmit]") && t.form) { t.form.submit(); }
  });
})();
