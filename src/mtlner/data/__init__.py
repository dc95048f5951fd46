"""Corpora in, windows out: the label scheme, reading and writing corpora, packing windows, the leak audit, the HUNER build."""
