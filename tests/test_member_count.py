"""The members-per-fold table: the first k seeds of each fold averaged, from stored predictions."""

from __future__ import annotations

import numpy as np

from solution.reporting.member_count import StoredMember, before_clean_oof, member_count_rows


def _one_hot(classes: list[int], sure: float = 0.9) -> np.ndarray:
    probs = np.full((len(classes), 10), (1 - sure) / 9)
    probs[np.arange(len(classes)), classes] = sure
    return probs


def test_rows_average_the_first_seeds_of_every_fold_never_the_best():
    labels = np.array([0, 1, 2, 3])
    # fold 0 validates rows 0-1, fold 1 rows 2-3; seed 0 of fold 0 misreads row 1 surely, seed
    # 1 reads it right less surely (the mean stays wrong), seed 2 reads it right surely
    members = [
        StoredMember(0, 0, np.array([0, 1]), _one_hot([0, 7], 0.9), 10.0),
        StoredMember(0, 1, np.array([0, 1]), _one_hot([0, 1], 0.6), 11.0),
        StoredMember(0, 2, np.array([0, 1]), _one_hot([0, 1], 0.99), 12.0),
        StoredMember(1, 1, np.array([2, 3]), _one_hot([2, 3]), 20.0),  # listed out of order
        StoredMember(1, 0, np.array([2, 3]), _one_hot([2, 5]), 21.0),
    ]
    rows = member_count_rows(members, labels)
    # fold 1 has two seeds, so there is no row for three
    assert [r.members_per_fold for r in rows] == [1, 2]
    assert (rows[0].errors, rows[0].accuracy, rows[0].train_seconds) == (2, 0.5, 31.0)
    # k=2: fold 0's row 1 is still wrong (0.9 for 7 against 0.6 for 1), fold 1's row 3 is right
    assert (rows[1].errors, rows[1].accuracy, rows[1].train_seconds) == (1, 0.75, 62.0)


def test_no_members_no_rows():
    assert member_count_rows([], np.array([1, 2])) == []


def test_before_clean_averages_every_members_earlier_reading():
    labels = np.array([0, 1, 2, 3])
    members = [
        StoredMember(0, 0, np.array([0, 1]), _one_hot([0, 1]), 1.0, _one_hot([0, 7], 0.9)),
        StoredMember(0, 1, np.array([0, 1]), _one_hot([0, 1]), 1.0, _one_hot([0, 1], 0.6)),
        StoredMember(1, 0, np.array([2, 3]), _one_hot([2, 3]), 1.0, _one_hot([5, 3])),
    ]
    # fold 0's row 1 stays wrong in the mean (0.9 for 7 against 0.6 for 1); fold 1's row 2 too
    assert before_clean_oof(members, labels) == {"accuracy": 0.5, "errors": 2}
    # one member without the earlier reading (a run without clean epochs): no figure at all
    assert before_clean_oof([*members, StoredMember(1, 1, np.array([2, 3]),
                                                    _one_hot([2, 3]), 1.0)], labels) is None
    assert before_clean_oof([], labels) is None
