# digit-recognizer: every target creates .venv and installs what it needs on first use.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DATA ?=
PROFILE ?= default
RUN ?=
THREADS ?=
PRECISION ?=

DATA_ARG = $(if $(DATA),--data "$(DATA)",)
RUN_ARG = $(if $(RUN),--run "$(RUN)",)
THREADS_ARG = $(if $(THREADS),--threads $(THREADS),)
# auto (the default): bfloat16 where the CPU reports AMX or AVX512-BF16; float32 | bfloat16 to force
PRECISION_ARG = $(if $(PRECISION),--precision $(PRECISION),)

.PHONY: help venv test test-fast lint submit report clean-venv demo

help:
	@echo "make demo      offline demo on scikit-learn's digits: tune -> submit -> export -> edge"
	@echo "make test      the test suite (creates .venv on first use)"
	@echo "make submit    DATA=path/to/digit-recognizer.zip [PROFILE=default|smoke|quick|full] [MODELS=default,m5,m7]"
	@echo "               [PRECISION=auto|float32|bfloat16] (auto: bfloat16 where the CPU has AMX/AVX512-BF16)"
	@echo "make report    [RUN=runs/<id>]"
	@echo "make bench     DATA=... training throughput, edge speed, cold start, install sizes"
	@echo "make baselines [PROFILE=quick|default] [MODELS=knn,cnn,m5] [OVERSAMPLE=none,smote]: comparison table"
	@echo "make options   [PROFILE=quick] [ONLY=...] [FOLDS=1] [ENSEMBLES=cnn*2,cnn+m5]: training options"
	@echo "               and ensembles against the profile's previous configuration"
	@echo "make tune      [PROFILE=...] [TRIALS=20] [TIMEOUT=6h] [WORKERS=2] [ARCHS=cnn,m5] [STORAGE=...]"
	@echo "make study     best trial, trial table, plots in optuna_studies/<profile>/"
	@echo "make dashboard optuna-dashboard on the study (installs the dashboard extra)"
	@echo "make export    [RUN=runs/<id>] [DATA=...] [OUT=edge/digit_edge/models] [MEMBERS_PER_FOLD=1|2|all] [FINETUNE_ON=member|labels] [NO_SLOWER_THAN=<models folder>]"
	@echo "make requantize [DATA=...] [OUT=edge/digit_edge/models]: the package's int8 graph made"
	@echo "               again from its fp32 graph with today's quantizer, checked out of fold"
	@echo "make bench-edge [RUN=runs/<id>] [OUT=models folder] [AGAINST=older models folder]:"
	@echo "               1-thread Keras/ORT/LiteRT table (+ int8 speed-up over AGAINST)"
	@echo "make bench-widths: int8 time of one member at each pruning rung's widths (1 thread)"
	@echo "make edge-bench [EDGE_SOURCE=sklearn|kaggle]: held-out digits and fields (ZIP, ZIP+4,"
	@echo "               amounts); records the field thresholds into the bundled manifest;"
	@echo "               also the same fields on forms: guide line, amount box, comb boxes"
	@echo "make glyph-model DATA=...: retrain the glyph model (digit / . , - \$$ / other)"
	@echo "make field-model DATA=...: retrain the field model (CTC over whole fields, ~40 min)"
	@echo "make edge-limits: hostile images (noise, blots, long lines): time and memory per image"
	@echo "make levers    RUN=<one-round run> DATA=... [CLEAN_LR=1e-4] [TEACHER_SEEDS=2] [STUDENT_EMA=0.999]:"
	@echo "               a clean epoch, students of the fold's first members (one or every seed,"
	@echo "               and one saving its weights' EMA), on all 5 folds"

venv: $(STAMP)

$(STAMP): pyproject.toml edge/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]" -e ./edge
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m pytest -q

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow"

lint: $(STAMP)
	$(PY) -m ruff check .

submit: $(STAMP)
	$(PY) -m solution submit $(DATA_ARG) --profile $(PROFILE) $(THREADS_ARG) $(PRECISION_ARG) \
		$(if $(MODELS),--models $(MODELS),)

report: $(STAMP)
	$(PY) -m solution report $(RUN_ARG)

clean-venv:
	rm -rf $(VENV)

demo: $(STAMP)
	$(PY) -m solution demo --out demo

# The benchmark suite: each table is measured in one run, ratios against their peer in the same run.
BENCH_DIR ?= runs/bench
.PHONY: bench bench-train bench-env bench-widths edge-agreement
bench: bench-train bench-edge bench-widths bench-env edge-bench
	@echo "tables in $(BENCH_DIR)/ and runs/<id>/export/"

bench-train: $(STAMP)
	mkdir -p $(BENCH_DIR)
	$(PY) -m solution bench train $(DATA_ARG) $(THREADS_ARG) --out $(BENCH_DIR)/train.md

# int8 time of one default member at the export's pruning rungs, beside the uniform cuts before
bench-widths: $(STAMP)
	mkdir -p $(BENCH_DIR)
	$(PY) -m solution bench widths --widths 16/16/16/36/36/36/96 --widths 20/20/20/40/40/40/112 \
		--out $(BENCH_DIR)/widths.md

edge-agreement: $(STAMP)
	$(PY) -m solution bench agreement $(RUN_ARG) $(DATA_ARG)

bench-env: $(STAMP)
	mkdir -p $(BENCH_DIR)
	$(PY) -m solution bench env --out $(BENCH_DIR)/env.md
	.venv-edge/bin/python edge/bench/coldstart.py

# --- export (issue 4): prune, convert, quantize, check, publish into edge/digit_edge/models ---
OUT ?=
OUT_ARG = $(if $(OUT),--out "$(OUT)",)

.PHONY: export bench-edge requantize

export: $(STAMP)
	$(PY) -m solution export $(RUN_ARG) $(DATA_ARG) $(OUT_ARG) $(THREADS_ARG) \
		$(if $(MEMBERS_PER_FOLD),--members-per-fold $(MEMBERS_PER_FOLD),) \
		$(if $(FINETUNE_ON),--finetune-on $(FINETUNE_ON),) \
		$(if $(NO_SLOWER_THAN),--no-slower-than "$(NO_SLOWER_THAN)",)

requantize: $(STAMP)
	$(PY) -m solution requantize $(DATA_ARG) $(if $(OUT),--models "$(OUT)",) $(THREADS_ARG)

bench-edge: $(STAMP)
	$(PY) -c "import ai_edge_litert" 2>/dev/null || $(PY) -m pip install -q -e ".[bench]"
	$(PY) -m solution bench edge $(RUN_ARG) $(OUT_ARG) $(if $(AGAINST),--against "$(AGAINST)",)

# --- edge: held-out check sets and the digit-edge bench on them ---
# EDGE_SOURCE=sklearn (default) renders scikit-learn's digits: writers no bundled model has seen.
# EDGE_SOURCE=kaggle renders train.csv rows EDGE_ROWS (every bundled member trained on them).
# Fields: ZIP, ZIP+4 and amounts with pen-drawn marks. The field threshold is recorded into the
# model's manifest from one half of the digits (calibration), then the other half is benched.
# make edge-bench EDGE_SOURCE=kaggle DATA=...: the same on train.csv rows (records nothing).
# Forms: the benched half's digits written on a printed guide line, in an amount box, in comb
# boxes (edge/bench/forms.py), scanned as JPEG: EDGE_FORM_FIELDS each, each form its own seed.
EDGE_SETS ?= build/edge
EDGE_SOURCE ?= sklearn
EDGE_ROWS ?= 37800-41999
EDGE_FIELDS ?= 1000
EDGE_CAL_FIELDS ?= 2000
EDGE_MODEL ?=
EDGE_ZIP_ARG = $(if $(DATA),--zip "$(DATA)",)
EDGE_MODEL_ARG = $(if $(EDGE_MODEL),--model "$(EDGE_MODEL)",)
EDGE_SET_ARGS = --source $(EDGE_SOURCE) --rows $(EDGE_ROWS) $(EDGE_ZIP_ARG)
EDGE_FIELD_SET = $(EDGE_SETS)/$(EDGE_SOURCE)-fields
EDGE_CAL_SET = $(EDGE_SETS)/$(EDGE_SOURCE)-fields-calibration
EDGE_FORM_FIELDS ?= 300
EDGE_FORMS = guide box comb
EDGE_FORM_SETS = $(EDGE_FORMS:%=$(EDGE_SETS)/$(EDGE_SOURCE)-fields-%)
EDGE_FORM_SEED_guide = 2
EDGE_FORM_SEED_box = 3
EDGE_FORM_SEED_comb = 4
# only digits no model trained on may set the field threshold
EDGE_RECORD = $(if $(filter sklearn,$(EDGE_SOURCE)),--record,)

.PHONY: edge-sets edge-bench edge-interim-model glyph-model

edge-sets: $(EDGE_SETS)/$(EDGE_SOURCE)-checkset/labels.csv $(EDGE_FIELD_SET)/labels.csv \
	$(EDGE_CAL_SET)/labels.csv $(EDGE_FORM_SETS:%=%/labels.csv)

$(EDGE_SETS)/$(EDGE_SOURCE)-checkset/labels.csv: | $(STAMP)
	$(PY) -m edge.bench.make_checkset $(EDGE_SET_ARGS) --out $(@D)

$(EDGE_FIELD_SET)/labels.csv: | $(STAMP)
	$(PY) -m edge.bench.make_fields $(EDGE_SET_ARGS) --half odd --seed 1 \
		--fields $(EDGE_FIELDS) --out $(@D)

$(EDGE_CAL_SET)/labels.csv: | $(STAMP)
	$(PY) -m edge.bench.make_fields $(EDGE_SET_ARGS) --half even --seed 0 \
		--fields $(EDGE_CAL_FIELDS) --out $(@D)

$(EDGE_FORM_SETS:%=%/labels.csv): $(EDGE_SETS)/$(EDGE_SOURCE)-fields-%/labels.csv: | $(STAMP)
	$(PY) -m edge.bench.make_fields $(EDGE_SET_ARGS) --half odd --form $* \
		--seed $(EDGE_FORM_SEED_$*) --fields $(EDGE_FORM_FIELDS) --out $(@D)

edge-bench: edge-sets
	$(VENV)/bin/digit-edge bench $(EDGE_SETS)/$(EDGE_SOURCE)-checkset \
		--labels $(EDGE_SETS)/$(EDGE_SOURCE)-checkset/labels.csv $(EDGE_MODEL_ARG) $(THREADS_ARG)
	$(VENV)/bin/digit-edge bench $(EDGE_CAL_SET) --labels $(EDGE_CAL_SET)/labels.csv $(EDGE_RECORD) \
		--repeats 1 $(EDGE_MODEL_ARG) $(THREADS_ARG)
	$(VENV)/bin/digit-edge bench $(EDGE_FIELD_SET) --labels $(EDGE_FIELD_SET)/labels.csv \
		$(EDGE_MODEL_ARG) $(THREADS_ARG)
	for set in $(EDGE_FORM_SETS); do \
		$(VENV)/bin/digit-edge bench $$set --labels $$set/labels.csv $(EDGE_MODEL_ARG) \
			$(THREADS_ARG) || exit 1; \
	done
	$(PY) edge/bench/coldstart.py $(EDGE_MODEL_ARG)

# The field model (CTC over whole field strips) beside the bundled digit models; train.csv rows
# 0-37799 write its training fields, 37800-41999 its held-out ones. About 40 min on 2 cores.
.PHONY: field-model
field-model: $(STAMP)
	mkdir -p build/field-model
	set -o pipefail; $(PY) -m edge.tools.make_field_model $(if $(DATA),--data "$(DATA)",) \
		--out edge/digit_edge/models 2>&1 | tee build/field-model/train.log

# Hostile images (speckle, blots, hatching, a page of text, long lines) through `digit-edge read`,
# one process each: its wall time and peak memory against the 2 s / 500 MB target.
.PHONY: edge-limits
edge-limits: $(STAMP)
	$(PY) -m edge.bench.limits --out $(EDGE_SETS)/limits $(THREADS_ARG)

# The glyph model (digit / . , - $ / other) beside the bundled digit models; train.csv digits.
glyph-model: $(STAMP)
	$(PY) -m edge.tools.make_glyph_model $(if $(DATA),--data "$(DATA)",) --out edge/digit_edge/models

edge-interim-model: $(STAMP)
	$(PY) -m edge.tools.make_interim_model $(EDGE_ZIP_ARG:--zip=--data)

# --- tune (issue 3): Optuna study in optuna_studies/$(PROFILE)/, read by `make submit` ---
# TRIALS = finished trials the study should reach; TIMEOUT = 6h, 30m...; WORKERS = processes
# here; STORAGE = postgresql://user@host/db to share one study between machines; STUDY = name.
TRIALS ?=
ARCHS ?=
TIMEOUT ?=
WORKERS ?=
STORAGE ?=
STUDY ?=
STUDY_ARGS = --profile $(PROFILE) $(if $(STUDY),--study "$(STUDY)",) \
	$(if $(STORAGE),--storage "$(STORAGE)",)
TUNE_ARGS = $(if $(TRIALS),--trials $(TRIALS),) $(if $(TIMEOUT),--timeout $(TIMEOUT),) \
	$(if $(WORKERS),--workers $(WORKERS),) $(if $(ARCHS),--archs $(ARCHS),)

.PHONY: tune study dashboard

tune: $(STAMP)
	$(PY) -m solution tune $(DATA_ARG) $(STUDY_ARGS) $(TUNE_ARGS) $(THREADS_ARG) $(PRECISION_ARG)

study: $(STAMP)
	$(PY) -m solution study $(STUDY_ARGS)

dashboard: $(STAMP)
	$(PY) -c "import optuna_dashboard" 2>/dev/null || $(PY) -m pip install -q -e ".[dashboard]"
	$(PY) -m solution dashboard $(STUDY_ARGS)

# --- baselines (issue 7): the model zoo and k-NN under the shared folds, one comparison table ---
# MODELS = knn,mlp512,mlp1024,lenet5,cnn (default) or any of knn,cnn,m3,m5,m7,lenet5,mlp512,mlp1024;
# OVERSAMPLE = none (default), random, smote, or a list (one k-NN row each).
# Writes runs/baselines/baselines-$(PROFILE).md and .json; finished folds are reused.
MODELS ?=
OVERSAMPLE ?=

.PHONY: baselines options

baselines: $(STAMP)
	$(PY) -m solution baselines $(DATA_ARG) --profile $(PROFILE) \
		$(if $(MODELS),--models $(MODELS),) $(if $(OVERSAMPLE),--oversample $(OVERSAMPLE),) \
		$(THREADS_ARG) $(PRECISION_ARG)

# Training options (schedule, second round, width, precision, TTA, ...) against the profile's
# previous configuration, the profile's configuration against that, and
# ensembles (ENSEMBLES = cnn*2,cnn+m5,...: arch*seeds, archs joined by +) with their train time.
# Writes runs/baselines/options-$(PROFILE).md and .json; runs are shared with make baselines.
# ONLY = option names (comma-separated); FOLDS = the first N folds; ENSEMBLES= (empty) for none.
ONLY ?=
FOLDS ?=

options: $(STAMP)
	$(PY) -m solution options $(DATA_ARG) --profile $(PROFILE) \
		$(if $(filter undefined,$(origin ENSEMBLES)),,--ensembles "$(ENSEMBLES)") \
		$(if $(ONLY),--only "$(ONLY)",) \
		$(if $(FOLDS),--folds $(FOLDS),) $(THREADS_ARG) $(PRECISION_ARG)

# --- issue 21: late-stage levers on a finished one-round run's members (all 5 folds) ---
# make levers RUN=runs/<one-round run with 2 seeds per fold> DATA=... [CLEAN_LR=1e-4,4e-4] [TEACHER_SEEDS=2] [STUDENT_EMA=0.999]
.PHONY: levers
levers: $(STAMP)
	mkdir -p $(BENCH_DIR)
	$(PY) -m solution bench levers $(RUN_ARG) $(DATA_ARG) $(THREADS_ARG) $(PRECISION_ARG) \
		$(if $(CLEAN_LR),--clean-lr $(CLEAN_LR),) $(if $(TEACHER_SEEDS),--teacher-seeds $(TEACHER_SEEDS),) \
		$(if $(STUDENT_EMA),--student-ema $(STUDENT_EMA),) \
		--out $(BENCH_DIR)/levers.md
