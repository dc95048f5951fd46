"""Tables, figures and statistics over finished jobs (results/tables, results/figures)."""
