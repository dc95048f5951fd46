"""mtlner.training.crf: the linear-chain CRF against brute force over every path of tiny chains.

Fast (CPU, a few seconds): emissions are random tensors, no encoder.
"""

import itertools
import math

import pytest
import torch

from mtlner.training.crf import LinearChainCRF, masks_from_positions
from mtlner.data.labels import IGNORE, LABELS, word_positions
from mtlner.training.inference import collate
from mtlner.data.windows import Window

LABEL_SETS = [
    LABELS,  # the project's: O, B, I and the special-token class (never a state)
    ("O", "B-gene", "I-gene", "B-chem", "I-chem"),
    ("B-x", "SPECIAL", "I-x", "O"),  # states out of order, a non-state in the middle
]


# --------------------------------------------------------------------------- brute force


def _allowed(names, path, starts=()):
    """IOB2 written out plainly: no I at the start (or at a sentence start), and an I only after a
    B or I of its own type."""
    for t, label in enumerate(names[s] for s in path):
        prefix, _, kind = label.partition("-")
        if prefix != "I":
            continue
        if t == 0 or t in starts:
            return False
        before_prefix, _, before_kind = names[path[t - 1]].partition("-")
        if before_prefix not in ("B", "I") or before_kind != kind:
            return False
    return True


def _brute(crf, emissions, starts=()):
    """Every allowed path of one chain (emissions [n, num_labels], label ids) with its score."""
    states = [i for i, name in enumerate(crf.labels) if name == "O" or name[0] in "BI"]
    index = {label: k for k, label in enumerate(states)}
    paths = []
    for path in itertools.product(states, repeat=emissions.shape[0]):
        if not _allowed(crf.labels, path, starts):
            continue
        k = [index[label] for label in path]
        score = crf.start[k[0]] + crf.end[k[-1]] + sum(emissions[t, label] for t, label in enumerate(path))
        score = score + sum(crf.transitions[a, b] for a, b in zip(k, k[1:]))
        paths.append((list(path), float(score.detach())))
    return paths


def _random_crf(labels, seed):
    torch.manual_seed(seed)
    crf = LinearChainCRF(labels).double()
    with torch.no_grad():
        for p in crf.parameters():
            p.normal_(0, 1)
    return crf


def _log_z(paths):
    return float(torch.logsumexp(torch.tensor([s for _, s in paths], dtype=torch.float64), 0))


def _batch(chains, labels, seed, width=None):
    """Chains of word emissions spread over a padded batch at random word positions: returns
    (emissions [B, T, L], mask, positions per window); the other positions hold junk."""
    gen = torch.Generator().manual_seed(seed)
    width = width or max(2 * len(c) + 3 for c in chains)
    emissions = torch.randn((len(chains), width, len(labels)), generator=gen, dtype=torch.float64) * 50
    positions = []
    for row, chain in enumerate(chains):
        at = sorted(torch.randperm(width, generator=gen)[: len(chain)].tolist())
        emissions[row, at] = chain
        positions.append(at)
    mask, _ = masks_from_positions(positions, width)
    return emissions, mask, positions


def _chains(labels, lengths, seed):
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn((n, len(labels)), generator=gen, dtype=torch.float64) * 2 for n in lengths]


# --------------------------------------------------------------------------- likelihood


def test_log_likelihood_by_hand():
    """O/B/I, two words, no learnt scores yet: the allowed paths are OO OB BO BB BI (I cannot
    start, O cannot precede I), scored by their emissions alone."""
    crf = LinearChainCRF(("O", "B", "I")).double()
    emissions = torch.tensor([[[1.0, 2.0, 0.0], [0.0, 1.0, 3.0]]], dtype=torch.float64)
    mask = torch.ones((1, 2), dtype=torch.bool)
    log_z = math.log(math.exp(1) + 2 * math.exp(2) + math.exp(3) + math.exp(5))
    gold_bi = torch.tensor([[1, 2]])
    assert crf.neg_log_likelihood(emissions, gold_bi, mask).item() == pytest.approx(log_z - 5)
    assert crf.neg_log_likelihood(emissions, torch.tensor([[0, 0]]), mask).item() == pytest.approx(log_z - 1)
    assert crf.decode(emissions, mask) == [[1, 2]]
    # a transition score moves both the gold path's score and the partition
    with torch.no_grad():
        crf.transitions[1, 2] = 1.5  # B -> I
        crf.start[0] = -0.5  # O first
    log_z = math.log(math.exp(0.5) + math.exp(1.5) + math.exp(2) + math.exp(3) + math.exp(6.5))  # OO OB BO BB BI
    assert crf.neg_log_likelihood(emissions, gold_bi, mask).item() == pytest.approx(log_z - 6.5)


@pytest.mark.parametrize("labels", LABEL_SETS)
@pytest.mark.parametrize("seed", range(4))
def test_log_likelihood_matches_brute_force(labels, seed):
    crf = _random_crf(labels, seed)
    lengths = [4, 1, 0, 3, 2]
    chains = _chains(labels, lengths, seed)
    emissions, mask, positions = _batch(chains, labels, seed)
    gen = torch.Generator().manual_seed(seed + 100)
    gold = torch.full(mask.shape, IGNORE)
    expected = []
    for row, chain in enumerate(chains):
        if not len(chain):
            expected.append(0.0)
            continue
        paths = _brute(crf, chain)
        path, score = paths[int(torch.randint(len(paths), (1,), generator=gen))]
        gold[row, positions[row]] = torch.tensor(path)
        expected.append(_log_z(paths) - score)
    total = crf.neg_log_likelihood(emissions, gold, mask, reduction="sum")
    assert total.item() == pytest.approx(sum(expected), rel=1e-9)
    for row in range(len(chains)):  # one window alone: batch of 1
        one = crf.neg_log_likelihood(emissions[row : row + 1], gold[row : row + 1], mask[row : row + 1])
        assert one.item() == pytest.approx(expected[row], rel=1e-9, abs=1e-9)
    mean = crf.neg_log_likelihood(emissions, gold, mask)
    assert mean.item() == pytest.approx(sum(expected) / len(chains), rel=1e-9)
    per_word = crf.neg_log_likelihood(emissions, gold, mask, reduction="token_mean")
    assert per_word.item() == pytest.approx(sum(expected) / sum(lengths), rel=1e-9)


def test_collated_window_trains_on_its_word_positions_only():
    """A window as collate pads it (subword labels everywhere, SPECIAL on [CLS]/[SEP], IGNORE on
    pads): the likelihood is the one of its word labels alone, for either label_subwords."""
    # words: a = [7 8] B, b = [9] I, c = [10] O, d = [11 12] B; every subword carries its word's label
    window = Window([1, 7, 8, 9, 10, 11, 12, 2], [3, 1, 1, 2, 0, 1, 1, 3], [2, 3, 4, 6], [4], list("abcd"), 0)
    short = Window([1, 5, 2], [3, 0, 3], [1], [1], ["e"], 0)
    crf = _random_crf(LABELS, 7)
    gen = torch.Generator().manual_seed(7)
    for mode in ("all", "first"):
        _, _, labels = collate([window, short], pad_id=0, device=torch.device("cpu"), label_subwords=mode)
        emissions = torch.randn((2, labels.shape[1], len(LABELS)), generator=gen, dtype=torch.float64)
        at = [word_positions(window, mode), word_positions(short, mode)]
        mask, _ = masks_from_positions(at, labels.shape[1])
        nll = crf.neg_log_likelihood(emissions, labels, mask, reduction="sum")
        expected = 0.0
        for row, (w, positions) in enumerate(zip((window, short), at)):
            paths = _brute(crf, emissions[row, positions])
            gold = [w.labels[p] for p in positions]
            expected += _log_z(paths) - dict((tuple(p), s) for p, s in paths)[tuple(gold)]
        assert [window.labels[p] for p in at[0]] == [1, 2, 0, 1]
        assert nll.item() == pytest.approx(expected, rel=1e-9)


# --------------------------------------------------------------------------- decoding


@pytest.mark.parametrize("labels", LABEL_SETS)
@pytest.mark.parametrize("seed", range(4))
def test_viterbi_is_the_best_allowed_path(labels, seed):
    crf = _random_crf(labels, seed)
    chains = _chains(labels, [4, 1, 0, 3, 2, 4], seed)
    emissions, mask, _ = _batch(chains, labels, seed)
    decoded = crf.decode(emissions, mask)
    for chain, path in zip(chains, decoded):
        if not len(chain):
            assert path == []
            continue
        best_path, _ = max(_brute(crf, chain), key=lambda p: p[1])
        assert path == best_path
    assert [crf.decode(emissions[r : r + 1], mask[r : r + 1])[0] for r in range(len(chains))] == decoded


@pytest.mark.parametrize("labels", LABEL_SETS)
def test_decoded_paths_never_break_iob2(labels):
    """Random emissions that favour I everywhere, many seeds, long chains, sentence starts inside."""
    names = labels
    for seed in range(40):
        crf = _random_crf(labels, seed)
        gen = torch.Generator().manual_seed(seed)
        emissions = torch.randn((6, 40, len(labels)), generator=gen) * 5
        for i, name in enumerate(names):
            if name.startswith("I"):
                emissions[..., i] += 4
        mask = torch.rand((6, 40), generator=gen) < 0.7
        mask[0] = False  # an empty window among them
        starts = torch.rand((6, 40), generator=gen) < 0.2
        with torch.no_grad():
            crf.transitions.add_(torch.randn(crf.transitions.shape, generator=gen, dtype=torch.float64) * 5)
        for with_starts in (None, starts):
            for row, path in enumerate(crf.decode(emissions, mask, with_starts)):
                assert len(path) == int(mask[row].sum())
                assert all(names[label] == "O" or names[label][0] in "BI" for label in path)
                at = mask[row].nonzero().squeeze(1)
                inside = {k for k, p in enumerate(at.tolist()) if with_starts is not None and starts[row, p]}
                assert _allowed(names, path, inside), (seed, row, [names[i] for i in path])


def test_sentence_starts_forbid_i_and_match_brute_force():
    crf = _random_crf(LABELS, 3)
    chain = _chains(LABELS, [4], 3)[0]
    emissions, mask, positions = _batch([chain], LABELS, 3)
    starts = torch.zeros_like(mask)
    starts[0, positions[0][2]] = True  # the third word starts a second sentence
    paths = _brute(crf, chain, starts={2})
    best, _ = max(paths, key=lambda p: p[1])
    assert crf.decode(emissions, mask, starts) == [best]
    gold = torch.full(mask.shape, IGNORE)
    gold[0, positions[0]] = torch.tensor(paths[0][0])
    nll = crf.neg_log_likelihood(emissions, gold, mask, starts)
    assert nll.item() == pytest.approx(_log_z(paths) - paths[0][1], rel=1e-9)
    gold[0, positions[0]] = torch.tensor([1, 2, 2, 0])  # B I | I O: an I opening the second sentence
    with pytest.raises(ValueError, match="break IOB2"):
        crf.neg_log_likelihood(emissions, gold, mask, starts)
    # the same labels are fine in one sentence
    crf.neg_log_likelihood(emissions, gold, mask)


def test_masks_from_positions_marks_sentence_starts():
    mask, starts = masks_from_positions([[1, 3, 4, 6], []], 8, sentence_lengths=[[2, 1, 1], []])
    assert mask.tolist() == [[False, True, False, True, True, False, True, False], [False] * 8]
    assert starts[0].nonzero().squeeze(1).tolist() == [4, 6]
    assert not starts[1].any()
    with pytest.raises(ValueError, match="word positions"):
        masks_from_positions([[9]], 8)


# --------------------------------------------------------------------------- masked-out positions


@pytest.mark.parametrize("labels", LABEL_SETS)
def test_junk_positions_change_nothing(labels):
    """Inserting positions outside the mask (pads, specials, non-read subwords), whatever they
    hold (huge, inf, nan), leaves the loss, its gradient, the paths and the marginals as they were."""
    crf = _random_crf(labels, 11)
    chains = _chains(labels, [5, 2, 0, 1], 11)
    width = 5
    dense = torch.zeros((len(chains), width, len(labels)), dtype=torch.float64)
    dense_mask = torch.zeros((len(chains), width), dtype=torch.bool)
    gold = torch.full((len(chains), width), IGNORE)
    for row, chain in enumerate(chains):
        dense[row, : len(chain)] = chain
        dense_mask[row, : len(chain)] = True
        gold[row, : len(chain)] = torch.tensor(max(_brute(crf, chain), key=lambda p: p[1])[0] if len(chain) else [])
    emissions, mask, positions = _batch(chains, labels, 11, width=14)
    emissions[~mask] = float("nan")
    emissions[0, ~mask[0]] = float("inf")
    emissions[1, ~mask[1]] = -1e30
    sparse_gold = torch.randint(0, len(labels), mask.shape)  # anything outside the mask
    for row, at in enumerate(positions):
        sparse_gold[row, at] = gold[row, : len(at)]
    dense.requires_grad_(True)
    emissions.requires_grad_(True)
    reference = crf.neg_log_likelihood(dense, gold, dense_mask)
    loss = crf.neg_log_likelihood(emissions, sparse_gold, mask)
    assert loss.item() == pytest.approx(reference.item(), rel=1e-12)
    reference.backward()
    loss.backward()
    assert torch.isfinite(emissions.grad).all()
    assert (emissions.grad[~mask] == 0).all()
    for row, at in enumerate(positions):
        torch.testing.assert_close(emissions.grad[row, at], dense.grad[row, : len(at)])
    assert crf.decode(emissions, mask) == crf.decode(dense, dense_mask)
    sparse = crf.marginals(emissions, mask)
    compact = crf.marginals(dense, dense_mask)
    assert (sparse[~mask] == 0).all()
    for row, at in enumerate(positions):
        torch.testing.assert_close(sparse[row, at], compact[row, : len(at)])


# --------------------------------------------------------------------------- marginals


@pytest.mark.parametrize("labels", LABEL_SETS)
def test_marginals_sum_to_one_and_match_brute_force(labels):
    crf = _random_crf(labels, 5)
    chains = _chains(labels, [4, 1, 0, 3], 5)
    emissions, mask, positions = _batch(chains, labels, 5)
    starts = torch.zeros_like(mask)
    starts[0, positions[0][2]] = True
    for with_starts in (None, starts):
        marginals = crf.marginals(emissions, mask, with_starts)
        assert marginals.shape == emissions.shape
        torch.testing.assert_close(marginals.sum(-1), mask.double())
        non_states = [i for i, name in enumerate(labels) if not (name == "O" or name[0] in "BI")]
        assert (marginals[..., non_states] == 0).all()
        for row, chain in enumerate(chains):
            if not len(chain):
                continue
            paths = _brute(crf, chain, {2} if with_starts is not None and row == 0 else ())
            log_z = _log_z(paths)
            expected = torch.zeros((len(chain), len(labels)), dtype=torch.float64)
            for path, score in paths:
                for t, label in enumerate(path):
                    expected[t, label] += math.exp(score - log_z)
            torch.testing.assert_close(marginals[row, positions[row]], expected)


# --------------------------------------------------------------------------- edge cases, errors


def test_empty_windows_and_empty_batches():
    crf = LinearChainCRF(LABELS)
    emissions = torch.randn((3, 6, 4), requires_grad=True)
    nothing = torch.zeros((3, 6), dtype=torch.bool)
    labels = torch.full((3, 6), IGNORE)
    loss = crf.neg_log_likelihood(emissions, labels, nothing)
    assert loss.item() == 0.0
    loss.backward()  # no NaN, nothing to learn
    assert (emissions.grad == 0).all()
    assert crf.neg_log_likelihood(emissions, labels, nothing, reduction="token_mean").item() == 0.0
    assert crf.decode(emissions, nothing) == [[], [], []]
    assert (crf.marginals(emissions, nothing) == 0).all()
    assert crf.decode(torch.zeros((2, 0, 4)), torch.zeros((2, 0), dtype=torch.bool)) == [[], []]
    assert crf.decode(torch.zeros((0, 5, 4)), torch.zeros((0, 5), dtype=torch.bool)) == []


def test_untrained_crf_decodes_the_emissions_argmax_when_it_is_allowed():
    crf = LinearChainCRF(LABELS)
    emissions = torch.full((1, 5, 4), -3.0)
    for t, label in enumerate([3, 1, 2, 0, 1]):  # SPECIAL is high at [CLS] but never a state
        emissions[0, t, label] = 3.0
    emissions[0, 3, 3] = 9.0  # a word whose best logit is SPECIAL gets its best IOB label
    mask = torch.tensor([[False, True, True, True, True]])
    assert crf.decode(emissions, mask) == [[1, 2, 0, 1]]
    emissions[0, 1, :] = torch.tensor([3.0, -3.0, 5.0, 0.0])  # I first: repaired, not copied
    assert crf.decode(emissions, mask)[0][0] != 2


def test_bf16_emissions_are_scored_in_float32():
    crf = LinearChainCRF(LABELS)
    emissions = torch.randn((2, 9, 4)).bfloat16()
    mask = torch.ones((2, 9), dtype=torch.bool)
    gold = torch.zeros((2, 9), dtype=torch.long)
    loss = crf.neg_log_likelihood(emissions, gold, mask)
    assert loss.dtype == torch.float32
    assert loss.item() == pytest.approx(crf.neg_log_likelihood(emissions.float(), gold, mask).item())


def test_bad_input_is_a_clear_error():
    crf = LinearChainCRF(LABELS)
    emissions = torch.randn((1, 4, 4))
    mask = torch.tensor([[False, True, True, False]])
    with pytest.raises(ValueError, match="not one of the IOB labels"):
        crf.neg_log_likelihood(emissions, torch.tensor([[3, 0, IGNORE, 3]]), mask)
    with pytest.raises(ValueError, match="not one of the IOB labels"):
        crf.neg_log_likelihood(emissions, torch.tensor([[3, 3, 0, 3]]), mask)  # SPECIAL on a word
    with pytest.raises(ValueError, match="break IOB2"):
        crf.neg_log_likelihood(emissions, torch.tensor([[3, 0, 2, 3]]), mask)  # O -> I
    with pytest.raises(ValueError, match="break IOB2"):
        crf.neg_log_likelihood(emissions, torch.tensor([[3, 2, 2, 3]]), mask)  # I first
    with pytest.raises(ValueError, match=r"emissions must be \[batch, seq, 4\]"):
        crf.decode(torch.randn((1, 4, 3)), mask)
    with pytest.raises(ValueError, match="mask must be"):
        crf.decode(emissions, mask[:, :3])
    with pytest.raises(ValueError, match="reduction"):
        crf.neg_log_likelihood(emissions, torch.zeros((1, 4), dtype=torch.long), mask, reduction="avg")
    typed = LinearChainCRF(("O", "B-a", "I-a", "B-b", "I-b"))
    with pytest.raises(ValueError, match="break IOB2"):  # B-a -> I-b
        typed.neg_log_likelihood(torch.randn((1, 2, 5)), torch.tensor([[1, 4]]), torch.ones((1, 2), dtype=torch.bool))
    with pytest.raises(ValueError, match="no B label"):
        LinearChainCRF(("O", "B-a", "I-b"))
    with pytest.raises(ValueError, match="no O label"):
        LinearChainCRF(("B", "I"))


# --------------------------------------------------------------------------- learning


def test_gradients_reach_every_score_and_training_finds_the_gold_path():
    """A linear emission layer and a CRF on fixed random features: a few Adam steps lower the NLL
    and Viterbi then returns the gold labels, padding and specials included in the batch."""
    torch.manual_seed(0)
    gold_words = [[1, 2, 2, 0, 1, 0, 0, 1, 2], [0, 1, 2, 0, 1]]
    width = 12
    features = torch.randn((2, width, 8))
    mask = torch.zeros((2, width), dtype=torch.bool)
    labels = torch.full((2, width), IGNORE)
    for row, words in enumerate(gold_words):
        labels[row, 0] = 3  # [CLS]
        labels[row, 1 : 1 + len(words)] = torch.tensor(words)
        mask[row, 1 : 1 + len(words)] = True
        labels[row, 1 + len(words)] = 3  # [SEP], then pads
    head = torch.nn.Linear(8, len(LABELS))
    crf = LinearChainCRF(LABELS)
    parameters = list(head.parameters()) + list(crf.parameters())
    optimiser = torch.optim.Adam(parameters, lr=0.05)

    first = crf.neg_log_likelihood(head(features), labels, mask)
    first.backward()
    for p in (crf.start, crf.end, crf.transitions, head.weight):
        assert torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0
    optimiser.zero_grad()
    losses = []
    for _ in range(60):
        loss = crf.neg_log_likelihood(head(features), labels, mask)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert losses[-1] < 0.25 * first.item()
    assert all(math.isfinite(x) for x in losses)
    with torch.no_grad():
        assert crf.decode(head(features), mask) == gold_words
        marginals = crf.marginals(head(features), mask)
    for row, words in enumerate(gold_words):
        assert marginals[row, 1 : 1 + len(words)].argmax(-1).tolist() == words
