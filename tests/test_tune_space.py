"""Tuning without training: the search space, durations, best.json checks and one-line errors."""

from __future__ import annotations

import json
import warnings

import optuna
import pytest
from click.testing import CliRunner
from optuna.trial import FixedTrial

from solution.cli import main
from solution.config import Config
from solution.profiles import PROFILES, get_profile
from solution.submit import resolve_config
from solution.tuning.search_space import (
    SEARCHED,
    config_from_params,
    default_params,
    searched_fields,
    suggest_config,
)
from solution.tuning.studies import StudySpec, open_storage
from solution.tuning.tune import base_config, make_sampler, parse_duration, study_eta


@pytest.mark.parametrize("name", list(PROFILES))
def test_profile_default_is_a_point_of_the_space(name):
    """Trial 0 (the enqueued defaults) must train exactly the profile's configuration."""
    profile = get_profile(name)
    base = base_config(profile)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # FixedTrial only warns when a value is out of range
        assert suggest_config(FixedTrial(default_params(base)), profile, base) == base


def test_best_params_map_back_to_the_config():
    profile = get_profile("quick")
    base = base_config(profile)
    params = {"width": 24, "convs_per_stage": 3, "dropout": 0.2, "learning_rate": 2e-3,
              "lr_decay": 0.7, "batch_size": 2 * base.batch_size, "label_smoothing": 0.1,
              "rotation": 5.0,
              "zoom": 0.05, "shift": 0.15, "epochs": 6}
    assert set(params) == set(SEARCHED)
    cfg = suggest_config(FixedTrial(params), profile, base)
    assert cfg == config_from_params(params, base) == Config.from_dict(cfg.to_dict())
    assert cfg.width == 24 and cfg.epochs == 6 and cfg.batch_size == 2 * base.batch_size
    # what the space does not search stays the profile's
    assert (cfg.seeds_per_fold, cfg.tta, cfg.stages, cfg.head) == (
        base.seeds_per_fold, base.tta, base.stages, base.head)
    with pytest.raises(ValueError, match="not in the search space"):
        config_from_params({**params, "tta": True}, base)


def test_tuning_may_choose_the_architecture_and_starts_from_the_cnn():
    profile = get_profile("quick")
    base = base_config(profile)
    archs = ("m5", "cnn", "lenet5")
    assert archs == ("m5", "cnn", "lenet5")
    params = default_params(base, archs)
    assert params["arch"] == "cnn"
    assert suggest_config(FixedTrial(params), profile, base, archs) == base
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    chosen = set()
    for _ in range(20):
        trial = study.ask()
        cfg = suggest_config(trial, profile, base, archs)
        assert cfg == config_from_params(trial.params, base)  # submit rebuilds the same config
        assert set(trial.params) == {"arch", *searched_fields(cfg.arch)}
        chosen.add(cfg.arch)
        study.tell(trial, 0.5)
    assert chosen == set(archs)
    m7 = default_params(base, ("m7",))
    assert "arch" not in m7 and "width" not in m7
    assert suggest_config(FixedTrial(m7), profile, base, ("m7",)) == base.replace(arch="m7")


def _trial_params(arch: str, archs: tuple[str, ...], seed: int = 0) -> set[str]:
    """The parameters a sampled trial of `arch` carries, in a study choosing among `archs`."""
    profile = get_profile("quick")
    base = base_config(profile)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    study.enqueue_trial({"arch": arch})  # the rest is sampled
    trial = study.ask()
    assert suggest_config(trial, profile, base, archs).arch == arch
    return set(trial.params)


def test_a_trial_suggests_only_the_fields_its_network_reads():
    archs = ("cnn", "m5", "lenet5", "mlp512")
    training = {"learning_rate", "lr_decay", "batch_size", "label_smoothing", "rotation", "zoom",
                "shift", "epochs"}
    assert _trial_params("cnn", archs) == {"arch", "width", "convs_per_stage", "dropout",
                                           *training}
    assert _trial_params("m5", archs) == {"arch", *training}  # no width, convs, dropout
    assert _trial_params("lenet5", archs) == {"arch", *training}
    assert _trial_params("mlp512", archs) == {"arch", "dropout", *training}
    assert searched_fields("cnn") == SEARCHED  # the CNN reads every searched field
    assert "lr_decay" not in searched_fields("cnn", "cosine")  # only the exponential reads it
    assert searched_fields("m5") == tuple(n for n in SEARCHED if n in training)


def test_two_m5_trials_with_the_same_network_share_a_fingerprint():
    """What an m5 trial does not suggest stays the base's, and the CNN's widths never split
    identical m5 networks into different run folders."""
    profile = get_profile("quick")
    base = base_config(profile)
    params = {"arch": "m5", "learning_rate": 2e-3, "lr_decay": 0.7, "batch_size": base.batch_size,
              "label_smoothing": 0.1, "rotation": 5.0, "zoom": 0.05, "shift": 0.15, "epochs": 4}
    archs = ("cnn", "m5")
    m5 = suggest_config(FixedTrial(params), profile, base, archs)
    assert (m5.width, m5.convs_per_stage, m5.dropout) == (base.width, base.convs_per_stage,
                                                          base.dropout)
    # a study from before this space (or a hand-written config) may carry a width: same run
    assert config_from_params({**params, "width": 2 * base.width}, base).fingerprint() == \
        m5.fingerprint()
    cnn = suggest_config(FixedTrial({**params, "arch": "cnn", "width": base.width,
                                     "convs_per_stage": 2, "dropout": 0.2}), profile, base, archs)
    assert cnn.replace(width=2 * base.width).fingerprint() != cnn.fingerprint()


@pytest.mark.parametrize("archs", [("cnn",), ("m5",), ("cnn", "m5", "mlp1024"),
                                   ("lenet5", "m7")])
def test_default_params_are_exactly_what_trial_0_suggests(archs):
    """FixedTrial and an enqueued trial 0 (Optuna's fixed params) both use every default
    parameter and suggest no other one; the sampler is the one `tune` uses."""
    profile = get_profile("quick")
    base = base_config(profile)
    params = default_params(base, archs)
    fixed = FixedTrial(params)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # FixedTrial only warns when a value is out of range
        expected = suggest_config(fixed, profile, base, archs)
    assert fixed.params == params
    assert expected == base.replace(arch=base.arch if base.arch in archs else archs[0])
    study = optuna.create_study(direction="maximize", sampler=make_sampler(0))
    study.enqueue_trial(params)
    trial = study.ask()
    assert suggest_config(trial, profile, base, archs) == expected
    assert trial.params == params
    study.tell(trial, 0.5)
    for value in (0.4, 0.6, 0.3, 0.7, 0.2, 0.8, 0.1):  # past the start-up trials: TPE, grouped
        trial = study.ask()
        cfg = suggest_config(trial, profile, base, archs)
        assert set(trial.params) == {*(("arch",) if len(archs) > 1 else ()),
                                     *searched_fields(cfg.arch)}
        study.tell(trial, value)


def test_sampled_configs_stay_inside_the_budget():
    """Real TPE sampling: every config builds, epochs within the profile's tune_epochs."""
    profile = get_profile("smoke")
    base = base_config(profile)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    for _ in range(30):
        trial = study.ask()
        cfg = suggest_config(trial, profile, base)
        assert profile.tune_epochs[0] <= cfg.epochs <= profile.tune_epochs[1]
        assert base.width // 2 <= cfg.width <= base.width * 3 // 2
        study.tell(trial, 0.5)


@pytest.mark.parametrize("text, seconds", [("6h", 21600), ("30m", 1800), ("1h30m", 5400),
                                           ("90s", 90), ("2d", 172800), ("45", 45)])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "5x", "0", "0m", "-3"])
def test_bad_duration_is_a_clear_error(text):
    with pytest.raises(ValueError, match="--timeout"):
        parse_duration(text)


def _tune(tmp_path, *args):
    base = ["tune", "--data", str(tmp_path / "nowhere.zip"), "--studies-dir",
            str(tmp_path / "studies"), "--runs-dir", str(tmp_path / "runs")]
    return CliRunner().invoke(main, [*base, *args], catch_exceptions=False)


@pytest.mark.parametrize("args, message", [
    (["--profile", "huge"], "error: unknown profile 'huge'; choose one of smoke, "),
    (["--timeout", "soon"], "error: --timeout 'soon': expected a duration like 6h"),
    (["--storage", "postgresql://user@/db:x:y"], "error: --storage "),
    (["--storage", "redis://localhost/0"], "unsupported database 'redis'"),
    (["--storage", "/no/such/folder/journal.log"],
     "error: --storage /no/such/folder/journal.log: folder /no/such/folder does not exist"),
    (["--study", "../x"], "error: --study '../x': use letters, digits"),
    (["--workers", "0"], "error: Invalid value for '--workers': 0 is not in the range x>=1."),
    (["--trials", "0"], "error: Invalid value for '--trials': 0 is not in the range x>=1."),
    (["--archs", "cnn,resnet"], "error: Invalid value for '--archs': unknown name 'resnet'"),
    (["--archs", "cnn,cnn"], "error: Invalid value for '--archs': 'cnn,cnn' names something"),
])
def test_bad_arguments_are_one_line_errors(tmp_path, args, message):
    result = _tune(tmp_path, "--profile", "smoke", *args)
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert message in result.output


def test_unreachable_database_is_one_line_error(tmp_path):
    pytest.importorskip("psycopg2")
    # port 9 (discard) on localhost: nothing listens, the connection is refused at once
    result = _tune(tmp_path, "--profile", "smoke", "--storage",
                   "postgresql://nobody:secret@127.0.0.1:9/optuna")
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "cannot connect" in lines[0], result.output
    assert "secret" not in result.output  # passwords never printed


def test_missing_data_is_one_line_error_and_no_study_files(tmp_path):
    result = _tune(tmp_path, "--profile", "smoke")
    assert result.exit_code == 2
    assert result.output.startswith("error: ") and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "studies" / "smoke" / "best.json").exists()


def test_study_command_without_a_study(tmp_path):
    result = CliRunner().invoke(main, ["study", "--profile", "smoke", "--studies-dir",
                                       str(tmp_path)], catch_exceptions=False)
    assert result.exit_code == 2
    assert result.output.strip() == (f"error: no study at {tmp_path}/smoke/journal.log; run "
                                     "`make tune` (solution tune) first")


def test_dashboard_needs_its_extra_or_serves(tmp_path):
    try:
        import optuna_dashboard  # noqa: F401
    except ImportError:
        result = CliRunner().invoke(main, ["dashboard", "--studies-dir", str(tmp_path)])
        assert result.exit_code == 2
        assert result.output.strip().startswith("error: optuna-dashboard is not installed: "
                                                "pip install -e '.[dashboard]'")
    else:
        result = CliRunner().invoke(main, ["dashboard", "--profile", "smoke", "--studies-dir",
                                           str(tmp_path)])
        assert result.exit_code == 2 and "no study at" in result.output


def _best_json(tmp_path, profile_name: str, cfg: Config, tuned_for: str | None = None):
    folder = tmp_path / profile_name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "best.json").write_text(json.dumps({
        "profile": tuned_for or profile_name, "trial": 4, "cv_accuracy": 0.5, "folds": [0, 1],
        "config": cfg.to_dict()}))


def test_submit_uses_tuned_config_only_within_the_profile_budget(tmp_path):
    profile = get_profile("smoke")
    base = base_config(profile)
    tuned = base.replace(width=6, epochs=1, dropout=0.2)
    _best_json(tmp_path, "smoke", tuned)
    resolved = resolve_config(profile, studies_dir=tmp_path)
    assert resolved.config == tuned
    assert "trial 4, CV 0.50000 on 2 of 5 folds" in resolved.note

    _best_json(tmp_path, "smoke", tuned, tuned_for="quick")
    with pytest.raises(ValueError, match="tuned with profile 'quick', not 'smoke'"):
        resolve_config(profile, studies_dir=tmp_path)

    _best_json(tmp_path, "smoke", tuned.replace(arch="m5"))  # a study over several archs
    assert resolve_config(profile, studies_dir=tmp_path).config == tuned.replace(arch="m5")

    _best_json(tmp_path, "smoke", tuned.replace(seeds_per_fold=3))
    with pytest.raises(ValueError, match=r"beyond the tuned fields \(seeds_per_fold\)"):
        resolve_config(profile, studies_dir=tmp_path)

    low, high = profile.tune_epochs
    _best_json(tmp_path, "smoke", tuned.replace(epochs=9))
    with pytest.raises(ValueError, match=rf"epochs=9 outside {low}\.\.{high}"):
        resolve_config(profile, studies_dir=tmp_path)


def test_journal_storage_is_created_in_the_study_folder(tmp_path):
    spec = StudySpec("demo", tmp_path)
    storage = open_storage(spec)
    optuna.create_study(study_name="demo", storage=storage)
    assert (tmp_path / "demo" / "journal.log").stat().st_size > 0
    assert spec.describe() == f"journal file {tmp_path}/demo/journal.log"
    assert StudySpec("x", storage="postgresql://u:pw@h/db").describe() == \
        "postgresql://u:***@h/db"


def test_a_study_keeps_its_architectures(tmp_path, small_zip):
    """The default trial carries `arch`; reopening the study with other --archs is refused."""
    from solution.data.competition import load_competition
    from solution.tuning.studies import StudyError
    from solution.tuning.tune import TuneRequest, prepare_study

    comp = load_competition(small_zip)
    spec = StudySpec("mixed", tmp_path)
    study = prepare_study(TuneRequest(spec, "smoke", archs=("cnn", "lenet5")), comp)
    (waiting,) = study.get_trials(deepcopy=False)
    assert waiting.params == {} and study.user_attrs["archs"] == ["cnn", "lenet5"]
    assert json.loads(json.dumps(waiting.system_attrs["fixed_params"]))["arch"] == "cnn"
    with pytest.raises(StudyError, match="made for architectures \\['cnn', 'lenet5'\\], not "
                                         "\\['cnn'\\]"):
        prepare_study(TuneRequest(spec, "smoke"), comp)


def _finished_trial(seconds: float | None, state=optuna.trial.TrialState.COMPLETE):
    attrs = {} if seconds is None else {"seconds": seconds}
    return optuna.trial.create_trial(state=state, value=0.9 if state.name == "COMPLETE" else None,
                                     user_attrs=attrs)


def test_the_study_eta_counts_the_trials_left_at_the_mean_trial_time_per_worker():
    done = [_finished_trial(100.0), _finished_trial(20.0, optuna.trial.TrialState.PRUNED),
            _finished_trial(None)]  # a trial without its seconds (an older study) is not timed
    # 7 trials left at 60 s each: one worker takes 7 rounds, two workers 4
    assert study_eta(done, 10, 1) == ("3 of 10 trial(s) finished; about 0:07:00 to go at this "
                                      "study's 60 s per trial so far")
    assert "about 0:04:00 to go" in study_eta(done, 10, 2)
    assert "about 0:01:00 to go" in study_eta(done, 4, 8)  # one trial left: one worker's round
    assert study_eta(done, 3, 1) == "3 of 3 trial(s) finished"
    assert study_eta([_finished_trial(None)], 5, 1) == "1 of 5 trial(s) finished"
