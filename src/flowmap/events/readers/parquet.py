"""Parquet files: typed columns, text dictionary-encoded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from flowmap.errors import EventDataError
from flowmap.events.readers.header import RawTable

__all__ = ["read_parquet"]


def read_parquet(path: Path) -> RawTable:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
        text_cols = [f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]
        # Dictionary-encoded text becomes pandas categoricals: each distinct case id and event
        # name is held once, not once per row (10M rows of ids would otherwise take gigabytes).
        table = pq.read_table(path, read_dictionary=text_cols)
    except (pa.ArrowInvalid, OSError) as e:
        raise EventDataError(f"{path}: cannot read as Parquet: {str(e).splitlines()[0]}") from None
    frame: pd.DataFrame = table.to_pandas(coerce_temporal_nanoseconds=False)
    return RawTable(frame=frame, positions=np.arange(1, len(frame) + 1, dtype=np.int64), unit="row")
