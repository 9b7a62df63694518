"""Writing a table part by part, as CSV or Parquet, made visible only when complete.

Batch jobs produce their output a chunk at a time. :class:`TableWriter`
appends each part to a temporary file beside the target and renames it over
the target at the end (:func:`forecasting.io.output_file.output_file`: regular
files only, the usual mode), so a job that fails leaves no file that looks
complete. CSV parts are written exactly as :func:`write_csv` writes a whole
frame (formula-safe, 6 decimals, ISO dates), so the file is the same; Parquet
(a ``.parquet`` or ``.pq`` name) keeps the typed values as they are.
"""
from __future__ import annotations

import sys
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType

import pandas as pd

from forecasting.io.csv_export import safe_and_rounded
from forecasting.io.output_file import output_file
from forecasting.io.parquet_reader import is_parquet


class TableWriter:
    """``with TableWriter(path) as out: out.write(part)...``; ``path`` None writes CSV to stdout."""

    def __init__(self, output: str | Path | None):
        self.output = None if output is None else Path(output)
        self.parquet = is_parquet(self.output)
        self._tmp: Path | None = None
        self._handle = None
        self._parquet_writer = None
        self._schema = None
        self._header = True
        self._stack = ExitStack()

    def __enter__(self) -> TableWriter:
        if self.output is not None:
            self._tmp = self._stack.enter_context(output_file(self.output))
            if not self.parquet:
                self._handle = open(self._tmp, "w", encoding="utf-8", newline="")
        return self

    def write(self, frame: pd.DataFrame) -> None:
        """Append rows (every part with the same columns)."""
        if self.parquet:
            self._write_parquet(frame)
            return
        handle = self._handle if self._handle is not None else sys.stdout
        safe_and_rounded(frame).to_csv(handle, index=False, header=self._header, lineterminator="\n")
        self._header = False

    def _write_parquet(self, frame: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self._parquet_writer is None:
            table = pa.Table.from_pandas(frame, preserve_index=False)
            self._schema = table.schema
            self._parquet_writer = pq.ParquetWriter(self._tmp, self._schema)
        else:
            table = pa.Table.from_pandas(frame, schema=self._schema, preserve_index=False)
        self._parquet_writer.write_table(table)

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        failure = (kind, error, trace)
        try:
            if self._parquet_writer is not None:
                self._parquet_writer.close()
            if self._handle is not None:
                self._handle.close()
            elif self.output is None:
                sys.stdout.flush()
            if kind is None and self.parquet and self._tmp is not None and self._parquet_writer is None:
                raise RuntimeError("no rows were written")  # a Parquet file needs a schema
        except BaseException as exc:
            failure = (type(exc), exc, exc.__traceback__)
            raise
        finally:
            self._stack.__exit__(*failure)  # the temporary file replaces the target, or is removed on failure
