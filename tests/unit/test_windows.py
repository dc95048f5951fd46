import re

import pytest
import torch

from mtlner.data.corpus import Sentence, TaggedDocument
from mtlner.errors import UserError
from mtlner.data.labels import LABEL_ID, SPECIAL
from mtlner.data.windows import ablate, build_windows, load_windows, save_windows


def _doc(*sentences):
    return TaggedDocument([Sentence(t.split(), g.split(), line=i + 1) for i, (t, g) in enumerate(sentences)])


def _check_invariants(windows, docs, tokenizer, max_length):
    """Lengths within bounds, every word aligned, tags preserved, mentions whole."""
    all_words = [w for d in docs for s in d.sentences for w in s.tokens]
    all_tags = [t for d in docs for s in d.sentences for t in s.tags]
    assert [w for win in windows for w in win.words] == all_words  # nothing lost, order kept
    position = 0
    for win in windows:
        assert len(win.input_ids) <= max_length
        assert len(win.labels) == len(win.input_ids)
        assert win.input_ids[0] == tokenizer.cls_token_id and win.input_ids[-1] == tokenizer.sep_token_id
        assert win.labels[0] == SPECIAL and win.labels[-1] == SPECIAL
        assert sum(win.sentence_lengths) == len(win.word_ends) == len(win.words)
        # every subword between [CLS] and [SEP] belongs to exactly one word, in order
        starts = [1] + [e + 1 for e in win.word_ends[:-1]]
        assert win.word_ends[-1] == len(win.input_ids) - 2
        for (
            word,
            start,
            end,
        ) in zip(win.words, starts, win.word_ends):
            expected = tokenizer(word, add_special_tokens=False)["input_ids"] or [tokenizer.unk_token_id]
            assert win.input_ids[start : end + 1] == expected
            tag = all_tags[position]
            assert set(win.labels[start : end + 1]) == {LABEL_ID[tag]}  # every subword carries the word's tag
            position += 1
        first_tag = all_tags[position - len(win.words)]
        assert first_tag != "I", "a window starts inside a mention"


def test_packs_sentences_up_to_max_length(tokenizer):
    docs = [_doc(*[("HeLa cells were treated with cisplatin .", "B O O O O B O")] * 12)]
    windows = build_windows(docs, tokenizer, max_length=32)
    _check_invariants(windows, docs, tokenizer, 32)
    assert len(windows) > 1
    assert all(len(w.sentence_lengths) >= 2 for w in windows[:-1])  # several sentences per window


def test_windows_never_cross_documents(tokenizer):
    docs = [_doc(("a b", "O O")), _doc(("c d", "O O"))]
    windows = build_windows(docs, tokenizer, max_length=64)
    assert [w.doc for w in windows] == [0, 1]


def test_long_sentence_is_cut_outside_mentions(tokenizer):
    words = "the interleukin-2 receptor alpha chain binds tumour necrosis factor receptor superfamily member in cells".split()
    tags = ["O", "B", "I", "I", "I", "O", "B", "I", "I", "I", "I", "I", "O", "O"]
    docs = [_doc((" ".join(words), " ".join(tags)))]
    for max_length in (12, 16, 20, 24):
        windows = build_windows(docs, tokenizer, max_length=max_length)
        _check_invariants(windows, docs, tokenizer, max_length)
        # a window boundary inside a mention would leave a window starting with an I word
        for w in windows:
            start = sum(len(x.words) for x in windows[: windows.index(w)])
            assert tags[start] != "I"


def test_mention_longer_than_window_is_a_clear_error(tokenizer):
    docs = [_doc(("a very long protein name with many words here", "B I I I I I I I"))]
    with pytest.raises(UserError, match="sentence at line 1: a mention longer than the window"):
        build_windows(docs, tokenizer, max_length=8, source="train.tsv")


def test_mention_longer_than_window_names_the_users_file_and_line(tokenizer, tmp_path):
    from tests.helpers import conll, write

    from mtlner.cli import main
    from mtlner.data.corpus import attach_origins, read_conll

    raw = tmp_path / "my corpus"
    text = "\n\n\n" + conll("short/B-X one/O", "a/B-X very/I-X long/I-X protein/I-X name/I-X with/I-X words/I-X")
    for split in ("train", "dev", "test"):
        write(raw / f"{split}.tsv", text)
    out = tmp_path / "prepared"
    assert main(["prepare", "--task", "t", "--entity", "x", "--input-dir", str(raw), "--out-dir", str(out)]) == 0
    docs, _ = read_conll(out / "train.tsv")
    assert attach_origins(docs, out / "stats.json", "train")
    with pytest.raises(UserError) as err:
        build_windows(docs, tokenizer, max_length=8, source=str(out / "train.tsv"))
    # line 7 of the user's file (three blank lines, a two-token sentence, a blank line); line 6 of the prepared one
    assert str(err.value).startswith(
        f"{(raw / 'train.tsv').resolve()}:7 (prepared as {out / 'train.tsv'}, sentence at line 6)"
    )
    # a corpus prepared before the map existed: the prepared file and line, as before
    (out / "stats.json").write_text('{"task": "t"}')
    docs, _ = read_conll(out / "train.tsv")
    assert not attach_origins(docs, out / "stats.json", "train")
    with pytest.raises(UserError, match=r"^\S*prepared/train.tsv, sentence at line 6: a mention longer"):
        build_windows(docs, tokenizer, max_length=8, source=str(out / "train.tsv"))


def test_last_subword_carries_the_word_label(tokenizer):
    docs = [_doc(("cyclooxygenase-2 expression", "B O"))]
    (window,) = build_windows(docs, tokenizer, max_length=64)
    first_end = window.word_ends[0]
    assert first_end > 1  # the gene name is several subwords
    assert window.labels[first_end] == LABEL_ID["B"]
    assert window.labels[window.word_ends[1]] == LABEL_ID["O"]


def test_ablation_is_seeded_exact_and_nested():
    windows = list(range(200))
    kept = {a: ablate(windows, a, seed=7) for a in (0.0, 0.25, 0.5, 0.75, 0.9)}
    assert {a: len(k) for a, k in kept.items()} == {0.0: 200, 0.25: 150, 0.5: 100, 0.75: 50, 0.9: 20}
    assert kept[0.0] == windows
    assert ablate(windows, 0.5, seed=7) == kept[0.5]  # same seed, same sample
    assert ablate(windows, 0.5, seed=8) != kept[0.5]
    assert set(kept[0.9]) <= set(kept[0.75]) <= set(kept[0.5]) <= set(kept[0.25])
    assert len(ablate(list(range(3)), 0.9, seed=1)) == 1  # never empty
    for bad in (-0.1, 1.0, 1.5):
        with pytest.raises(UserError, match="outside"):
            ablate(windows, bad, seed=1)


def test_window_cache_round_trips(tmp_path, tokenizer):
    docs = [_doc(("Aspirin inhibits COX-1 .", "B O B O"))]
    windows = build_windows(docs, tokenizer, max_length=64)
    save_windows(windows, tmp_path / "w.pt", {"encoder": "x"})
    again, meta = load_windows(tmp_path / "w.pt")
    assert again == windows and meta == {"encoder": "x"}
    assert [p.name for p in tmp_path.iterdir()] == ["w.pt"]  # no temp file left


@pytest.mark.parametrize("damage", ["truncated", "empty", "other_layout"])
def test_a_damaged_window_cache_is_a_clear_error_saying_how_to_rebuild(tmp_path, tokenizer, damage):
    path = tmp_path / "train.pt"
    save_windows(build_windows([_doc(("Aspirin inhibits COX-1 .", "B O B O"))], tokenizer, 64), path, {})
    data = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        torch.save({"rows": []}, path)
    with pytest.raises(UserError, match=f"window cache {re.escape(str(path))} is damaged") as err:
        load_windows(path)
    assert f"--forcerun {path}" in str(err.value.hint)


def test_words_holding_unicode_spaces_or_separators_stay_one_word(tokenizer, tmp_path):
    """mtlner.data.corpus keeps "10\u00a0mg" or "a\u2028b" as one token; each is one word of its window."""
    from tests.helpers import write

    from mtlner.data.corpus import read_conll

    words = ["10\u00a0mg", "a\u2028b", "c\x85d", "\u00a0", "e\x0cf", "aspirin"]
    path = write(tmp_path / "t.tsv", "".join(f"{w}\tO\n" for w in words[:-1]) + "aspirin\tB-Chemical\n")
    docs, _ = read_conll(path)
    assert docs[0].sentences[0].tokens == words
    windows = build_windows(docs, tokenizer, max_length=64)
    _check_invariants(windows, docs, tokenizer, 64)
    assert windows[0].words == words
