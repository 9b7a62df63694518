"""Reading and writing the CSV formats of DESIGN.md section 1."""
