"""Knowledge-distillation training and GLUE / SQuAD evaluation of searched NLU architectures.

Modules, in the order data flows through them:

``config``     training budgets per scale (``smoke``, ``cpu``, ``paper``)
``glue``       GLUE TSVs, task specs and official metrics
``squad``      SQuAD examples, the article split, span features, decoding, EM/F1
``tasks``      task availability and tokenised training / evaluation data
``batches``    seeded, resumable batches (raw text, sentence pairs, SQuAD windows)
``models``     student / teacher encoders with feature capture, task heads
``distill``    the KD loss of Appendix C (attention, hidden, embedding, prediction terms)
``teacher``    loading the teacher and fine-tuning it per task (cached)
``loop``       one resumable stage: AdamW, warm-up + linear decay, checkpoints, progress
``optim``      the AdamW every training builds (shared with :mod:`bench.oneshot`)
``device``     the ``--device`` resolver (shared with :mod:`bench.oneshot`)
``checkpoint`` crash-safe checkpoints (loaded with ``weights_only=True``) and final weights
``stages``     general distillation and task distillation of a student
``latency``    batch-1 latency (median of repeats)
``evaluate``   tidy evaluation rows for the report (``metrics.csv``, written by :mod:`bench.store.writer`)

``bench train`` and ``bench evaluate`` (:mod:`bench.cli.train`) drive them; ``docs/training.md``
documents every choice.
"""
