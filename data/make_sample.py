"""Regenerate the bundled sample data from ``../shared/data`` (run from the repository root).

    python data/make_sample.py [--shared ../shared/data]

* ``data/sample/``: Dantewada district cut from the state-scale benchmark ``cg_state``: REAL GP
  offices and tehsil-HQ points, SYNTHETIC roads and forest (see data/README.md).
* ``data/ladakh/``: panchayat offices and one PoP per block derived from the REAL PMGSY Ladakh
  facilities and habitations; the real roads stay in ``../shared/data/ladakh/Road_DRRP_Ladakh.zip``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import geopandas as gpd
import pandas as pd

DISTRICT = "Dantewada"
MARGIN_M = 5000.0


def make_sample(shared: Path, out: Path) -> None:
    cg = shared / "cg_state"
    districts = gpd.read_parquet(cg / "districts.parquet")
    area = districts.loc[districts["district"] == DISTRICT, "geometry"].to_crs(32644)
    region = area.buffer(MARGIN_M).to_crs(4326).union_all()
    inner = area.to_crs(4326).union_all()

    gps = gpd.read_parquet(cg / "gps.parquet")
    gps = gps[gps.within(inner)].sort_values("gp_id")
    table = pd.DataFrame(
        {
            "gp_id": gps["gp_id"],
            "name": gps["name"],
            "block": gps["block"],
            "population": gps["population"],
            "lon": gps.geometry.x.round(6),
            "lat": gps.geometry.y.round(6),
        }
    )
    table.to_csv(out / "gps.csv", index=False)

    pops = gpd.read_parquet(cg / "pops.parquet")
    pops = pops[pops.within(inner)].sort_values("pop_id")
    pops[["pop_id", "name", "district", "geometry"]].to_file(out / "pops.geojson", driver="GeoJSON")

    roads = gpd.read_parquet(cg / "roads.parquet")
    roads = roads[roads.intersects(region)].sort_values("road_id")
    roads[["road_id", "road_class", "ref", "name", "geometry"]].to_parquet(
        out / "roads.parquet", compression="zstd", index=False
    )
    nh = roads[roads["road_class"] == "NH"].dissolve(by="ref", as_index=False)
    nh["geometry"] = nh.geometry.line_merge()
    nh[["ref", "geometry"]].to_file(out / "highways.geojson", driver="GeoJSON")

    forest = gpd.read_parquet(cg / "forest.parquet")
    forest = forest[forest.intersects(region)].copy()
    forest["geometry"] = forest.intersection(region)
    forest = forest[~forest.is_empty].sort_values("forest_id")
    forest.to_parquet(out / "forest.parquet", compression="zstd", index=False)


def make_ladakh(shared: Path, out: Path) -> None:
    ladakh = shared / "ladakh"
    facilities = gpd.read_file(ladakh / "Facilities_Ladakh.zip")
    offices = facilities[facilities["FAC_DESC"].str.contains("panchayat", case=False, na=False)]
    offices = offices.sort_values("FACILITY_I")
    offices[["FACILITY_I", "FAC_DESC", "BLOCK_ID", "HAB_ID", "geometry"]].to_file(
        out / "panchayat_offices.geojson", driver="GeoJSON"
    )
    habitations = gpd.read_file(ladakh / "Habitation_Ladakh.zip")
    habitations = habitations.sort_values(
        ["BLOCK_ID", "TOT_POPULA", "HAB_ID"], ascending=[True, False, True]
    )
    pops = habitations.groupby("BLOCK_ID", as_index=False).head(1)
    pops = pops.rename(columns={"HAB_ID": "pop_id", "HAB_NAME": "name"})
    pops[["pop_id", "name", "BLOCK_ID", "TOT_POPULA", "geometry"]].to_file(
        out / "pops.geojson", driver="GeoJSON"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path("..") / "shared" / "data")
    args = parser.parse_args()
    here = Path(__file__).resolve().parent
    make_sample(args.shared, here / "sample")
    make_ladakh(args.shared, here / "ladakh")
