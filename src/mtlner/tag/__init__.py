"""``mtlner tag``: tag raw text or CoNLL files with a trained model folder."""
