"""hourglass.engine.distributed: sharding, torchrun variables, two gloo processes, torchrun end to end."""

from __future__ import annotations

import csv
import json
import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from hourglass.engine import TrainConfig, load_checkpoint, train
from hourglass.engine.distributed import (
    DistInfo,
    StopFlag,
    check_batch_size,
    env_info,
    loss_weights,
    resolve_device,
    shard,
)
from hourglass.engine.trainer import _epoch_order

REPO = Path(__file__).resolve().parents[1]
TOOL = REPO / "tools" / "train.py"


# --- pure pieces -----------------------------------------------------------------------------
def test_rank_slices_partition_the_single_process_batch():
    for n, bs in ((5, 2), (17, 4), (40, 8), (3, 6)):  # (3, 6): one short batch of 3
        config = TrainConfig(batch_size=bs, seed=7)
        for epoch in range(3):
            batches = _epoch_order(config, n, epoch)
            assert sorted(i for b in batches for i in b) == sorted(set(i for b in batches for i in b))
            for world in (1, 2, 3):
                for b in batches:
                    parts = [shard(b, rank, world) for rank in range(world)]
                    assert [i for p in parts for i in p] == b  # contiguous, in order: union == the batch
                    assert max(map(len, parts)) - min(map(len, parts)) <= 1
            # resuming after k batches: each rank's slices of the remaining batches are unchanged
            done = len(batches) // 2
            assert [shard(b, 1, 2) for b in _epoch_order(config, n, epoch)[done:]] == [
                shard(b, 1, 2) for b in batches[done:]
            ]
    assert shard([4, 9, 1, 7, 3], 0, 2) == [4, 9, 1] and shard([4, 9, 1, 7, 3], 1, 2) == [7, 3]
    assert shard([1], 1, 2) == []
    with pytest.raises(ValueError, match="rank 2"):
        shard([1, 2], 2, 2)


def test_loss_weights_make_the_global_mean():
    # rank losses 1.0 over 3 terms and 4.0 over 1 term: global mean 7 / 4; DDP averages over 2 ranks
    w0, w1 = loss_weights(3, 4, 2), loss_weights(1, 4, 2)
    assert (w0 * 1.0 + w1 * 4.0) / 2 == pytest.approx(7 / 4)
    assert loss_weights(0, 0, 2) == 0.0


def test_env_info():
    assert env_info({}) == DistInfo() and not DistInfo().distributed and DistInfo().is_main
    env = {"WORLD_SIZE": "4", "RANK": "3", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "2", "MASTER_ADDR": "h",
           "MASTER_PORT": "29500"}  # fmt: skip
    info = env_info(env)
    assert info == DistInfo(4, 3, 1, 2) and info.distributed and not info.is_main
    with pytest.raises(ValueError, match="RANK='x'"):
        env_info({**env, "RANK": "x"})
    with pytest.raises(ValueError, match="RANK=4, WORLD_SIZE=4"):
        env_info({**env, "RANK": "4"})
    with pytest.raises(ValueError, match="MASTER_ADDR is not set.*torchrun"):
        env_info({k: v for k, v in env.items() if k != "MASTER_ADDR"})
    assert env_info({"WORLD_SIZE": "1"}) == DistInfo()  # torchrun --nproc_per_node 1: a plain run


def test_resolve_device_and_batch_errors(monkeypatch):
    two = DistInfo(2, 1, 1, 2)
    assert resolve_device("cpu", two) == torch.device("cpu")
    with pytest.raises(ValueError, match="'tpu0'"):
        resolve_device("tpu0", DistInfo())
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="CUDA is not available.*--device cpu"):
        resolve_device("cuda", two)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(ValueError, match="2 processes on this node but only 1 GPU.*--nproc_per_node 1"):
        resolve_device("cuda", two)
    with pytest.raises(ValueError, match="'cuda:0' names one GPU.*--device cuda"):
        resolve_device("cuda:0", two)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert resolve_device("cuda", two) == torch.device("cuda", 1)
    check_batch_size(6, two, 10)
    with pytest.raises(ValueError, match="--batch-size 7 is the global batch.*2 processes.*use 6 or 8"):
        check_batch_size(7, two)
    with pytest.raises(ValueError, match="1 subjects, fewer than the 2 processes"):
        check_batch_size(2, two, 1)
    check_batch_size(7, DistInfo(), 1)  # anything goes for one process


def test_stop_flag_ignores_the_forwarded_interrupt():
    # raise_signal delivers to this thread at once (os.kill may land on a torch worker thread,
    # and the handler would then run a few bytecodes later, on a loaded machine outside the block)
    with StopFlag(patience=2) as stop:
        signal.raise_signal(signal.SIGINT)  # the terminal's Ctrl-C
        signal.raise_signal(signal.SIGINT)  # the one torchrun forwards
        assert stop.set
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)  # a third one stops at once
    with StopFlag() as stop:
        signal.raise_signal(signal.SIGINT)
        assert stop.set


# --- two gloo processes ----------------------------------------------------------------------
def _worker(rank: int, world: int, init_file: str, out_dir: str) -> None:
    import torch.distributed as dist

    from hourglass.engine import distributed as ddp

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        assert not ddp.is_main() if rank else ddp.is_main()
        # predictions of unequal size (3 + 2 rows, and a rank with none) come back in rank order
        rows = np.arange(5 * 4, dtype=np.float64).reshape(5, 2, 2)
        got = ddp.all_gather_arrays(np.asarray(ddp.shard(list(rows), rank, world)).reshape(-1, 2, 2))
        np.testing.assert_array_equal(got, rows)
        got = ddp.all_gather_arrays(rows[:2] if rank == 0 else np.zeros((0, 2, 2)))
        np.testing.assert_array_equal(got, rows[:2])
        assert ddp.all_reduce_mean([rank, 2.0]) == [0.5, 2.0]
        assert ddp.all_gather_objects({"rank": rank}) == [{"rank": 0}, {"rank": 1}]
        ddp.check_same("the step", 3, "no hint")
        bn = torch.nn.BatchNorm1d(2)
        bn.running_mean.fill_(rank + 1.0)
        ddp.broadcast_buffers(bn)  # validation on every rank uses rank 0's statistics
        assert bn.running_mean.tolist() == [1.0, 1.0]
        with pytest.raises(ValueError, match=r"disagree on the step \(rank 0: 0, rank 1: 1\); share --out"):
            ddp.check_same("the step", rank, "share --out")

        # a weighted-mean loss over an uneven split of a global batch of 5: one DDP step gives
        # the single-process gradient of the whole batch
        torch.manual_seed(0)
        model = torch.nn.Linear(3, 2)
        x, y, w = torch.randn(5, 3), torch.randn(5, 2), torch.tensor([1.0, 0.0, 2.0, 1.0, 3.0])

        def loss_of(m, idx):
            per = ((m(x[idx]) - y[idx]) ** 2).sum(-1)
            return (per * w[idx]).sum() / w[idx].sum(), w[idx].sum()

        ref = torch.nn.Linear(3, 2)
        ref.load_state_dict(model.state_dict())
        full_loss, _ = loss_of(ref, list(range(5)))
        full_loss.backward()
        net = ddp.wrap_model(model, torch.device("cpu"))
        mine = ddp.shard(list(range(5)), rank, world)
        loss, den = loss_of(net, mine)
        value, n, stopping, scaled = ddp.reduce_step(loss, den, len(mine), stop=rank == 1)
        assert value == pytest.approx(float(full_loss), rel=1e-6) and n == 5 and stopping
        scaled.backward()
        for p, q in zip(model.parameters(), ref.parameters()):
            torch.testing.assert_close(p.grad, q.grad, rtol=1e-5, atol=1e-6)
        # a NaN on one rank is a NaN on every rank
        bad = torch.tensor(math.nan if rank == 1 else 1.0)
        assert math.isnan(ddp.reduce_step(bad, 1.0, 1, False)[0])
        del net  # the DDP reducer goes before the group, and both ranks finish before teardown:
        dist.barrier()  # a rank leaving early made its peer abort ("terminate called ...") now and then
        Path(out_dir, f"ok{rank}").write_text("ok")
    finally:
        dist.destroy_process_group()


def test_two_gloo_processes(tmp_path):
    import torch.multiprocessing as mp

    mp.start_processes(
        _worker, args=(2, str(tmp_path / "init"), str(tmp_path)), nprocs=2, join=True, start_method="spawn"
    )
    assert (tmp_path / "ok0").is_file() and (tmp_path / "ok1").is_file()


# --- torchrun end to end ---------------------------------------------------------------------
def torchrun(*args: str, nproc: int = 2, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(nproc), str(TOOL)]
    return subprocess.run(
        [*cmd, "--threads", "1", "--no-progress", "--device", "cpu", *args],
        capture_output=True, text=True, timeout=timeout, env=env, cwd=REPO,
    )  # fmt: skip


def _data(root: Path) -> list[str]:
    """5 MPII people, global batch 2 (1 per process) -> 2 steps per epoch; validation on the same 5."""
    return [
        "--stacks", "1", "--channels", "16", "--input-size", "64", "--batch-size", "2", "--dataset", "mpii",
        "--data-root", str(root), "--train-split", "test_mpii", "--val-split", "test_mpii", "--epochs", "2",
        "--log-every", "1", "--seed", "1",
    ]  # fmt: skip


def _steps(run: Path) -> list[tuple[int, str]]:
    with open(run / "steps.csv", newline="") as f:
        return [(int(r["step"]), r["loss"]) for r in csv.DictReader(f)]


def _has_tensorboard() -> bool:
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(scope="module")
def mpii_root() -> Path:
    root = Path(os.environ.get("HOURGLASS_DATA", REPO.parent / "shared" / "data")) / "mpii"
    if not (root / "annot" / "test_mpii.json").is_file():
        pytest.skip(f"real data {root} is not present (set HOURGLASS_DATA to the shared data folder)")
    return root


@pytest.fixture(scope="module")
def ddp_run(mpii_root, tmp_path_factory) -> Path:
    """One 2-process gloo run of 4 steps (writing TensorBoard scalars when tensorboard is installed)."""
    out = tmp_path_factory.mktemp("ddp") / "run"
    r = torchrun(*_data(mpii_root), *(["--tensorboard"] if _has_tensorboard() else []), "--out", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("done: 4 steps") == 1, r.stdout  # rank 0 reports, the others stay quiet
    return out


def test_torchrun_two_processes_write_one_run(ddp_run):
    names = {p.name for p in ddp_run.iterdir()}
    expected = {"config.json", "last.pt", "best.pt", "log.csv", "steps.csv", "curves.png", "summary.json"}
    assert names == expected | ({"tensorboard"} if _has_tensorboard() else set())  # no temporary or per-rank files
    config = json.loads((ddp_run / "config.json").read_text())
    assert config["batch_size"] == 2 and config["device"] == "cpu"
    with open(ddp_run / "log.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [1, 2] and [int(r["step"]) for r in rows] == [2, 4]
    assert all(math.isfinite(float(r["metric_pct"])) for r in rows)
    steps = _steps(ddp_run)
    assert [s for s, _ in steps] == [1, 2, 3, 4] and all(math.isfinite(float(v)) for _, v in steps)
    ckpt = load_checkpoint(ddp_run / "last.pt")
    assert not any(k.startswith("module.") for k in ckpt["model"])
    assert ckpt["step"] == 4 and ckpt["world_size"] == 2 and len(ckpt["rng_ranks"]) == 2
    summary = json.loads((ddp_run / "summary.json").read_text())
    assert summary["world_size"] == 2 and summary["step"] == 4 and summary["final_loss"] == float(steps[-1][1])
    if _has_tensorboard():
        assert len(list((ddp_run / "tensorboard").glob("events.out.tfevents.*"))) == 1  # rank 0 only


def test_torchrun_resume_reproduces_the_losses(ddp_run, mpii_root, tmp_path):
    out = tmp_path / "run"
    part = torchrun(*_data(mpii_root), "--max-steps", "3", "--out", str(out))
    assert part.returncode == 0, part.stdout + part.stderr
    at = load_checkpoint(out / "last.pt")
    assert (at["epoch"], at["batch"], at["step"]) == (1, 1, 3)  # stopped in the middle of epoch 2
    resumed = torchrun(*_data(mpii_root), "--resume", "--out", str(out))
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert _steps(out) == _steps(ddp_run)  # every step's loss, bit for bit


def test_distributed_checkpoint_continues_in_one_process(ddp_run, mpii_root, tmp_path):
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        config = TrainConfig(
            stacks=1, channels=16, input_size=64, batch_size=2, dataset="mpii", data_root=str(mpii_root),
            train_split="test_mpii", val_split=None, epochs=3, log_every=1, seed=1, device="cpu",
            out=str(tmp_path / "single"),
        )  # fmt: skip
        result = train(config, resume=ddp_run / "last.pt", progress=False)
    finally:
        torch.set_num_threads(before)
    assert result.step == 6 and math.isfinite(result.final_loss)


def test_batch_not_divisible_fails_before_joining(monkeypatch, tmp_path):
    env = {"WORLD_SIZE": "2", "RANK": "0", "LOCAL_RANK": "0", "LOCAL_WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1",
           "MASTER_PORT": "1"}  # fmt: skip
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    config = TrainConfig(stacks=1, batch_size=3, device="cpu", data_root=str(tmp_path), out=str(tmp_path / "run"))
    with pytest.raises(ValueError, match="--batch-size 3 is the global batch over all 2 processes"):
        train(config, progress=False)  # raises before joining the (absent) process group
    assert not (tmp_path / "run").exists()


def test_torchrun_with_a_crop_cache(ddp_run, mpii_root, tmp_path):
    """Rank 0 builds the cache while rank 1 waits at a barrier (a mismatched barrier would hang
    until the timeout); the run then matches the uncached one's step count."""
    out, cache = tmp_path / "run", tmp_path / "cache"
    r = torchrun(*_data(mpii_root), "--cache-dir", str(cache), "--out", str(out), timeout=240)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("done: 4 steps") == 1, r.stdout
    assert len(list(cache.glob("*.json"))) == len(list(cache.glob("*.jpg"))) == 10  # 5 training + 5 validation crops
    assert [s for s, _ in _steps(out)] == [s for s, _ in _steps(ddp_run)]
