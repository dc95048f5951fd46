"""``mtlner tag``: tag raw text with a saved model folder. :mod:`~mtlner.tag.text` reads and
splits the input, :mod:`~mtlner.tag.pipeline` checks and loads the model and tags,
:mod:`~mtlner.tag.writers` checks the output location and writes JSON lines, CoNLL or BioC."""
