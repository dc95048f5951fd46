"""Document IDs exactly as HUNER's split files spell them."""


def huner_strip(file_name: str, suffix: str) -> str:
    """``file_name.strip(suffix)``: HUNER used ``str.strip`` (which strips a *set of
    characters* from both ends, not a suffix), so e.g. DECA's ``yeast_00053_devtest.txt``
    is listed as ``yeast_00053_devtes`` in its split files. We reproduce that to match."""
    return file_name.strip(suffix) if suffix else file_name
