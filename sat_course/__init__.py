"""Show, Attend and Tell (Xu et al., 2015): the code behind the course notebooks.

Modules, each with one job:

- ``records``     the one record type every dataset yields
- ``datasets``    Flickr8k (official layout), Karpathy splits, synthetic shape scenes, downloads
- ``text``        tokenisation and vocabulary
- ``encoders``    CNNs that return annotation vectors (batch, L, D)
- ``features``    on-disk, memory-mapped feature caches
- ``model``       the attention LSTM decoder (soft and hard attention)
- ``losses``      doubly stochastic regularisation and the REINFORCE objective of hard attention
- ``decoding``    batched greedy and beam search
- ``metrics``     BLEU (nltk) and the coco-caption scorers
- ``training``    the training loop, checkpoints, distributed data parallel
- ``viz``         attention figures and the ipywidgets explorer
- ``cli``         ``python -m sat_course``
"""

__version__ = "0.1.0"
