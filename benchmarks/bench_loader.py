"""Training-data throughput of a preset on a real dataset: can the loader feed the accelerator?

Builds the training set of ``--preset`` exactly as ``tools/train.py`` does (its crops, input
size, augmentation) and times, for each worker count of ``--workers``, a ``DataLoader`` like
the trainer's (batch ``--batch-size``, pinned memory when CUDA is
there): the seconds to the first batch (worker start-up, which the trainer pays once per run: its
workers persist across epochs) and the images per second over the next ``--batches`` batches.
Compare the images per second with ``benchmarks.bench_train_step``'s for the same model: the
smaller of the two bounds training.

    python -m benchmarks.bench_loader --preset lspet-hg2-gpu --data-root ../shared/data/lspet --workers 0 2
    python -m benchmarks.bench_loader --preset lspet-hg2-gpu --data-root ../shared/data/lspet --workers 4 8 14
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import torch


def main(argv: list[str] | None = None) -> int:
    from hourglass.engine.build import build_datasets, build_model_from_config, load_sets
    from hourglass.engine.presets import resolve_config

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", required=True, help="a tools/train.py preset")
    parser.add_argument("--data-root", required=True)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2], help="DataLoader worker counts to time")
    parser.add_argument("--batch-size", type=int, help="default: the preset's")
    parser.add_argument("--batches", type=int, default=20, help="timed batches after the first (default 20)")
    args = parser.parse_args(argv)
    if any(w < 0 for w in args.workers) or args.batches < 1:
        parser.error("--workers must be >= 0 and --batches >= 1")
    config = resolve_config(args.preset, data_root=args.data_root, batch_size=args.batch_size)
    train_set, _, _ = load_sets(config, log=False)
    model = build_model_from_config(config, train_set.spec.num_keypoints)
    train_ds, _ = build_datasets(config, train_set, None, model=model)
    need = (args.batches + 1) * config.batch_size
    if len(train_ds) < need:
        parser.error(f"{len(train_ds)} training subjects; --batches {args.batches} needs {need}")
    cuda = torch.cuda.is_available()
    print(
        f"{args.preset}: {len(train_ds)} subjects, {config.input_size} px, batch {config.batch_size}; "
        f"{os.cpu_count()} CPUs, {'CUDA (pinned memory)' if cuda else 'no CUDA'}"
    )
    print(f"{'workers':>7}  {'first batch':>11}  {'images/s':>9}  {'ms/image/worker':>15}")
    for workers in args.workers:
        loader = torch.utils.data.DataLoader(
            train_ds, batch_size=config.batch_size, shuffle=False, num_workers=workers, pin_memory=cuda
        )
        t0 = time.perf_counter()
        it = iter(loader)
        next(it)
        first = time.perf_counter() - t0
        t1 = time.perf_counter()
        for _ in range(args.batches):
            next(it)
        seconds = time.perf_counter() - t1
        del it
        rate = args.batches * config.batch_size / seconds
        per = 1000 * max(workers, 1) / rate
        print(f"{workers:>7}  {first:>9.2f} s  {rate:>9.0f}  {per:>15.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
