/* Charts of the programme-office pages. No inline script: each page embeds its data as
   <script type="application/json" id="..."> and this file draws whatever it finds. */
(function () {
  "use strict";

  function data(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function sparkline(el, points) {
    var chart = echarts.init(el);
    chart.setOption({
      grid: { left: 2, right: 2, top: 4, bottom: 2 }, tooltip: { trigger: "axis" },
      xAxis: { type: "category", show: false, data: points.map(function (p) { return p[0]; }) },
      yAxis: { type: "value", show: false },
      series: [{ type: "line", data: points.map(function (p) { return p[1]; }), symbol: "none",
                 areaStyle: { opacity: 0.15 }, lineStyle: { width: 1.5 } }]
    });
    el.setAttribute("data-rendered", String(points.length));
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function dashboard(d) {
    var batches = d.batches.map(function (b) { return b.batch ? "第" + b.batch + "批" : "未知"; });
    var timeline = document.getElementById("batch-timeline");
    if (timeline) {
      nrmcBars(timeline, batches, [
        { name: "已批复 approved", data: d.batches.map(function (b) { return b.approved; }) },
        { name: "在建 under construction", data: d.batches.map(function (b) { return b.under_construction; }) },
        { name: "已开诊 opened", data: d.batches.map(function (b) { return b.opened; }) }
      ], { yName: "项目 projects" });
    }
    var map = document.getElementById("covered-map");
    if (map) {
      nrmcMap(map, "100000", d.provinces, { metric: "项目 projects", linkPrefix: "/regions/" });
    }
    document.querySelectorAll("[data-trend]").forEach(function (el) {
      var points = d.trends[el.getAttribute("data-trend")];
      if (points) { sparkline(el, points); }
    });
  }

  /* Gantt-like timeline: one row per project (or per milestone), planned as a hollow marker,
     actual as a filled one, late ones red. */
  function milestones(d) {
    var el = document.getElementById("timeline");
    if (!el) { return; }
    if (d.row_height) {  /* one row per project: grow the chart with the list */
      el.style.height = Math.max(300, d.rows.length * d.row_height + 90) + "px";
    }
    var chart = echarts.init(el);
    var day = 86400000;
    var planned = [], actual = [], late = [];
    d.rows.forEach(function (r, i) {
      planned.push({ name: r.label, value: [Date.parse(r.planned_on), i] });
      if (r.actual_on) {
        (r.late ? late : actual).push({ name: r.label, value: [Date.parse(r.actual_on), i] });
      } else if (r.late) {
        late.push({ name: r.label + " (未完成 open)", value: [Date.parse(d.as_of), i] });
      }
    });
    chart.setOption({
      tooltip: { trigger: "item", formatter: function (p) {
        return p.seriesName + "<br>" + p.name + "<br>" + new Date(p.value[0]).toISOString().slice(0, 10); } },
      legend: { bottom: 0 },
      grid: { left: 150, right: 20, top: 10, bottom: 50 },
      xAxis: { type: "time", min: Date.parse(d.start) - 30 * day },
      yAxis: { type: "category", inverse: true, data: d.rows.map(function (r) { return r.row; }),
               axisLabel: { width: 140, overflow: "truncate" } },
      series: [
        { name: "计划 planned", type: "scatter", symbol: "emptyCircle", symbolSize: 10, data: planned, itemStyle: { color: "#888" } },
        { name: "实际 actual", type: "scatter", symbolSize: 10, data: actual, itemStyle: { color: "#1a9850" } },
        { name: "延误 late", type: "scatter", symbol: "diamond", symbolSize: 12, data: late, itemStyle: { color: "#d7191c" } },
        { name: "今天 as of", type: "line", data: [], markLine: { symbol: "none", label: { formatter: "as of" },
          lineStyle: { color: "#225ea8", type: "dashed" }, data: [{ xAxis: Date.parse(d.as_of) }] } }
      ]
    });
    el.setAttribute("data-rendered", String(d.rows.length));
    window.addEventListener("resize", function () { chart.resize(); });
  }

  /* A trusteeship's progress: the upgrade path planned (straight line from start grade to the
     target by the deadline) against the grades reported, and posts/departments/volumes. */
  function trusteeship(d) {
    var el = document.getElementById("progress");
    if (!el) { return; }
    var chart = echarts.init(el);
    chart.setOption({
      tooltip: { trigger: "axis" }, legend: { top: 0 },
      grid: { left: 60, right: 60, top: 40, bottom: 40 },
      xAxis: { type: "time" },
      yAxis: [{ type: "value", name: "等级 grade", min: 0, max: d.ladder.length - 1, interval: 1,
                axisLabel: { formatter: function (v) { return d.ladder[v] || ""; } } },
              { type: "value", name: "人/科/项 count" }],
      series: [
        { name: "计划路径 planned path", type: "line", data: d.path, lineStyle: { type: "dashed" }, symbol: "none" },
        { name: "实际等级 grade reached", type: "line", step: "end", data: d.grades },
        { name: "派驻岗位 posts filled", type: "bar", yAxisIndex: 1, data: d.posts },
        { name: "开设科室 departments opened", type: "bar", yAxisIndex: 1, data: d.departments },
        { name: "新技术 technologies", type: "line", yAxisIndex: 1, data: d.technologies }
      ]
    });
    el.setAttribute("data-rendered", String(d.grades.length));
    var volumes = document.getElementById("volumes");
    if (volumes) {
      nrmcBars(volumes, d.months, [{ name: "门诊 outpatients", data: d.outpatients },
                                   { name: "手术 surgeries", data: d.surgeries }], { type: "line" });
    }
    window.addEventListener("resize", function () { chart.resize(); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var d = data("programme-data");
    if (d) { dashboard(d); }
    var m = data("timeline-data");
    if (m) { milestones(m); }
    var t = data("trusteeship-data");
    if (t) { trusteeship(t); }
  });
})();
