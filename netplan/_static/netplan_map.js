/* netplan map runtime, inlined into every map netplan draws (no network access).
 *
 * netplanMap.layer(map, spec) builds one of the plan's layers from a compact spec;
 * netplanMap.control(map, position, html, className) adds an HTML box (legend, totals);
 * GP layers built with spec.search register their GPs with the map's search box.
 *
 * Tooltip, popup and control HTML arrives already HTML-escaped by netplan. Names and ids shown in
 * search results are only ever inserted as text (textContent), never as HTML.
 */
(function () {
  "use strict";

  // Clusters dissolve from this zoom on (a district or less in view: the GPs are drawn on the
  // canvas), and the search zooms at least this far in.
  var CLUSTER_OFF_ZOOM = 10;
  var REVEAL_ZOOM = 14;
  var MAX_RESULTS = 10;
  var MAX_ZOOM = 19;

  function state(map) {
    if (!map._netplan) {
      map._netplan = {
        renderer: L.canvas({padding: 0.5, tolerance: 3}),
        gps: [],
        search: null
      };
    }
    return map._netplan;
  }

  function bindTexts(layer, props) {
    if (props.t) {
      layer.bindTooltip(props.t, {sticky: true});
    }
    if (props.p) {
      layer.bindPopup(props.p, {maxWidth: 380});
    }
  }

  function layer(map, spec) {
    var st = state(map);
    var geo = L.geoJSON(spec.data, {
      renderer: st.renderer,
      style: function (feature) {
        return spec.styles[feature.properties.s];
      },
      pointToLayer: function (feature, latlng) {
        if (spec.icon) {
          return L.marker(latlng, {icon: L.divIcon(spec.icon), keyboard: false});
        }
        return L.circleMarker(latlng, {renderer: st.renderer});
      },
      onEachFeature: function (feature, item) {
        bindTexts(item, feature.properties);
      }
    });
    var out = geo;
    if (spec.cluster) {
      if (map.options.maxZoom === undefined) {
        map.options.maxZoom = MAX_ZOOM; // clustering needs it; tiles may come later or never
      }
      out = L.markerClusterGroup({
        chunkedLoading: true,
        showCoverageOnHover: false,
        maxClusterRadius: 60,
        disableClusteringAtZoom: CLUSTER_OFF_ZOOM
      });
      out.addLayers(geo.getLayers());
    }
    if (spec.search) {
      register(map, geo, out);
    }
    return out;
  }

  function register(map, geo, group) {
    var st = state(map);
    geo.eachLayer(function (item) {
      var p = item.feature.properties;
      var name = String(p.n || ""), id = String(p.i || "");
      st.gps.push({
        name: name,
        id: id,
        nameKey: name.toLowerCase(),
        idKey: id.toLowerCase(),
        latlng: item.getLatLng(),
        popup: p.p || p.t || "",
        group: group
      });
    });
    if (!st.search) {
      st.search = new Search().addTo(map);
    }
  }

  // GPs matching a query: exact name or id first, then names or ids starting with it, then
  // names or ids containing it (case-insensitive), at most `limit`.
  function find(map, query, limit) {
    var q = String(query || "").trim().toLowerCase();
    var ranks = [[], [], []];
    if (!q) {
      return [];
    }
    state(map).gps.forEach(function (g) {
      if (g.nameKey === q || g.idKey === q) {
        ranks[0].push(g);
      } else if (g.nameKey.indexOf(q) === 0 || g.idKey.indexOf(q) === 0) {
        ranks[1].push(g);
      } else if (g.nameKey.indexOf(q) > 0 || g.idKey.indexOf(q) > 0) {
        ranks[2].push(g);
      }
    });
    return ranks[0].concat(ranks[1], ranks[2]).slice(0, limit || MAX_RESULTS);
  }

  // Show a GP: its layer on, the map centred on it close enough to dissolve clusters, its popup open.
  function reveal(map, g) {
    if (!map.hasLayer(g.group)) {
      map.addLayer(g.group);
    }
    map.setView(g.latlng, Math.max(map.getZoom(), REVEAL_ZOOM), {animate: false});
    L.popup({maxWidth: 380}).setLatLng(g.latlng).setContent(g.popup).openOn(map);
  }

  function label(g) {
    if (g.name && g.id) {
      return g.name + " (" + g.id + ")";
    }
    return g.name || g.id;
  }

  var Search = L.Control.extend({
    options: {position: "topleft"},

    onAdd: function (map) {
      var box = L.DomUtil.create("div", "netplan-search leaflet-bar");
      var input = L.DomUtil.create("input", "netplan-search-input", box);
      var list = L.DomUtil.create("ul", "netplan-search-results", box);
      var hits = [];
      input.type = "search";
      input.placeholder = "Find a GP (name or id)";
      input.setAttribute("aria-label", "Find a GP by name or id");

      function show() {
        hits = find(map, input.value, MAX_RESULTS);
        list.textContent = "";
        hits.forEach(function (g) {
          var li = L.DomUtil.create("li", "netplan-search-hit", list);
          li.textContent = label(g);
          L.DomEvent.on(li, "click", function () {
            reveal(map, g);
          });
        });
        if (!hits.length && input.value.trim()) {
          L.DomUtil.create("li", "netplan-search-none", list).textContent = "no GP found";
        }
      }

      L.DomEvent.on(input, "input", show);
      L.DomEvent.on(input, "keydown", function (e) {
        L.DomEvent.stopPropagation(e);
        if (e.key === "Enter" && hits.length) {
          reveal(map, hits[0]);
        } else if (e.key === "Escape") {
          input.value = "";
          show();
        }
      });
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      return box;
    }
  });

  function control(map, position, html, className) {
    var box = L.control({position: position});
    box.onAdd = function () {
      var div = L.DomUtil.create("div", className);
      div.innerHTML = html;
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      return div;
    };
    return box.addTo(map);
  }

  window.netplanMap = {layer: layer, control: control, find: find, reveal: reveal};
})();
