"""``mtlner tag``: tag raw text with a saved model folder. :mod:`~mtlner.tag.text` reads and
splits the input, :mod:`~mtlner.tag.pipeline` loads the model (training's loader, which checks
the folder: :mod:`mtlner.training.model`) and tags,
:mod:`~mtlner.tag.writers` checks the output location and writes JSON lines, CoNLL or BioC."""
