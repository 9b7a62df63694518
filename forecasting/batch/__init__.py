"""Batch jobs over whole catalogues: forecast, reorder and backtest in chunks of items, with bounded memory.

``plan`` (the job and its chunks), ``staging`` (a sales file split by item on
disk, result parts merged in order), ``sources`` (chunks from a staged file or
the database), ``work`` (what a worker does with a chunk), ``engines`` (in
this process, or ``ray_engine`` on a Ray cluster) and ``runner`` (the job end
to end, with its run record).
"""
