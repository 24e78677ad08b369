"""Where does an hourglass grown to a larger input start? A measurement before fine-tuning.

``--init-from`` grows a stacked hourglass trained at one input size into one for an input larger
by a power of two (:func:`hourglass.models.grow_depth`: each trained hourglass becomes the inside
of a deeper one whose new outer levels start as the identity). The grown network is not the
trained one's function, since its stem sees a finer image, so its first score says how much a
fine-tuning run has to win back. This builds the grown model exactly as ``tools/train.py
--init-from MODEL --input-size SIZE --sigma SIGMA`` does (same seed), predicts the model's
validation subjects as ``tools/eval.py`` does with both the trained and the grown network, and
prints both headlines (the new levels' zeroed convolutions make the start independent of the
seed):

    python -m benchmarks.grown_start lspet-hg4 --input-size 256 --sigma 2 --data-root ../shared/data/lspet
"""

from __future__ import annotations

import argparse
import sys

import torch


def main(argv: list[str] | None = None) -> int:
    from hourglass.engine.build import build_model_from_config, load_initial_weights
    from hourglass.evaluation import evaluate_model, evaluation_set
    from hourglass.weights import LoadedModel, load_model

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a stacked hourglass: shipped name, weights file, checkpoint or run folder")
    parser.add_argument("--input-size", type=int, required=True, help="the larger input side in pixels")
    parser.add_argument("--sigma", type=float, help="heatmap sigma of the grown model (default: the model's)")
    parser.add_argument("--data-root", help="dataset folder (default: the one the model was trained on)")
    parser.add_argument("--max-samples", type=int, help="evaluate only the first N subjects")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    loaded = load_model(args.model)
    if loaded.output_kind != "heatmap":
        parser.error(f"{args.model} is a {loaded.output_kind} model; only a stacked hourglass grows")
    config = loaded.config.replace(
        input_size=args.input_size,
        sigma=loaded.config.sigma if args.sigma is None else args.sigma,
        init_from=str(loaded.path),
    )
    torch.manual_seed(config.seed)  # as the trainer (the zeroed convolutions make the start seed-free)
    model = build_model_from_config(config, loaded.spec.num_keypoints)
    try:
        load_initial_weights(config, model, loaded.spec)
    except ValueError as e:
        parser.error(str(e))
    grown = LoadedModel(model.eval(), loaded.spec, config, "heatmap", loaded.path)
    people = evaluation_set(loaded.config, data_root=args.data_root, max_samples=args.max_samples)
    for name, which in (("trained", loaded), ("grown", grown)):
        w, h = which.input_size
        report = evaluate_model(which, people).report
        print(f"{name}: {w}x{h} px, depth {which.model.depth}: {report.metric} = {100 * report.value:.2f}% "
              f"on {len(people)} subjects")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
