"""What a sweep looks like: DataFrames, exports (CSV, Parquet, JSON Lines), plots and the
HTML report. Needs the ``analysis`` extra (pandas, pyarrow, matplotlib), imported when first
used with an error naming the extra.

May import ``tracker.store`` and ``tracker.optional``; never Keras or the capture layer.
"""
