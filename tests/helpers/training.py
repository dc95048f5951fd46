"""A demo corpus as an in-memory training task (MiniLM windows), for tests that train in-process."""

from mtlner.data.corpus import read_conll
from mtlner.training.loop import Task
from mtlner.data.windows import build_windows

from tests.helpers import demo_corpus


def demo_task(name, tokenizer, entity, max_length=64, limit=None):
    folder = demo_corpus(name)
    splits = {}
    for split in ("train", "dev", "test"):
        docs, _ = read_conll(folder / f"{split}.tsv")
        splits[split] = build_windows(docs, tokenizer, max_length)[:limit]
    return Task(name, entity, splits["train"], splits["dev"], splits["test"])
