"""Tables and figures from stored results.

Reports read run directories and the files statistics wrote into them; they import no
torch, no space and no proxy, and never recompute a proxy value.
"""
