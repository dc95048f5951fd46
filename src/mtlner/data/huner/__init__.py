"""HUNER corpora: download, convert, tokenise, split (issue 3). Entry point: ``python -m mtlner.data.huner``."""
