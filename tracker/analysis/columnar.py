"""A statement's result as NumPy columns, without one Python object per value where the driver
allows it: PostgreSQL sends ``COPY (statement) TO STDOUT`` in its binary format, which NumPy
reads in place (one structured array); other databases hand over the driver's rows.

For hundreds of thousands of rows this is what the time goes into (400,000 ``run_metrics``
rows: most of a second as Python tuples, a tenth of that as binary; benchmarks/RESULTS.md).
On PostgreSQL the statement's columns must be NOT NULL and of the fixed-width types given
(``int64``, ``int32``, ``int16``, ``float64``; ``typed`` casts to them): coalesce NULLs in SQL
(a float's to NaN, say). Elsewhere any dtype NumPy knows does, ``object`` included.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from sqlalchemy import Connection, Select, cast
from sqlalchemy.types import BigInteger, Double, Integer, SmallInteger

from ..optional import require

_SQL_TYPES = {"int64": BigInteger, "int32": Integer, "int16": SmallInteger, "float64": Double}
_WIRE = {"int64": ">i8", "int32": ">i4", "int16": ">i2", "float64": ">f8"}
_HEADER = b"PGCOPY\n\xff\r\n\x00"


def typed(column, dtype: str):
    """``column`` cast to the SQL type that ``read_columns`` reads as ``dtype``."""
    return cast(column, _SQL_TYPES[dtype]())


def read_columns(conn: Connection, stmt: Select, dtypes: Sequence[str]) -> list:
    """The columns of ``stmt`` as NumPy arrays of ``dtypes`` (one per selected column)."""
    np = require("numpy", "DataFrames")
    if conn.dialect.name == "postgresql":
        return _copy_binary(conn, stmt, dtypes)
    result = conn.execute(stmt)
    try:
        rows = result.cursor.fetchall()
    finally:
        result.close()
    if not rows:
        return [np.empty(0, dtype=dtype) for dtype in dtypes]
    # One object array, then a cast per column: half the time of transposing the tuples in
    # Python. NULLs of a float column become NaN here (NumPy casts None to NaN).
    table = np.array(rows, dtype=object)
    return [table[:, i] if dtype == "object" else table[:, i].astype(dtype)
            for i, dtype in enumerate(dtypes)]


def _copy_binary(conn: Connection, stmt: Select, dtypes: Sequence[str]) -> list:
    np = require("numpy", "DataFrames")
    from psycopg2 import sql
    from psycopg2.extensions import encodings

    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    raw = conn.connection.driver_connection
    with raw.cursor() as cursor:
        # The driver's own quoting inlines the parameters: COPY takes none.
        query = cursor.mogrify(str(compiled), compiled.params).decode(encodings[raw.encoding])
        buffer = io.BytesIO()
        cursor.copy_expert(sql.SQL("COPY ({}) TO STDOUT WITH (FORMAT binary)").format(
            sql.SQL(query)), buffer)
    data = buffer.getbuffer()
    if bytes(data[:11]) != _HEADER:
        raise ValueError("not PostgreSQL's binary COPY format")
    offset = 19 + int.from_bytes(data[15:19], "big")
    fields = [("fields", ">i2")]
    for i, dtype in enumerate(dtypes):
        fields += [(f"size{i}", ">i4"), (f"value{i}", _WIRE[dtype])]
    row = np.dtype(fields)
    count = (len(data) - offset - 2) // row.itemsize
    table = np.frombuffer(data, dtype=row, count=count, offset=offset)
    sizes_ok = all((table[f"size{i}"] == np.dtype(_WIRE[d]).itemsize).all()
                   for i, d in enumerate(dtypes))
    if not ((table["fields"] == len(dtypes)).all() and sizes_ok):
        raise ValueError("a column of the COPY is NULL or not of the width expected")
    return [table[f"value{i}"].astype(dtype) for i, dtype in enumerate(dtypes)]
