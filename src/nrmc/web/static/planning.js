/* Planning maps: each element with data-siting holds {province, units, sites} (JSON written by
   the server into the attribute, so the pages need no inline script). Counties are dots at
   their centroids coloured by the site serving them; existing centres are diamonds, new sites
   stars. Drawn on load and after every htmx swap. */
(function () {
  "use strict";
  var COLOURS = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d",
                 "#1f78b4", "#b2df8a", "#fb9a99", "#cab2d6", "#6a3d9a"];

  function draw(el) {
    if (el.getAttribute("data-rendered") || typeof echarts === "undefined") { return; }
    var data = JSON.parse(el.getAttribute("data-siting"));
    var chart = echarts.init(el);
    var colourOf = {};
    data.sites.forEach(function (s, i) { colourOf[s.code] = COLOURS[i % COLOURS.length]; });
    fetch("/static/maps/" + data.province + ".json").then(function (r) { return r.json(); }).then(function (geo) {
      echarts.registerMap("m" + data.province, geo);
      var series = data.sites.map(function (s) {
        return { name: s.rank + " " + s.name_zh, type: "scatter", coordinateSystem: "geo", symbolSize: 7,
                 itemStyle: { color: colourOf[s.code] },
                 data: data.units.filter(function (u) { return u.site === s.code; })
                   .map(function (u) { return { name: u.name_zh, value: [u.lon, u.lat, u.minutes] }; }) };
      });
      series.push({ name: "已有中心 existing", type: "scatter", coordinateSystem: "geo", symbol: "diamond", symbolSize: 18,
                    itemStyle: { color: "#fff", borderColor: "#000", borderWidth: 2 },
                    data: data.sites.filter(function (s) { return s.existing; })
                      .map(function (s) { return { name: s.name_zh, value: [s.lon, s.lat] }; }) });
      series.push({ name: "新建中心 new sites", type: "effectScatter", coordinateSystem: "geo", symbol: "pin", symbolSize: 26,
                    itemStyle: { color: "#d7191c" },
                    data: data.sites.filter(function (s) { return !s.existing; })
                      .map(function (s) { return { name: s.rank + " " + s.name_zh, value: [s.lon, s.lat] }; }) });
      chart.setOption({
        tooltip: { trigger: "item", formatter: function (p) { return p.seriesName + "<br>" + p.name +
          (p.value && p.value[2] != null ? "<br>" + p.value[2] + " min" : ""); } },
        legend: { bottom: 0, type: "scroll" },
        geo: { map: "m" + data.province, roam: true, itemStyle: { areaColor: "#f2f2f2", borderColor: "#777" } },
        series: series
      });
      el.setAttribute("data-rendered", String(data.sites.length));
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }

  function drawAll(root) {
    (root || document).querySelectorAll("[data-siting]").forEach(draw);
  }
  document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
  document.addEventListener("htmx:afterSettle", function (e) { drawAll(e.target); });
})();
