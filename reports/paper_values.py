"""Numbers published in the W-PCA paper (ICLR 2025), shown beside measured ones, labelled as the paper's.

Table 1: proxies on the FlexiBERT benchmark (500 architectures; "Time" is 1,000 evaluations
on the authors' hardware). Keys are this project's proxy names. Tables 2-5, 7 and 8: the
NLU experiments (models found by each proxy's search, distilled and evaluated on GLUE and
SQuAD); Table 6: the FlexiBERT search space. Every number was read from the paper's text
(``shared/paper/w-pca-iclr2025.txt``).
"""

from __future__ import annotations

from dataclasses import dataclass

#: proxy -> (time of 1,000 evaluations in seconds, gradient-free, Kendall τ, Spearman ρ)
TABLE1: dict[str, tuple[float, bool, float, float]] = {
    "synaptic-diversity": (110.0, False, 0.021, 0.175),
    "synaptic-saliency": (121.0, False, 0.157, 0.266),
    "activation-distance": (68.0, True, 0.081, 0.123),
    "jacobian-cosine": (103.0, False, 0.116, 0.149),
    "head-importance": (112.0, False, 0.050, 0.171),
    "head-confidence": (81.0, True, 0.306, 0.364),
    "v-pca": (61.0, True, 0.449, 0.667),
    "w-pca": (74.0, True, 0.513, 0.689),
}

#: Row order of Table 1 in the paper; proxies it does not list follow.
TABLE1_ORDER: tuple[str, ...] = tuple(TABLE1)


# ---------------------------------------------------------------------------------------
# Tables 2-8. Numbers as printed in the paper; ``None`` where the paper prints "-".
# MNLI-m/mm cells and SQuAD EM/F1 cells are pairs. #Params in millions, latency in ms
# (NVIDIA A100), search time in GPU days. Rows whose ``reproduce`` key is set are models
# this project can produce itself: a proxy's search on an NLU space, or the SPOS
# baseline (key ``"<space>/<method>"``), or the paper's own fine-tuned BERT-base, whose
# counterpart is the teacher of our distillation (key ``"teacher"``). Other rows are the
# paper's citations of other work and have no counterpart here.
# ---------------------------------------------------------------------------------------

Cell = float | tuple[float | None, float | None] | str | None


@dataclass(frozen=True)
class PaperTable:
    """One results table of the paper.

    Attributes:
        number: the table's number in the paper.
        caption: the paper's caption (shortened).
        columns: value column names, in the paper's order (the model name, and the type
            where the table has one, come first and are not listed here).
        rows: ``(model, type, values, reproduce)``; ``values`` aligned with ``columns``.
        split: the data split the paper's numbers come from (``test``, ``dev``).
    """

    number: int
    caption: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, str, tuple[Cell, ...], str | None], ...]
    split: str
    has_type: bool = True


_GLUE9 = ("QNLI", "MRPC", "SST-2", "CoLA", "STS-B", "MNLI-m/mm", "RTE", "QQP", "AVG")
_GLUE8 = ("QNLI", "MRPC", "SST-2", "CoLA", "STS-B", "MNLI-m", "RTE", "QQP", "AVG")

TABLE2 = PaperTable(
    2,
    "Performance comparison on the GLUE test set; latency on an NVIDIA A100 GPU. Zero-shot "
    "proxies searched the NLU space of Fig. 3.",
    ("#Params (M)", "Latency (ms)", *_GLUE9),
    (
        ("BERT-base (Devlin et al., 2019)", "manual", (108.9, 274, 90.5, 88.9, 93.5, 52.1, 85.8, (84.6, 83.4), 66.4, 71.2, 79.6), None),
        ("BERT-base (ours)", "manual", (108.9, 274, 91.4, 88.7, 93.0, 49.0, 87.5, (84.9, 83.9), 76.6, 71.3, 80.7), "teacher"),
        ("BERT-tiny (Turc et al., 2019)", "manual", (14.5, 44, 84.8, 83.2, 87.6, 19.5, 77.1, (75.4, 74.9), 62.6, 66.5, 70.2), None),
        ("BERT-small (Turc et al., 2019)", "manual", (28.8, 79, 86.4, 83.4, 89.7, 27.8, 77.0, (77.6, 77.0), 61.8, 68.1, 72.1), None),
        ("DistilBERT-6 (Sanh et al., 2020)", "manual", (67.0, 151, 88.9, 86.9, 92.5, 49.0, 81.3, (82.6, 81.3), 58.4, 70.1, 76.8), None),
        ("TinyBERT-4 (Jiao et al., 2020)", "manual", (14.5, 45, 87.7, 88.5, 91.2, 27.2, 83.0, (81.8, 80.7), 64.9, 69.6, 75.0), None),
        ("MobileBERT-tiny (Sun et al., 2020)", "manual", (15.1, 62, 89.5, 87.9, 91.7, 46.7, 80.1, (81.5, 81.6), 65.1, 68.9, 77.0), None),
        ("EfficientBERT+ (Dong et al., 2021)", "one-shot", (15.7, 62, 89.3, 89.9, 92.4, 38.1, 85.1, (83.0, 82.3), 69.4, 71.2, 77.9), None),
        ("EfficientBERT++ (Dong et al., 2021)", "one-shot", (16.0, 65, 90.6, 88.9, 92.3, 42.5, 83.6, (83.0, 82.5), 67.8, 71.2, 78.0), None),
        ("Synaptic Saliency (Abdelfattah et al., 2020)", "zero-shot", (15.7, 58, 89.4, 88.1, 91.0, 33.6, 83.1, (82.6, 81.1), 70.6, 70.3, 76.6), "nlu-small/synaptic-saliency"),
        ("Activation Distance (Mellor et al., 2021)", "zero-shot", (15.6, 60, 88.9, 87.6, 91.2, 30.7, 82.9, (81.1, 80.4), 70.4, 70.1, 75.9), "nlu-small/activation-distance"),
        ("Synaptic Diversity (Zhou et al., 2022)", "zero-shot", (15.6, 57, 88.3, 88.1, 91.5, 25.8, 84.7, (81.3, 80.2), 70.6, 70.3, 75.6), "nlu-small/synaptic-diversity"),
        ("Head Confidence (Serianni & Kalita, 2023)", "zero-shot", (15.6, 63, 89.5, 88.3, 92.4, 31.7, 85.7, (82.8, 81.9), 74.0, 70.9, 77.5), "nlu-small/head-confidence"),
        ("Softmax Confidence (Serianni & Kalita, 2023)", "zero-shot", (15.6, 61, 88.4, 87.5, 90.8, 32.5, 83.5, (81.2, 80.5), 70.3, 69.9, 76.1), "nlu-small/softmax-confidence"),
        ("W-PCA-Tiny", "zero-shot", (9.6, 38, 88.7, 87.6, 91.9, 27.4, 84.8, (81.1, 79.8), 71.1, 70.3, 75.9), "nlu-tiny/w-pca"),
        ("W-PCA-Small", "zero-shot", (15.6, 54, 90.3, 88.7, 91.5, 38.4, 86.4, (82.8, 82.2), 73.8, 70.8, 78.3), "nlu-small/w-pca"),
    ),
    "test",
)

TABLE3 = PaperTable(
    3,
    "GLUE dev set, compared with other NAS methods; Time is the GPU days of the search.",
    ("#Params (M)", "Time (GPU days)", *_GLUE8),
    (
        ("NAS-BERT-10 (Xu et al., 2021)", "", (10.0, 96, 86.3, 79.1, 88.6, 34.0, 84.8, 76.4, 66.6, 88.5, 75.5), None),
        ("NAS-BERT-30 (Xu et al., 2021)", "", (30.0, 96, 88.4, 84.6, 90.5, 48.7, 87.6, 81.0, 71.8, 90.2, 80.3), None),
        ("EfficientBERT-TINY (Dong et al., 2021)", "", (9.4, 58, 89.3, 90.1, 90.1, 39.1, 79.9, 81.7, 63.2, 86.7, 77.5), None),
        ("EfficientBERT (Dong et al., 2021)", "", (15.7, 58, 90.4, 91.5, 91.3, 50.2, 82.5, 83.1, 66.8, 87.3, 80.4), None),
        ("AutoBERT-Zero-small (Gao et al., 2022)", "", (13.0, "~1,000", None, None, None, None, None, None, None, None, 80.5), None),
        ("Synaptic Diversity (Zhou et al., 2022)", "", (15.6, 0.7, 88.9, 87.6, 91.4, 32.0, 84.1, 81.0, 73.4, 88.2, 78.3), "nlu-small/synaptic-diversity"),
        ("Head Confidence (Serianni & Kalita, 2023)", "", (15.6, 0.5, 90.1, 89.7, 92.4, 37.5, 84.1, 82.5, 75.9, 89.1, 80.2), "nlu-small/head-confidence"),
        ("Softmax Confidence (Serianni & Kalita, 2023)", "", (15.6, 0.5, 89.4, 88.3, 92.0, 32.6, 84.7, 81.6, 73.9, 88.9, 78.9), "nlu-small/softmax-confidence"),
        ("W-PCA-Tiny", "", (9.6, 0.4, 89.2, 89.2, 92.0, 33.2, 84.0, 80.5, 71.1, 88.0, 78.4), "nlu-tiny/w-pca"),
        ("W-PCA-Small", "", (15.6, 0.5, 90.8, 90.5, 92.8, 44.0, 85.3, 82.9, 76.1, 88.8, 81.4), "nlu-small/w-pca"),
    ),
    "dev",
    has_type=False,
)

TABLE4 = PaperTable(
    4,
    "Results on the SQuAD dev sets (EM/F1). *: the paper's own implementation.",
    ("#Params (M)", "SQuAD v1.1 EM/F1", "SQuAD v2.0 EM/F1"),
    (
        ("BERT-base", "", (108.9, (80.8, 88.5), (None, None)), None),
        ("BERT-base*", "", (108.9, (80.7, 88.2), (75.7, 78.7)), "teacher"),
        ("TinyBERT-4", "", (14.5, (72.7, 82.1), (68.2, 71.8)), None),
        ("MiniLM-6", "", (22.9, (None, None), (None, 72.7)), None),
        ("EfficientBERT++", "", (16.0, (78.3, 86.5), (73.0, 76.1)), None),
        ("W-PCA-Tiny", "", (9.6, (74.6, 83.5), (69.0, 72.1)), "nlu-tiny/w-pca"),
        ("W-PCA-Small", "", (15.6, (78.4, 86.7), (73.3, 76.8)), "nlu-small/w-pca"),
    ),
    "dev",
    has_type=False,
)

TABLE5 = PaperTable(
    5,
    "W-PCA and its factors (#Params, V-PCA) as the search's fitness, GLUE dev set.",
    ("#Params (M)", *_GLUE8),
    (
        ("#Params", "", (15.7, 89.3, 88.8, 90.7, 43.8, 83.6, 82.6, 76.1, 87.5, 80.3), "nlu-small/params"),
        ("V-PCA", "", (15.6, 89.9, 91.4, 92.7, 39.4, 84.9, 82.9, 76.0, 88.9, 80.8), "nlu-small/v-pca"),
        ("W-PCA", "", (15.6, 90.8, 90.5, 92.8, 44.0, 85.3, 82.9, 76.1, 88.8, 81.4), "nlu-small/w-pca"),
    ),
    "dev",
    has_type=False,
)

TABLE7 = PaperTable(
    7,
    "Larger models (hidden size and FFN widths doubled, parameter limit 67M), GLUE test set.",
    ("#Params (M)", *_GLUE9),
    (
        ("TinyBERT-6 (Jiao et al., 2020)", "", (67.0, 89.8, 89.0, 92.0, 38.8, 83.1, (83.8, 83.2), 65.8, 71.4, 77.4), None),
        ("EfficientBERT (Dong et al., 2021)", "", (70.1, 90.4, 89.0, 92.6, 46.2, 83.7, (84.1, 83.2), 67.7, 74.4, 78.7), None),
        ("W-PCA-Large", "", (66.9, 90.9, 88.7, 93.0, 40.0, 87.5, (84.6, 83.3), 75.6, 71.5, 79.5), "nlu-large/w-pca"),
    ),
    "test",
    has_type=False,
)

TABLE8 = PaperTable(
    8,
    "Zero-shot (W-PCA) and one-shot (SPOS) search in the same space, GLUE test set; Time is "
    "the GPU days of the search.",
    ("#Params (M)", "Time (GPU days)", *_GLUE9),
    (
        ("W-PCA-Tiny", "zero-shot", (9.6, 0.4, 88.7, 87.6, 91.9, 27.4, 84.8, (81.1, 79.8), 71.1, 70.3, 75.9), "nlu-tiny/w-pca"),
        ("W-PCA-Tiny", "one-shot", (9.7, 24, 89.2, 87.5, 92.3, 28.9, 83.7, (81.4, 80.5), 71.4, 70.5, 76.2), "nlu-tiny/spos"),
        ("W-PCA-Small", "zero-shot", (15.6, 0.5, 90.3, 88.7, 91.5, 38.4, 86.4, (82.8, 82.2), 73.8, 70.8, 78.3), "nlu-small/w-pca"),
        ("W-PCA-Small", "one-shot", (15.6, 28, 90.3, 88.9, 92.5, 36.1, 86.7, (83.7, 82.5), 74.4, 70.6, 78.4), "nlu-small/spos"),
    ),
    "test",
)

#: The results tables of the paper's NLU experiments, in order.
NLU_TABLES: tuple[PaperTable, ...] = (TABLE2, TABLE3, TABLE4, TABLE5, TABLE7, TABLE8)

#: Table 6: the FlexiBERT search space (hyperparameter -> the values the paper lists).
TABLE6: tuple[tuple[str, str], ...] = (
    ("Hidden dimension", "{128, 256}"),
    ("Number of encoder layers", "{2, 4}"),
    ("Type of attention operator", "{self-attention, linear transform, span-based dynamic convolution}"),
    ("Number of operation heads", "{2, 4}"),
    ("Feed-forward dimension", "{512, 1024}"),
    ("Number of feed-forward stacks", "{1, 3}"),
    ("Attention operation if self-attention", "{scaled dot-product, multiplicative}"),
    ("Attention operation if linear transform", "{discrete Fourier, discrete cosine}"),
    ("Attention operation if dynamic convolution", "convolution kernel size: {5, 9}"),
)
TABLE6_SIZE = 10_621_440
