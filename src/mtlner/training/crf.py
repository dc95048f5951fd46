"""A linear-chain CRF over the word positions of a window, with the IOB2 constraints built in.

The paper's heads label every subword independently; its error analysis (section 7) proposes
"a CRF on top of the encoder layers" for the boundaries they miss. This module is that CRF, on
its own (not yet wired into training):

- **Emissions** are a head's logits, ``[batch, seq, num_labels]`` over subword positions, in the
  order of ``labels`` (the project's ``("O", "B", "I", "SPECIAL")``, or typed ``B-gene`` ...).
- **States** are the labels that are ``O``, ``B[-type]`` or ``I[-type]``; any other label (the
  special-token class) is never a state, so decoding never outputs it.
- **mask** ``[batch, seq]`` marks the positions that carry a word label: each word's read-from
  subword, as the word metric reads it (:func:`mtlner.data.labels.word_positions`). Those positions
  are gathered into one compact chain per window, so padding, ``[CLS]``/``[SEP]`` and the
  subwords a word is not read from are skipped, not treated as ``O``. A window without any
  masked position has an empty chain (likelihood 1, empty path).
- **labels** ``[batch, seq]``: the gold label id at the masked positions; other positions are not
  read (``IGNORE`` or the subword labels :func:`mtlner.training.inference.collate` writes are both fine).
- **sentence_starts** (optional, ``[batch, seq]``): masked positions where a sentence starts
  inside a packed window; no ``I`` may follow there, as at the window's start.

IOB2 constraints, in the likelihood, Viterbi and the marginals alike (``-inf`` scores, so a
forbidden path has probability exactly 0): no ``I`` at the start (of the window or of a
sentence), no ``O -> I-x``, no ``B-x -> I-y`` / ``I-x -> I-y`` with ``y != x``. Every allowed
path is one :func:`mtlner.data.labels.iob_spans` decodes without dropping a tag.

Written here (forward algorithm, Viterbi, forward-backward: one file of torch) rather than
taken from ``pytorch-crf``: it is small, it adds no package to the environment, and the constraints
and the compaction of word positions are part of the model instead of masks bolted on outside
it. Everything is vectorised over the batch (the only loop is over word positions), in float32
at least (bf16 emissions are promoted), with ``logsumexp`` throughout.

Self-contained on purpose (torch only, no other ``mtlner`` module) so it can move with the
package layout.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

NEG_INF = float("-inf")
REDUCTIONS = ("mean", "sum", "token_mean")


def iob_states(labels: Sequence[str]) -> list[int]:
    """Indices (into ``labels``) of the labels that are CRF states: ``O``, ``B[-t]``, ``I[-t]``."""
    return [i for i, name in enumerate(labels) if name == "O" or name.partition("-")[0] in ("B", "I")]


def masks_from_positions(
    positions: Sequence[Sequence[int]],
    width: int,
    sentence_lengths: Sequence[Sequence[int]] | None = None,
    device: torch.device | str | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(mask, sentence_starts)``, both bool ``[len(positions), width]``, from each window's word
    positions (e.g. ``word_positions(window, label_subwords)``) and, optionally, its words per
    sentence (``window.sentence_lengths``): sentence starts are the first word of every sentence
    after the first (the window's first word is a start anyway)."""
    mask = torch.zeros((len(positions), width), dtype=torch.bool)
    starts = torch.zeros((len(positions), width), dtype=torch.bool)
    for row, at in enumerate(positions):
        if len(at) == 0:
            continue
        at = torch.as_tensor(list(at), dtype=torch.long)
        if at.min() < 0 or at.max() >= width:
            raise ValueError(f"window {row}: word positions must lie in [0, {width})")
        mask[row, at] = True
        if sentence_lengths is not None:
            firsts = torch.tensor(list(sentence_lengths[row]), dtype=torch.long).cumsum(0)[:-1]
            firsts = firsts[firsts < len(at)]
            starts[row, at[firsts]] = True
    return mask.to(device), starts.to(device)


class LinearChainCRF(nn.Module):
    """Learnt start, end and transition scores over the IOB states of ``labels``.

    All scores start at 0, so an untrained CRF decodes the best allowed path of the emissions
    alone (the linear head's argmax, repaired to IOB2)."""

    def __init__(self, labels: Sequence[str]):
        super().__init__()
        self.labels = tuple(labels)
        states = iob_states(self.labels)
        names = [self.labels[i] for i in states]
        if "O" not in names:
            raise ValueError(f"labels {self.labels} have no O label")
        if len(set(self.labels)) != len(self.labels):
            raise ValueError(f"labels {self.labels} repeat a name")
        for name in names:
            prefix, _, kind = name.partition("-")
            if prefix == "I" and ("B-" + kind if kind else "B") not in names:
                raise ValueError(f"label {name!r} has no B label to start it")
        self.num_labels = len(self.labels)
        self.num_states = len(states)
        self.register_buffer("state_ids", torch.tensor(states, dtype=torch.long), persistent=False)
        # label id -> state index, -1 for labels that are not states
        to_state = torch.full((self.num_labels,), -1, dtype=torch.long)
        to_state[states] = torch.arange(len(states))
        self.register_buffer("label_to_state", to_state, persistent=False)

        # IOB2: which state may follow which, which may open a chain (or a sentence)
        parsed = [(name.partition("-")[0], name.partition("-")[2]) for name in names]
        allowed = torch.ones((len(names), len(names)), dtype=torch.bool)
        for j, (to_prefix, to_kind) in enumerate(parsed):
            if to_prefix == "I":
                for i, (from_prefix, from_kind) in enumerate(parsed):
                    allowed[i, j] = from_prefix in ("B", "I") and from_kind == to_kind
        opens = torch.tensor([prefix != "I" for prefix, _ in parsed])
        zero = torch.zeros(())
        self.register_buffer("transition_bias", torch.where(allowed, zero, NEG_INF), persistent=False)
        # added to the emissions of a chain's first position and of every sentence start, so the
        # constraint is in the one place the likelihood, Viterbi and the marginals all read (and no
        # logsumexp ever runs over -inf alone, whose gradient is NaN)
        self.register_buffer("open_bias", torch.where(opens, zero, NEG_INF), persistent=False)

        self.start = nn.Parameter(torch.zeros(len(names)))
        self.end = nn.Parameter(torch.zeros(len(names)))
        self.transitions = nn.Parameter(torch.zeros(len(names), len(names)))  # [from, to]

    # ------------------------------------------------------------------ compaction

    def _compact(self, emissions, mask, labels=None, sentence_starts=None):
        """The masked positions of every window, moved to the front in their order.

        Returns (scores [B, W, S]: emissions over the states, with the no-``I`` constraint added
        at every chain and sentence start and 0 past a chain's end; prefix mask [B, W]; lengths
        [B]; positions [B, W] they came from; gold states [B, W] or None); W is the longest chain.
        """
        if emissions.dim() != 3 or emissions.shape[-1] != self.num_labels:
            raise ValueError(f"emissions must be [batch, seq, {self.num_labels}], got {list(emissions.shape)}")
        batch, seq, _ = emissions.shape
        for name, value in (("mask", mask), ("labels", labels), ("sentence_starts", sentence_starts)):
            if value is not None and tuple(value.shape) != (batch, seq):
                raise ValueError(f"{name} must be [batch, seq] = {[batch, seq]}, got {list(value.shape)}")
        mask = mask.bool()
        lengths = mask.sum(1)
        width = int(lengths.max()) if batch and seq else 0
        # masked positions first (keys below seq) in their order, the others after them
        ar = torch.arange(seq, device=mask.device)
        positions = torch.where(mask, ar, ar + seq).argsort(dim=1)[:, :width]
        compact = torch.arange(width, device=mask.device)[None, :] < lengths[:, None]
        scores = emissions.to(torch.promote_types(emissions.dtype, torch.float32))[..., self.state_ids]
        scores = scores.gather(1, positions[..., None].expand(-1, -1, self.num_states))
        opens = compact.clone()
        opens[:, 1:] = False
        if sentence_starts is not None:
            opens |= sentence_starts.bool().gather(1, positions) & compact
        scores = scores + torch.where(opens[..., None], self.open_bias, 0.0)
        # what unmasked positions hold (pads, anything) never enters a sum, nor its gradient
        scores = torch.where(compact[..., None], scores, 0.0)
        gold = None
        if labels is not None:
            picked = labels.gather(1, positions)
            valid = (picked >= 0) & (picked < self.num_labels)
            gold = torch.where(valid, self.label_to_state[picked.clamp(0, self.num_labels - 1)], -1)
            bad = compact & (gold < 0)
            if bad.any():
                row = int(bad.any(1).nonzero()[0])
                raise ValueError(
                    f"window {row}: a masked position has label {int(picked[bad][0])}, not one of the IOB labels "
                    f"{[self.labels[i] for i in self.state_ids.tolist()]} (mask only the word positions)"
                )
            gold = gold.clamp(min=0)
        return scores, compact, lengths, positions, gold

    def _scores(self):
        """(start [S], transitions [S, S] with the IOB2 constraints, end [S])."""
        return self.start, self.transitions + self.transition_bias, self.end

    # ------------------------------------------------------------------ likelihood

    def _forward_alphas(self, scores, compact):
        """Log forward variables of every step [B, W, S] and the log partition [B] (0 when empty)."""
        start, trans, end = self._scores()
        batch, width, _ = scores.shape
        if width == 0:  # still a function of the emissions, so backward() runs (and gives 0)
            return scores.new_zeros((batch, 0, self.num_states)), scores.sum((1, 2))
        alpha = start + scores[:, 0]
        alphas = [alpha]
        for t in range(1, width):
            candidate = torch.logsumexp(alpha[:, :, None] + trans, dim=1) + scores[:, t]
            alpha = torch.where(compact[:, t, None], candidate, alpha)  # past its end a chain stands still
            alphas.append(alpha)
        log_z = torch.logsumexp(alpha + end, dim=1)
        return torch.stack(alphas, 1), torch.where(compact[:, 0], log_z, 0.0)

    def _path_score(self, scores, compact, lengths, gold):
        """Score of the gold path of every window [B] (0 for an empty chain)."""
        start, trans, end = self._scores()
        batch, width, _ = scores.shape
        if width == 0:
            return scores.new_zeros(batch)
        total = scores.gather(2, gold[..., None]).squeeze(-1).sum(1)  # 0 past the end
        steps = torch.where(compact[:, 1:], trans[gold[:, :-1], gold[:, 1:]], 0.0)
        last = gold.gather(1, (lengths - 1).clamp(min=0)[:, None]).squeeze(1)
        return total + steps.sum(1) + torch.where(compact[:, 0], start[gold[:, 0]] + end[last], 0.0)

    def neg_log_likelihood(
        self,
        emissions: torch.Tensor,
        labels: torch.Tensor,
        mask: torch.Tensor,
        sentence_starts: torch.Tensor | None = None,
        reduction: str = "mean",
    ) -> torch.Tensor:
        """``-log p(gold path | emissions)`` over each window's masked positions, reduced over the
        batch: ``mean`` over windows (the default; an empty window counts, with 0), ``sum``, or
        ``token_mean`` (divided by the number of masked positions, the scale of the linear head's
        token-averaged cross-entropy). A gold path the IOB2 constraints forbid is a ValueError."""
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction {reduction!r} is not one of {REDUCTIONS}")
        scores, compact, lengths, _, gold = self._compact(emissions, mask, labels, sentence_starts)
        _, log_z = self._forward_alphas(scores, compact)
        gold_score = self._path_score(scores, compact, lengths, gold)
        forbidden = torch.isneginf(gold_score)
        if forbidden.any():
            raise ValueError(
                f"window {int(forbidden.nonzero()[0])}: the gold labels break IOB2 (an I after O, after another "
                "type, or at a start); repair them to B first"
            )
        nll = log_z - gold_score
        if reduction == "sum":
            return nll.sum()
        if reduction == "token_mean":
            return nll.sum() / lengths.sum().clamp(min=1)
        return nll.mean() if nll.numel() else nll.sum()

    # ------------------------------------------------------------------ decoding

    @torch.no_grad()
    def decode(
        self, emissions: torch.Tensor, mask: torch.Tensor, sentence_starts: torch.Tensor | None = None
    ) -> list[list[int]]:
        """Viterbi: the best allowed label path of every window, as label ids (into ``labels``),
        one per masked position in order (``[]`` for a window without one)."""
        scores, compact, lengths, _, _ = self._compact(emissions, mask, None, sentence_starts)
        start, trans, end = self._scores()
        batch, width, states = scores.shape
        if width == 0:
            return [[] for _ in range(batch)]
        same = torch.arange(states, device=scores.device).expand(batch, states)
        delta = start + scores[:, 0]
        pointers = []
        for t in range(1, width):
            best, back = (delta[:, :, None] + trans).max(dim=1)
            on = compact[:, t, None]
            delta = torch.where(on, best + scores[:, t], delta)
            pointers.append(torch.where(on, back, same))  # past the end: stay on the same state
        state = (delta + end).argmax(dim=1)
        path = [state]
        for back in reversed(pointers):
            state = back.gather(1, state[:, None]).squeeze(1)
            path.append(state)
        path = self.state_ids[torch.stack(path[::-1], 1)].tolist()
        return [row[:n] for row, n in zip(path, lengths.tolist())]

    @torch.no_grad()
    def marginals(
        self, emissions: torch.Tensor, mask: torch.Tensor, sentence_starts: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Forward-backward: ``p(label at position | emissions)``, ``[batch, seq, num_labels]``
        in the emissions' positions; each masked position sums to 1 over the IOB labels, other
        labels and unmasked positions are 0."""
        scores, compact, _, positions, _ = self._compact(emissions, mask, None, sentence_starts)
        batch, width, states = scores.shape
        out = scores.new_zeros((batch, emissions.shape[1], self.num_labels))
        if width == 0:
            return out
        _, trans, end = self._scores()
        alphas, log_z = self._forward_alphas(scores, compact)
        beta = end.expand(batch, states)
        betas = [beta]
        for t in range(width - 2, -1, -1):
            candidate = torch.logsumexp(trans + (scores[:, t + 1] + beta)[:, None, :], dim=2)
            beta = torch.where(compact[:, t + 1, None], candidate, end)  # a chain's last position ends it
            betas.append(beta)
        betas = torch.stack(betas[::-1], 1)
        probs = torch.where(compact[..., None], torch.exp(alphas + betas - log_z[:, None, None]), 0.0)
        full = scores.new_zeros((batch, width, self.num_labels))
        full[..., self.state_ids] = probs
        # the slots past a chain's end point at unmasked positions (each once) and add zeros there
        return out.scatter_add_(1, positions[..., None].expand(-1, -1, self.num_labels), full)
