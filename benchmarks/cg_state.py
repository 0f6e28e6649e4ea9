"""The state-scale benchmark ``cg_state`` as every benchmark reads it, and the peak memory they
print. (The Dask benchmarks keep their own process figures: a function defined in the script is
sent to the workers by value, one imported from here would have to be importable there.)

``cg_state`` (in the shared data folder, see its README): 9,356 real GPs and 149 real tehsil-HQ
PoPs of Chhattisgarh, 415,822 synthetic road lines and 1,848 synthetic forest polygons, as
GeoParquet.
"""

from __future__ import annotations

import resource
from collections.abc import Collection
from pathlib import Path

import geopandas as gpd

LAYERS = ("gps", "pops", "roads", "forest")


def load(
    shared: Path,
    *,
    layers: Collection[str] = LAYERS,
    pops: int = 0,
    districts: Collection[str] = (),
) -> dict[str, gpd.GeoDataFrame]:
    """The ``layers`` of ``shared/cg_state``; with ``pops`` only the first N PoPs (by id) and
    the GPs of their districts, with ``districts`` only those districts' GPs and PoPs."""
    folder = Path(shared) / "cg_state"
    out = {name: gpd.read_parquet(folder / f"{name}.parquet") for name in layers}
    if pops:
        out["pops"] = out["pops"].sort_values("pop_id").head(pops)
        out["gps"] = out["gps"][out["gps"]["district"].isin(set(out["pops"]["district"]))]
    if districts:
        for name in ("gps", "pops"):
            out[name] = out[name][out[name]["district"].isin(set(districts))]
    return out


def peak_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
