"""Multitask biomedical named entity recognition (STL/MTL BERT taggers, data and entity ablation).

The package is grouped by stage; a stage imports only the stages above it in this list
(tests/unit/test_import_layers.py checks it)::

    errors, atomic   one-message UserErrors; atomic writes of every output
    data/            labels (the label scheme, IOB2 spans), corpus (CoNLL in and out, stats),
                     windows (subword windows), prepare (the prepare and windows jobs), leaks
                     (shared text between splits), mirror (a local HUNER mirror), huner/
                     (download, convert, split HUNER corpora)
    training/        config (TrainConfig), model (a saved model folder's checks and loader),
                     inference (batches, devices, prediction), metrics, loop (the training loop), job (``mtlner train``: one job, its
                     metrics.json, task specs), cross_test (cross-corpus scoring inside a
                     job), crf
    report/          io (results in, CSV + Markdown out), tables, plots, stats, bootstrap,
                     analysis, crosscorpus, leak_audit, cost, storage, reference, results
    run/             forkserver (warm processes), gpu_slots, sizing (job resources), startup
                     (clocks), configpaths (config paths); peers of tag/
    tag/             ``mtlner tag``: text (input), pipeline (tagging), writers (output)
    cli              the ``mtlner`` command (``python -m mtlner.cli``, what every rule runs)
"""

__version__ = "0.1.0"
