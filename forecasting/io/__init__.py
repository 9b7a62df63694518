"""Reading and writing the CSV formats of docs/data-formats.md."""
