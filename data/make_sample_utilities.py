"""Make the SYNTHETIC existing-fibre and power-line layers of the sample (run from the repo root).

    python data/make_sample_utilities.py

The sample has no real utility data, so these layers are invented, seeded and labelled
SYNTHETIC in data/README.md:

* ``sample/existing_fibre.geojson``: an operator's existing fibre along every national highway
  of ``sample/roads.parquet``, drawn 12 m beside the road's centre line (in the highway's
  right of way), as BSNL/RailTel-style trunk routes usually run.
* ``sample/power_lines.geojson``: 11 kV distribution lines along a seeded random 40 % of the
  named MDR/ODR roads, 8 m beside the centre line.

:func:`synthetic_utilities` is also used by ``benchmarks/state_plan.py`` on the state roads.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

SEED = 20251130
EXISTING_OFFSET_M = 12.0
POWER_OFFSET_M = 8.0
POWER_SHARE = 0.4


def _beside(roads: gpd.GeoDataFrame, by: str, offset_m: float) -> gpd.GeoDataFrame:
    """Lines ``offset_m`` to the left of the roads, one set per value of ``by``."""
    metric = roads.to_crs(roads.estimate_utm_crs())
    rows = []
    for key, group in metric.groupby(by, sort=True):
        merged = shapely.line_merge(shapely.union_all(group.geometry.to_numpy()))
        for part in shapely.get_parts(merged):
            moved = shapely.offset_curve(part, offset_m, join_style="round")
            rows.extend((key, line) for line in shapely.get_parts(moved) if line.length > 0)
    frame = gpd.GeoDataFrame(rows, columns=[by, "geometry"], crs=metric.crs)
    return frame.to_crs(roads.crs)


def synthetic_utilities(
    roads: gpd.GeoDataFrame, *, seed: int = SEED
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """SYNTHETIC existing fibre along the NHs and power lines along some MDR/ODR roads.

    Parameters
    ----------
    roads
        Road lines with ``road_class`` and ``name`` (and ``ref`` for NHs).
    seed
        Seed of the random choice of MDR/ODR roads that get a power line.

    Returns
    -------
    existing, power
        Line layers in the roads' CRS, with ``owner``/``voltage`` columns.
    """
    nh = roads[roads["road_class"] == "NH"]
    existing = _beside(nh, "ref", EXISTING_OFFSET_M)
    existing["owner"] = "SYNTHETIC operator"
    existing["id"] = [f"OF-{i + 1}" for i in range(len(existing))]
    district = roads[roads["road_class"].isin(["MDR", "ODR"]) & (roads["name"] != "")]
    names = np.sort(district["name"].unique())
    rng = np.random.default_rng(seed)
    chosen = names[rng.random(len(names)) < POWER_SHARE]
    power = _beside(district[district["name"].isin(chosen)], "name", POWER_OFFSET_M)
    power["voltage"] = "11 kV"
    power["id"] = [f"PL-{i + 1}" for i in range(len(power))]
    cols_e = ["id", "ref", "owner", "geometry"]
    cols_p = ["id", "name", "voltage", "geometry"]
    return existing[cols_e], power[cols_p]


def main() -> None:
    sample = Path(__file__).resolve().parent / "sample"
    roads = gpd.read_parquet(sample / "roads.parquet")
    existing, power = synthetic_utilities(roads)
    for frame, name in ((existing, "existing_fibre"), (power, "power_lines")):
        frame = frame.copy()
        frame["geometry"] = shapely.set_precision(frame.geometry.to_numpy(), 1e-6)
        path = sample / f"{name}.geojson"
        path.unlink(missing_ok=True)
        frame.to_file(path, driver="GeoJSON")
        km = pd.Series(frame.to_crs(frame.estimate_utm_crs()).length).sum() / 1000
        print(f"{path}: {len(frame)} lines, {km:.1f} km")


if __name__ == "__main__":
    main()
