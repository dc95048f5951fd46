"""metrics.json files of report tests turned into their CRF twins."""

import json


def with_head(path, head):
    """A copy of a metrics.json in a crf/ folder beside it, with ``head`` set."""
    data = json.loads(path.read_text())
    crf = path.parent / "crf" / "metrics.json"
    crf.parent.mkdir(parents=True, exist_ok=True)
    crf.write_text(json.dumps(data | {"head": head}))
    return crf
