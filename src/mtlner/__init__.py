"""Multitask biomedical named entity recognition (STL/MTL BERT taggers, data and entity ablation)."""

__version__ = "0.1.0"
