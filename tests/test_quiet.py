"""TensorFlow's start-up noise is held back; real errors and the user's choice are not."""

from __future__ import annotations

import os

from solution.training.quiet import is_noise, native_stderr_filtered

NOISE = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n",
    "I0000 00:00:1796151898.010540   10627 port.cc:153] oneDNN custom operations are on.\n",
    "E0000 00:00:1796151909.582419   10627 cuda_platform.cc:52] failed call to cuInit: "
    "INTERNAL: CUDA error\n",
    "To enable the following instructions: AVX2 AVX512F, in other operations, rebuild\n",
]
REAL = "E0000 00:00:1.0 1 op_kernel.cc:1] OOM when allocating tensor with shape[128,48,14,14]\n"


def test_noise_is_held_back_and_real_errors_come_through(capfd, monkeypatch):
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    with native_stderr_filtered():
        os.write(2, "".join([*NOISE, REAL, "F0000 fatal: check failed\n"]).encode())
    err = capfd.readouterr().err
    assert err == REAL + "F0000 fatal: check failed\n"


def test_a_user_who_sets_the_log_level_sees_everything(capfd, monkeypatch):
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")
    with native_stderr_filtered():
        os.write(2, "".join(NOISE).encode())
    assert capfd.readouterr().err == "".join(NOISE)


def test_only_known_noise_matches():
    assert all(is_noise(line) for line in NOISE)
    assert not is_noise(REAL) and not is_noise("Traceback (most recent call last):\n")
