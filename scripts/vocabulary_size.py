"""What the vocabulary's size means on Flickr8k: words kept, dev words left out, and the cost of a training step.

For each ``--min-count`` given (default: the course's 5 and 1, which on Flickr8k is the paper's 10,000-word cap),
prints the words kept from the training captions (special tokens not counted), the share of the dev references'
words outside them, and the time of a hard-attention training step at that vocabulary size (``bench_train``, batch
64, the 9x9 grid of a 288-px input, bf16 autocast where the CPU has it), alternating the sizes ``--repeats`` times so
a change in the machine's speed shows in both. Usage:

    python scripts/vocabulary_size.py            # SAT_COURSE_FLICKR8K or --root names the Flickr8k folder
"""

from __future__ import annotations

import argparse
from dataclasses import replace

from sat_course.benchmark import Sizes, bench_train
from sat_course.datasets.errors import DatasetError
from sat_course.experiment import build_vocabulary, flickr8k_config, load_records
from sat_course.text import SPECIALS, tokenize


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-count", type=int, nargs="+", default=[5, 1])
    parser.add_argument("--root", help="Flickr8k folder (default: found as the command line finds it)")
    parser.add_argument("--repeats", type=int, default=2, help="timings of each size, alternating (default: %(default)s)")
    parser.add_argument("--steps", type=int, default=10, help="training steps per timing (default: %(default)s)")
    args = parser.parse_args()
    if args.repeats < 1 or args.steps < 1 or min(args.min_count) < 1:
        parser.error("--repeats, --steps and every --min-count must be at least 1")

    config = flickr8k_config(input_size=288, root=args.root)
    try:
        train, dev = load_records(config, "train"), load_records(config, "val")
    except DatasetError as error:
        parser.error(str(error))
    dev_words = [w for record in dev for caption in record.captions for w in tokenize(caption)]
    vocabularies = {m: build_vocabulary(replace(config, min_count=m), train) for m in args.min_count}

    timings: dict[int, list[float]] = {m: [] for m in args.min_count}
    for _ in range(args.repeats):
        for m, vocab in vocabularies.items():
            sizes = Sizes(vocab_size=len(vocab), locations=config.encoder.grid ** 2)
            timings[m].append(bench_train(sizes, attention="hard", steps=args.steps, cpu_amp=True).ms_per_step)

    print("| --min-count | words kept | dev reference words outside | hard training step, ms (each timing) |")
    print("|---|---|---|---|")
    for m, vocab in vocabularies.items():
        outside = sum(w not in vocab for w in dev_words) / len(dev_words)
        steps = ", ".join(f"{t:.0f}" for t in timings[m])
        print(f"| {m} | {len(vocab) - len(SPECIALS):,} | {100 * outside:.1f}% | {steps} |")


if __name__ == "__main__":
    main()
