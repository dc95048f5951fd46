"""Hand-made windows for the report tests: one subword per word."""

from mtlner.data.labels import LABEL_ID, SPECIAL
from mtlner.data.windows import Window


def window(*sentences: str, doc: int = 0) -> Window:
    """'tok/TAG tok/TAG' sentences -> one window, one subword per word."""
    words, tags, lengths = [], [], []
    for sentence in sentences:
        pairs = [t.rsplit("/", 1) for t in sentence.split()]
        words += [w for w, _ in pairs]
        tags += [t for _, t in pairs]
        lengths.append(len(pairs))
    n = len(words)
    return Window(
        [101] + [7] * n + [102],
        [SPECIAL] + [LABEL_ID[t] for t in tags] + [SPECIAL],
        list(range(1, n + 1)),
        lengths,
        words,
        doc,
    )
