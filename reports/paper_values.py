"""Numbers published in the W-PCA paper (ICLR 2025), shown beside measured ones, labelled as the paper's.

Table 1: proxies on the FlexiBERT benchmark (500 architectures; "Time" is 1,000 evaluations
on the authors' hardware). Keys are this project's proxy names.
"""

from __future__ import annotations

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
