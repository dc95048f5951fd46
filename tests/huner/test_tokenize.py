"""OpenNLP-like tokenisation and sentence splitting (see mtlner.data.huner.tokenize docstring)."""

import pytest

from mtlner.data.huner.tokenize import split_sentences, tokenize


def words(text):
    return [text[a:b] for a, b in tokenize(text)]


def sentences(text):
    return [text[a:b] for a, b in split_sentences(text)]


@pytest.mark.parametrize(
    "text, expected",
    [
        # brackets split off the edges; the hyphenated compound stays whole as in the Treebank
        ("IL-2-induced (p53) expression", ["IL-2-induced", "(", "p53", ")", "expression"]),
        # only edge brackets split: "]" inside a word stays (OpenNLP may split it: a known difference)
        ("the [Ca2+]i rise", ["the", "[", "Ca2+]i", "rise"]),
        # a closing bracket whose partner is inside the word stays: chemical names survive
        ("Ca(2+) and 2-(4-chlorophenyl)ethanol", ["Ca(2+)", "and", "2-(4-chlorophenyl)ethanol"]),
        ("cells, mice; rats: dogs?", ["cells", ",", "mice", ";", "rats", ":", "dogs", "?"]),
        ("1,2-dichloroethane at 3.5 mM", ["1,2-dichloroethane", "at", "3.5", "mM"]),
        ("5.8% of cells", ["5.8", "%", "of", "cells"]),
        ("the cell's DNA doesn't", ["the", "cell", "'s", "DNA", "does", "n't"]),
        ('"quoted"', ['"', "quoted", '"']),
        # a semicolon inside a word stays, like a comma (Table 1's VARIOME counts need this)
        ("Mlh1-/-;Apc1638N mice; rats", ["Mlh1-/-;Apc1638N", "mice", ";", "rats"]),
        # final period split; abbreviations keep theirs in mid-sentence
        (
            "seen e.g. in Fig. 2 by Smith et al. today.",
            ["seen", "e.g.", "in", "Fig.", "2", "by", "Smith", "et", "al.", "today", "."],
        ),
        ("Raf/MEK/ERK and Ca2+/calmodulin", ["Raf/MEK/ERK", "and", "Ca2+/calmodulin"]),
        ("and so on ... really", ["and", "so", "on", "...", "really"]),
    ],
)
def test_tokens(text, expected):
    assert words(text) == expected


def test_token_offsets_point_into_the_text():
    text = "  Naïve  T-cells (CD4+)."
    spans = tokenize(text)
    assert [text[a:b] for a, b in spans] == ["Naïve", "T-cells", "(", "CD4+", ")", "."]
    assert spans[0] == (2, 7)


def test_tokenize_a_range_only():
    text = "First one. Second one."
    assert [text[a:b] for a, b in tokenize(text, 11, len(text))] == ["Second", "one", "."]


def test_sentence_boundaries():
    assert sentences("Cells grew. Mice died! Why? (Not known.) 3 rats lived.") == [
        "Cells grew.",
        "Mice died!",
        "Why?",
        "(Not known.)",
        "3 rats lived.",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "As shown in Fig. 2 the cells grew.",
        "Smith et al. (2001) showed it.",
        "Some drugs, e.g. Aspirin, work.",
        "Strains of E. coli and S. cerevisiae grew.",
        "The ratio was 3.5 vs. 2.1 today.",
    ],
)
def test_abbreviations_do_not_end_sentences(text):
    assert sentences(text) == [text]


def test_newlines_are_hard_boundaries_crlf_too():
    assert sentences("Title without period\r\nAbstract starts here. It ends.\r\n\r\n") == [
        "Title without period",
        "Abstract starts here.",
        "It ends.",
    ]


def test_lowercase_after_period_does_not_split_known_difference_from_opennlp():
    # OpenNLP's model may split before a sentence-initial gene name such as "p53"; we do not.
    assert sentences("Cells were lysed. p53 was measured.") == ["Cells were lysed. p53 was measured."]


def test_pretokenised_lone_period_ends_sentence():
    assert sentences("Tamoxifen inhibits growth . The dose was low .") == [
        "Tamoxifen inhibits growth .",
        "The dose was low .",
    ]


def test_split_at_cuts_tokens_only_strictly_inside():
    from mtlner.data.huner.tokenize import split_at

    tokens = tokenize("c-Fos/c-Jun binds")
    assert split_at(tokens, [0, 5, 6, 11]) == [(0, 5), (5, 6), (6, 11), (12, 17)]
    assert split_at(tokens, []) == tokens
    assert split_at(tokens, [11, 12]) == tokens  # cuts on token edges change nothing
