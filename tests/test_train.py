"""``train.fit`` on its own: it learns, it stops early when validation stops improving, it
stops at once on a non-finite loss keeping the best weights, it carries the state between the
chunks of truncated BPTT, and a run continued from its own record does what the whole run does.
"""
import numpy as np
import pytest

from minirnn.data.sources import load_series
from minirnn.data.task import make_task
from minirnn.models import Elman
from minirnn.train import TrainConfig, fit


def elman_and_task(rows=300, seed=1):
    task = make_task(load_series("sine", steps=rows, seed=0), autoregressive=True)
    model = Elman(input_size=task.model_input_size, hidden_size=8, output_size=1,
                  backend="numpy", dtype="float64", seed=seed)
    return model, task


def test_fit_learns_and_keeps_the_best_epoch():
    model, task = elman_and_task()
    result = fit(model, task, TrainConfig(epochs=8, batch=4, bptt=20, lr=0.02, patience=8))
    losses = [h["train_loss"] for h in result.history]
    assert losses[-1] < 0.5 * losses[0]
    scores = [h["val_rmse"] for h in result.history]
    assert result.best_epoch == 1 + int(np.argmin(scores))
    assert result.best_score == min(scores)
    for name, value in result.best_state.items():  # the model holds the best epoch's weights
        np.testing.assert_array_equal(dict(model.named_parameters())[name].data, value)


def test_early_stopping_counts_epochs_without_improvement():
    model, task = elman_and_task()
    # a learning rate too small to move the validation score by more than rounding
    result = fit(model, task, TrainConfig(epochs=20, batch=4, bptt=20, lr=1e-300, patience=2))
    assert len(result.history) < 20 and result.waited == 2
    assert result.stopped == "early stop: validation rmse did not improve for 2 epochs"


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # inf weights, on purpose
def test_a_non_finite_loss_stops_at_once_and_keeps_the_best_weights():
    model, task = elman_and_task()

    def ruin(epoch, record, run):  # after a good first epoch the weights go bad
        if epoch == 1:
            model.W_hh.data[...] = np.inf

    result = fit(model, task, TrainConfig(epochs=5, batch=4, bptt=20), on_epoch=ruin)
    assert result.diverged and result.best_epoch == 1 and len(result.history) == 1
    assert "the loss became" in result.stopped and np.isfinite(model.W_hh.data).all()


def test_truncated_bptt_walks_the_chunks_in_order():
    model, task = elman_and_task()
    seen = []
    fit(model, task, TrainConfig(epochs=1, batch=3, bptt=25),
        on_chunk=lambda epoch, chunk, chunks, loss, norm, steps: seen.append((chunk, chunks,
                                                                              steps)))
    rows_per_stream = task.train_end // 3  # 210 training rows: 3 streams of 70
    assert [c for c, _, _ in seen] == [0, 1, 2] and seen[0][1] == 3
    assert sum(steps for _, _, steps in seen) == 3 * rows_per_stream


def test_a_run_continued_from_its_record_equals_the_whole_run():
    config = TrainConfig(epochs=4, batch=4, bptt=20, lr=0.02, patience=10)
    whole_model, task = elman_and_task()
    whole = fit(whole_model, task, config)
    first_model, _ = elman_and_task()
    half = fit(first_model, task, TrainConfig(**{**vars(config), "epochs": 2}))
    resumed_model, _ = elman_and_task(seed=99)  # other initial weights: the record replaces them
    resumed = fit(resumed_model, task, config, start=half)
    assert resumed.history == whole.history
    for name, p in whole_model.named_parameters():
        np.testing.assert_array_equal(dict(resumed_model.named_parameters())[name].data, p.data)


@pytest.mark.parametrize("field,value,message", [
    ("epochs", 0, "epochs must be a positive integer"),
    ("lr", -1.0, "lr must be positive"),
    ("clip", -0.5, "clip must be >= 0"),
    ("optimizer", "newton", "unknown optimizer 'newton'"),
    ("iterations", 0, "iterations must be a positive integer"),
])
def test_a_bad_configuration_is_refused_before_training(field, value, message):
    model, task = elman_and_task()
    before = {n: p.data.copy() for n, p in model.named_parameters()}
    with pytest.raises(ValueError, match=message):
        fit(model, task, TrainConfig(**{field: value}))
    for name, p in model.named_parameters():
        np.testing.assert_array_equal(p.data, before[name])


def test_a_checkpoint_written_mid_run_says_the_run_has_not_finished():
    """What ``on_epoch`` sees (and a checkpoint written after each epoch keeps) says the run
    is still going until it ends; a run killed mid-way leaves that in its file."""
    from minirnn.train import NOT_FINISHED

    model, task = elman_and_task()
    seen = []
    result = fit(model, task, TrainConfig(epochs=3, batch=4, bptt=20, lr=0.02, patience=8),
                 on_epoch=lambda epoch, record, run: seen.append(run.stopped))
    assert seen[:2] == [NOT_FINISHED, NOT_FINISHED]
    assert result.stopped == "finished all epochs"
